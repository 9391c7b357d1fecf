"""Compare the two colourway transfers (`VariantGenerator.colourways(transfer=...)`): "chroma" and "affine".

    .venv/bin/python bench/bench_colourway_transfer.py --gan /tmp/b3/gan/gan.safetensors \\
        --evaluator /tmp/b3/eval/evaluator.safetensors --demo-gan prodimg_plugin/bundled/gan.safetensors

- Demo renderer (ground truth): products re-rendered in the target colour (same kind, pattern and seed) are
  what a perfect colourway looks like; RMSE to them over the image and in a 3-px band around the product's edge
  (where halos live). Uses the demo GAN (trained on the demo catalogue).
- Real catalogue: held-out photos (split `test`) of the GAN's categories and colours, 3 colourways each, judged
  by the evaluator classifier (the share it names the asked-for colour), next to its accuracy on the originals.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gan import DATA, real_catalogue  # noqa: E402
from ml import judge as ml_judge  # noqa: E402
from ml.variants import VariantGenerator  # noqa: E402

TRANSFERS = ("affine", "chroma")


def rendered(vg: VariantGenerator, n: int, transfer: str) -> dict:
    from shop_demo.catalog.render import COLOURS, KINDS, PATTERNS, render_with_mask

    rng = np.random.default_rng(1)
    whole, band_err = [], []
    for i in range(n):
        kind, colour = KINDS[i % len(KINDS)], list(COLOURS)[rng.integers(len(COLOURS))]
        pattern, seed = PATTERNS[rng.integers(len(PATTERNS))], int(rng.integers(100000))
        r = render_with_mask(kind, colour, pattern, seed)
        mask = Image.fromarray((np.asarray(r.colour_mask.convert("L")) > 127).astype(np.uint8) * 255)
        band = (np.asarray(mask.filter(ImageFilter.MaxFilter(7))) > 0) & ~(np.asarray(mask.filter(ImageFilter.MinFilter(7))) > 0)
        attrs = {"category": kind, "colour": colour, "pattern": pattern}
        for v in vg.colourways(r.image, attrs, count=3, seed=i, transfer=transfer):
            truth = np.asarray(render_with_mask(kind, v.params["colour"], pattern, seed).image, np.float32) / 255
            err = ((np.asarray(v.image, np.float32) / 255 - truth) ** 2).mean(axis=2)
            whole.append(np.sqrt(err.mean()))
            band_err.append(np.sqrt(err[band].mean()))
    return {"rmse": round(float(np.mean(whole)), 4), "rmse_edge_band": round(float(np.mean(band_err)), 4),
            "colourways": len(whole)}


def judged(vg: VariantGenerator, judge, vocab, originals, transfer: str) -> float:
    images, wanted = [], []
    for k, (image, attrs) in enumerate(originals):
        for v in vg.colourways(image, attrs, count=3, seed=k, transfer=transfer):
            images.append(v.image)
            wanted.append(v.params["colour"])
    pred = ml_judge.predict(judge, images)["baseColour"][0]
    return round(float(np.mean([vocab.values["baseColour"][int(p)] == w for p, w in zip(pred, wanted)])), 4)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gan", type=Path, required=True, help="GAN trained on the real catalogue (bench_gan.py)")
    p.add_argument("--evaluator", type=Path, required=True, help="evaluator of the same vocabulary (bench_gan_eval)")
    p.add_argument("--demo-gan", type=Path, default=Path("prodimg_plugin/bundled/gan.safetensors"))
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--rendered", type=int, default=24, help="demo products (x 3 colourways)")
    p.add_argument("--photos", type=int, default=80, help="held-out real photos (x 3 colourways)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    demo = VariantGenerator.from_checkpoint(args.demo_gan)
    real = VariantGenerator.from_checkpoint(args.gan)
    judge, vocab = ml_judge.from_checkpoint(args.evaluator)
    originals = real_catalogue(args.data, 8, 8, None, 0, args.photos).originals
    pred = ml_judge.predict(judge, [im for im, _ in originals])["baseColour"][0]
    result = {"evaluator_on_originals": round(float(np.mean(
        [vocab.values["baseColour"][int(q)] == a["baseColour"] for q, (_, a) in zip(pred, originals)])), 4)}
    for transfer in TRANSFERS:
        result[transfer] = {"demo_truth": rendered(demo, args.rendered, transfer),
                            "real_judged_colour": judged(real, judge, vocab, originals, transfer)}
        print(transfer, json.dumps(result[transfer]), flush=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
