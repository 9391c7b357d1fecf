"""Train the conditional GAN on the real catalogue for a few minutes and measure what it learned.

    .venv/bin/python bench/bench_gan.py --minutes 10 --out /tmp/bench_gan

Data: ../shared/data/fashion-product-images/catalog_64x48.npz (train split: id % 10 != 0), conditioned on
articleType + baseColour, keeping rows whose values are among the commonest --types / --colours.
Writes to --out: gan.safetensors (sampling checkpoint), train_state.safetensors (resume with --resume),
losses.png, grid_fake.png / grid_real.png (rows: types, columns: colours), colourways.png, metrics.json.

Figures (no classifier needed):
- diversity: mean over pixels of the std between 16 samples of one (type, colour); the same for real images;
- memorisation: RMSE from each sample to its nearest training image, vs held-out test images to theirs;
- colourways: mean colour of the product pixels (non-white) of full-resolution colourways of held-out
  originals, classified by nearest training-colour centroid (accuracy vs the requested colour), and the
  hue error in degrees for chromatic targets. The same classifier on real test images gives the ceiling.
"""
from __future__ import annotations

import argparse
import colorsys
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.gan import GANConfig, count_params  # noqa: E402
from ml.gan_train import GANTrainer, plot_losses  # noqa: E402
from ml.variants import VariantGenerator  # noqa: E402
from ml.vocab import AttributeVocab  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared/data/fashion-product-images"
ATTRS = ("articleType", "baseColour")


def load_catalog(data: Path, n_types: int, n_colours: int, limit: int | None, seed: int):
    """Train/test rows of the npz restricted to the commonest types and colours."""
    npz = np.load(data / "catalog_64x48.npz", allow_pickle=False)
    ids, types, colours = npz["id"], npz["articleType"].astype(str), npz["baseColour"].astype(str)
    train = ids % 10 != 0
    keep_t = [t for t, _ in Counter(types[train]).most_common(n_types)]
    keep_c = [c for c, _ in Counter(colours[train]).most_common(n_colours)]
    ok = np.isin(types, keep_t) & np.isin(colours, keep_c)
    tr, te = np.flatnonzero(ok & train), np.flatnonzero(ok & ~train)
    if limit and limit < len(tr):
        tr = np.sort(np.random.default_rng(seed).choice(tr, limit, replace=False))
    pick = lambda rows: (npz["x"][rows], {"articleType": list(types[rows]), "baseColour": list(colours[rows])},
                         ids[rows])
    return pick(tr), pick(te), keep_t, keep_c


def product_colour(arr: np.ndarray) -> np.ndarray:
    """Mean RGB in [0, 1] of the non-white pixels (all pixels if almost none are)."""
    arr = np.asarray(arr, dtype=np.float32)[..., :3] / (255.0 if arr.dtype == np.uint8 else 1.0)
    mask = (1.0 - arr).max(axis=2) > 0.15
    return arr[mask].mean(axis=0) if mask.mean() > 0.03 else arr.reshape(-1, 3).mean(axis=0)


def colour_centroids(images: np.ndarray, colours: list[str]) -> dict[str, np.ndarray]:
    cols = np.array(colours)
    return {c: np.mean([product_colour(im) for im in images[cols == c]], axis=0) for c in sorted(set(colours))}


def classify(rgb: np.ndarray, centroids: dict[str, np.ndarray]) -> str:
    return min(centroids, key=lambda c: float(((centroids[c] - rgb) ** 2).sum()))


def hue_error(rgb: np.ndarray, target: np.ndarray) -> float | None:
    """Circular hue difference in degrees, or None when the target colour is not chromatic."""
    h1, s1, v1 = colorsys.rgb_to_hsv(*target)
    if s1 < 0.25 or v1 < 0.2:
        return None
    h2 = colorsys.rgb_to_hsv(*rgb)[0]
    d = abs(h1 - h2) * 360
    return min(d, 360 - d)


def grid(images: list[Image.Image | None], ncol: int, cell: tuple[int, int]) -> Image.Image:
    nrow = (len(images) + ncol - 1) // ncol
    out = Image.new("RGB", (ncol * cell[0], nrow * cell[1]), (200, 200, 200))
    for i, im in enumerate(images):
        if im is not None:
            out.paste(im.convert("RGB").resize(cell), ((i % ncol) * cell[0], (i // ncol) * cell[1]))
    return out


def nearest_rmse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each row of a (n, d), RMSE to its nearest row of b (m, d); pixels in [0, 1]."""
    a, b = torch.from_numpy(a).float() / 255, torch.from_numpy(b).float() / 255
    d = torch.cdist(a, b).min(dim=1).values
    return (d / a.shape[1] ** 0.5).numpy()


def train(args, images, attr_idx, vocab) -> GANTrainer:
    state = args.out / "train_state.safetensors"
    if args.resume and state.exists():
        trainer = GANTrainer.load(state, images, attr_idx)
    else:
        config = GANConfig(attr_sizes=vocab.sizes(), g_width=args.g_width, d_width=args.d_width,
                           encoder_input=args.encoder_input)
        trainer = GANTrainer(config, images, attr_idx, vocab, seed=args.seed, batch_size=args.batch_size,
                             lr=args.lr, lr_d=2 * args.lr, recon_weight=args.recon_weight)
    print(f"G {count_params(trainer.G):,} D {count_params(trainer.D):,} E {count_params(trainer.E):,} params; "
          f"{len(images)} images")
    start = time.monotonic()

    def progress(step: int, losses: dict) -> None:
        if step % args.log_every == 0:
            rate = (step - first) / (time.monotonic() - start)
            print(f"step {step} ({rate:.2f}/s) " + " ".join(f"{k} {v:.3f}" for k, v in losses.items() if k != "step"),
                  flush=True)
        if step % args.save_every == 0:
            trainer.save(state)

    first = trainer.step_count
    trainer.train(steps=args.steps, minutes=args.minutes, callback=progress)
    trainer.save(state)
    return trainer


def measure_samples(vg: VariantGenerator, train_x, train_lab, test_x, types, colours, out: Path) -> dict:
    fixed = [vg.sample({"articleType": t, "baseColour": c}, 1, seed=7 + i)[0]
             for i, t in enumerate(types) for c in colours]
    grid(fixed, len(colours), (48, 64)).save(out / "grid_fake.png")
    lab = list(zip(train_lab["articleType"], train_lab["baseColour"]))
    real = [next((Image.fromarray(train_x[j]) for j, k in enumerate(lab) if k == (t, c)), None)
            for t in types for c in colours]
    grid(real, len(colours), (48, 64)).save(out / "grid_real.png")
    div_fake, div_real = [], []
    for t in types:
        c = Counter(c for tt, c in lab if tt == t).most_common(1)[0][0]
        samples = np.stack([np.asarray(s) for s in vg.sample({"articleType": t, "baseColour": c}, 16, seed=1)])
        div_fake.append(float((samples / 255).std(axis=0).mean()))
        rows = [j for j, k in enumerate(lab) if k == (t, c)][:16]
        div_real.append(float((train_x[rows] / 255).std(axis=0).mean()))
    rng = np.random.default_rng(0)
    picks = rng.choice(len(lab), 200)
    samples = np.stack([np.asarray(vg.sample(dict(zip(("articleType", "baseColour"), lab[j])), 1, seed=int(j))[0])
                        for j in picks])
    flat = train_x.reshape(len(train_x), -1)
    return {"diversity_fake": float(np.mean(div_fake)), "diversity_real": float(np.mean(div_real)),
            "nn_rmse_samples": float(nearest_rmse(samples.reshape(200, -1), flat).mean()),
            "nn_rmse_test_images": float(nearest_rmse(test_x[:200].reshape(min(200, len(test_x)), -1), flat).mean())}


def measure_colourways(vg: VariantGenerator, train_x, train_lab, test_lab, test_ids, data: Path, out: Path,
                       n: int, per: int) -> dict:
    centroids = colour_centroids(train_x, train_lab["baseColour"])
    rows = [i for i, pid in enumerate(test_ids) if (data / "images_225x300" / f"{pid}.jpg").exists()][:n]
    hits, errs, real_hits, shown = [], [], [], []
    for k, i in enumerate(rows):
        attrs = {"articleType": test_lab["articleType"][i], "baseColour": test_lab["baseColour"][i]}
        original = Image.open(data / "images_225x300" / f"{test_ids[i]}.jpg").convert("RGB")
        real_hits.append(classify(product_colour(np.asarray(original)), centroids) == attrs["baseColour"])
        variants = vg.colourways(original, attrs, count=per, seed=k)
        for v in variants:
            rgb = product_colour(np.asarray(v.image))
            hits.append(classify(rgb, centroids) == v.params["colour"])
            err = hue_error(rgb, centroids[v.params["colour"]])
            if err is not None:
                errs.append(err)
        if k < 8:
            shown += [original] + [v.image for v in variants]
    grid(shown, per + 1, (150, 200)).save(out / "colourways.png")
    return {"colourway_accuracy": float(np.mean(hits)), "colourway_hue_error_deg": float(np.mean(errs)),
            "classifier_accuracy_on_real_test": float(np.mean(real_hits)), "colourways_measured": len(hits),
            "chance_accuracy": 1.0 / len(centroids)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_gan"))
    p.add_argument("--minutes", type=float, default=None, help="default: 10 unless --steps is given")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--types", type=int, default=8, help="keep the commonest N articleTypes")
    p.add_argument("--colours", type=int, default=8, help="keep the commonest N baseColours")
    p.add_argument("--limit", type=int, default=None, help="train on a random subset of N images")
    p.add_argument("--g-width", type=int, default=24)
    p.add_argument("--d-width", type=int, default=24)
    p.add_argument("--encoder-input", choices=("luma", "rgb"), default="luma")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-4, help="G's; D's is twice this (TTUR)")
    p.add_argument("--recon-weight", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--colourway-images", type=int, default=40)
    args = p.parse_args(argv)
    if args.minutes is None and args.steps is None:
        args.minutes = 10.0
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    (train_x, train_lab, _), (test_x, test_lab, test_ids), types, colours = load_catalog(
        args.data, args.types, args.colours, args.limit, args.seed)
    vocab = AttributeVocab.build(train_lab)
    attr_idx = np.array(vocab.encode_many(train_lab))
    trainer = train(args, train_x, attr_idx, vocab)
    trainer.export(args.out / "gan.safetensors")
    plot_losses(trainer.history, args.out / "losses.png")
    vg = VariantGenerator.from_checkpoint(args.out / "gan.safetensors")
    metrics = {"steps": trainer.step_count, "train_images": len(train_x), "types": types, "colours": colours,
               "checkpoint_mb": round((args.out / "gan.safetensors").stat().st_size / 2**20, 2)}
    metrics.update(measure_samples(vg, train_x, train_lab, test_x, types, colours, args.out))
    metrics.update(measure_colourways(vg, train_x, train_lab, test_lab, test_ids, args.data, args.out,
                                      args.colourway_images, 3))
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
