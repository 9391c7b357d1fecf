"""Judge the trained GAN against the plain DCGAN baseline with the evaluator classifier; time generation.

    .venv/bin/python bench/bench_gan.py --cpu-minutes 20 --out /tmp/b3/gan                 # the GAN
    .venv/bin/python bench/bench_gan.py --baseline --cpu-minutes 20 --out /tmp/b3/dcgan    # the baseline
    .venv/bin/python bench/bench_gan_eval.py --gan /tmp/b3/gan/gan.safetensors \\
        --baseline /tmp/b3/dcgan/dcgan.safetensors --out /tmp/b3/eval

Data: ../shared/data/fashion-product-images/catalog_64x48.npz, rows whose articleType and baseColour the GAN's
vocabulary knows; split `train` (id % 10 != 0) trains the evaluator, split `test` is what samples are compared
with. Figures (ml.gan_eval): attribute accuracy of samples vs the evaluator on real test images, evaluator-FID at
a fixed N with the real train-vs-test floor, diversity within a condition, for both models; then the GAN's
batched generation throughput and its FLOP rate as a share of a fp32 matmul rate measured in the same run, and
the latency of one request for 4 colourways (and 4 design variations) of a real 225x300 photo, on one thread.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gan import DATA, grid, load_baseline  # noqa: E402
from ml import checkpoint, evaluator_train, gan_eval, judge as ml_judge  # noqa: E402
from ml.gan import truncated_z  # noqa: E402
from ml.variants import VariantGenerator  # noqa: E402


def load_splits(data: Path, vocab):
    npz = np.load(data / "catalog_64x48.npz", allow_pickle=False)
    ids = npz["id"]
    labels = {a: npz[a].astype(str) for a in vocab.attributes}
    ok = np.all([np.isin(labels[a], vocab.allowed(a)) for a in vocab.attributes], axis=0)
    idx = np.array(vocab.encode_many({a: list(v) for a, v in labels.items()}))
    train, test = ok & (ids % 10 != 0), ok & (ids % 10 == 0)
    return npz["x"][train], idx[train], npz["x"][test], idx[test], ids[test], {a: labels[a][test] for a in labels}


def matmul_gflops(seconds: float = 2.0, n: int = 1024) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(a, b)
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def generation_rate(G, vocab, batch: int, seconds: float = 3.0) -> tuple[float, float]:
    """(images/s, GFLOP per image) of G's forward pass at this batch size."""
    attrs = torch.ones(batch, len(vocab.attributes), dtype=torch.long)
    z = truncated_z(batch, G.config.z_dim, None, torch.Generator().manual_seed(0))
    with torch.inference_mode():
        with FlopCounterMode(display=False) as counter:
            G(z, attrs)
        flops = counter.get_total_flops() / batch
        G(z, attrs)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            G(z, attrs)
            count += 1
        rate = count * batch / (time.perf_counter() - start)
    return rate, flops / 1e9


def latency(vg: VariantGenerator, photos: list[tuple[Image.Image, dict]], kind: str, requests: int) -> dict:
    times = []
    for k in range(requests):
        image, attrs = photos[k % len(photos)]
        start = time.perf_counter()
        if kind == "colourways":
            out = vg.colourways(image, attrs, count=4, seed=k)
        else:
            out = vg.design_variations(image, attrs, count=4, seed=k)
        times.append(time.perf_counter() - start)
        assert len(out) == 4
    q = statistics.quantiles(times, n=20)
    return {"p50_s": round(statistics.median(times), 3), "p95_s": round(q[18], 3), "requests": requests}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gan", type=Path, required=True)
    p.add_argument("--baseline", type=Path, required=True)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_gan_eval"))
    p.add_argument("--evaluator-minutes", type=float, default=6.0, help="minutes (cached in --out)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--truncation", type=float, default=None)
    p.add_argument("--requests", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)

    vg = VariantGenerator.from_checkpoint(args.gan)
    G_base, base_vocab, base_meta = load_baseline(args.baseline)
    vocab = vg.vocab
    assert base_vocab.values == vocab.values, "the GAN and the baseline must share a vocabulary"
    train_x, train_idx, test_x, test_idx, test_ids, test_labels = load_splits(args.data, vocab)
    print(f"{len(train_x)} train, {len(test_x)} test images", flush=True)

    judge_path = args.out / "evaluator.safetensors"
    if judge_path.exists():
        judge, judge_vocab = ml_judge.from_checkpoint(judge_path)
        assert judge_vocab.values == vocab.values, f"{judge_path} was trained with another vocabulary"
    else:
        start = time.process_time()
        judge = evaluator_train.train_classifier(train_x, train_idx, vocab, epochs=None, minutes=args.evaluator_minutes,
                                                 seed=args.seed + 1)
        evaluator_train.export(judge, vocab, judge_path)
        print(f"evaluator trained for {time.process_time() - start:.0f} CPU s", flush=True)

    samplers = {"gan": gan_eval.gan_sampler(vg.G, args.truncation),
                "dcgan": lambda rows, gen: G_base(torch.randn(len(rows), G_base.c.z_dim, generator=gen), rows)}
    result = {"command": " ".join(sys.argv), "train_images": len(train_x), "test_images": len(test_x),
              "gan_steps": checkpoint.load(args.gan)[1]["step"], "dcgan_steps": base_meta["step"]}
    for name, sampler in samplers.items():
        with torch.no_grad():
            result[name] = gan_eval.evaluate(sampler, judge, train_x, train_idx, test_x, test_idx, n=args.n,
                                             seed=args.seed)
        print(name, json.dumps(result[name]), flush=True)
    result["fid_gan_over_dcgan"] = round(result["gan"]["fid"] / result["dcgan"]["fid"], 4)

    category, colour = "articleType", "baseColour"
    cats = vocab.allowed(category)
    for name, sampler in samplers.items():
        sheets = gan_eval.category_grids(sampler, vocab, category, colour, {}, categories=cats, columns=6,
                                         seed=args.seed)
        for value, sheet in sheets.items():
            sheet.save(args.out / f"{name}_grid_{value.replace(' ', '_')}.png")

    # speed: batched throughput and FLOP share, on one thread and on all threads
    for threads in (1, 2):
        torch.set_num_threads(threads)
        mm = matmul_gflops()
        rates = {b: generation_rate(vg.G, vocab, batch=b) for b in (32, 64, 128, 256)}
        batch = max(rates, key=lambda b: rates[b][0])
        rate, gflop = rates[batch]
        result[f"speed_{threads}_threads"] = {"matmul_gflops": round(mm, 1), "batch": batch,
                                              "images_per_s": round(rate, 1),
                                              "gflop_per_image": round(gflop, 4),
                                              "gflops": round(rate * gflop, 1),
                                              "share_of_matmul": round(rate * gflop / mm, 3)}
        print(f"threads {threads}", result[f"speed_{threads}_threads"], flush=True)
    torch.set_num_threads(1)
    photos = []
    for i, row_id in enumerate(test_ids):
        path = args.data / "images_225x300" / f"{row_id}.jpg"
        if path.exists():
            with Image.open(path) as im:
                photos.append((im.convert("RGB"), {a: str(test_labels[a][i]) for a in vocab.attributes}))
        if len(photos) >= 20:
            break
    vg.colourways(*photos[0], count=4)  # warm-up
    result["latency_colourways_4"] = latency(vg, photos, "colourways", args.requests)
    result["latency_design_variations_4"] = latency(vg, photos, "design", args.requests)
    print(json.dumps({k: result[k] for k in ("latency_colourways_4", "latency_design_variations_4")}), flush=True)
    shown = []
    for k, (image, attrs) in enumerate(photos[:4]):
        shown += [image] + [v.image for v in vg.colourways(image, attrs, count=4, seed=k)]
    grid(shown, 5, (225, 300)).save(args.out / "colourways_real.png")
    (args.out / "result.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
