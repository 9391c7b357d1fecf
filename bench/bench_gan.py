"""Train the conditional GAN for a few minutes and measure what it learned.

    .venv/bin/python bench/bench_gan.py --minutes 10 --out /tmp/bench_gan                  # real catalogue
    .venv/bin/python bench/bench_gan.py --procedural 300 --minutes 5 --out /tmp/bench_demo  # demo renderer
    .venv/bin/python bench/bench_gan.py --baseline --cpu-minutes 20 --out /tmp/bench_dcgan   # plain DCGAN baseline

(`bench/bench_gan_eval.py` then judges the GAN against the baseline with the evaluator classifier.)

Real data: ../shared/data/fashion-product-images/catalog_64x48.npz (train split: id % 10 != 0), conditioned
on articleType + baseColour, rows restricted to the commonest --types / --colours. Held-out originals
(images_225x300, test split) feed the colourway figures.
Procedural: the demo shop's renderer (shop_demo.catalog.render), conditioned on category + colour + pattern;
held-out products are re-rendered in the target colour (same kind, pattern and seed: same pose), which gives
each colourway a ground truth.

Writes to --out: gan.safetensors (sampling checkpoint), train_state.safetensors (--resume), losses.png,
grid_fake.png / grid_real.png (rows: categories, columns: colours), colourways.png, metrics.json.
Figures (no classifier needed):
- diversity: mean over pixels of the std between 16 samples of one (category, colour); same for real images;
- memorisation: RMSE from each sample to its nearest training image, vs held-out images to theirs;
- colourways: mean colour of the product pixels of full-resolution colourways, classified by nearest colour
  centroid of the training images (accuracy vs the requested colour; the same classifier on the held-out
  originals gives its ceiling), and hue error in degrees for chromatic targets; procedural data also gives
  the RMSE to the true re-render, next to the RMSE of the unchanged source.
"""
from __future__ import annotations

import argparse
import colorsys
import json
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml import checkpoint  # noqa: E402
from dcgan import DCGANConfig, DCGANTrainer, DCGenerator  # noqa: E402
from ml.gan import GANConfig, count_params  # noqa: E402
from ml.gan_train import GANTrainer  # noqa: E402
from ml.images import fit  # noqa: E402
from ml.training import plot_losses  # noqa: E402
from ml.variants import VariantGenerator  # noqa: E402
from ml.vocab import AttributeVocab  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared/data/fashion-product-images"


@dataclass
class Catalogue:
    train_x: np.ndarray  # uint8 (n, 64, 48, 3)
    labels: dict[str, list[str]]  # attribute -> per-image value
    test_x: np.ndarray
    category: str  # grid rows
    colour: str  # grid columns, colourways
    rows: list[str]
    cols: list[str]
    originals: list[tuple[Image.Image, dict]] = field(default_factory=list)  # held-out full-res photos
    truth: list | None = None  # procedural: per original, render(colour) -> ground-truth photo


def real_catalogue(data: Path, n_types: int, n_colours: int, limit: int | None, seed: int, n_orig: int) -> Catalogue:
    npz = np.load(data / "catalog_64x48.npz", allow_pickle=False)
    ids, types, colours = npz["id"], npz["articleType"].astype(str), npz["baseColour"].astype(str)
    train = ids % 10 != 0
    keep_t = [t for t, _ in Counter(types[train]).most_common(n_types)]
    keep_c = [c for c, _ in Counter(colours[train]).most_common(n_colours)]
    ok = np.isin(types, keep_t) & np.isin(colours, keep_c)
    tr, te = np.flatnonzero(ok & train), np.flatnonzero(ok & ~train)
    if limit and limit < len(tr):
        tr = np.sort(np.random.default_rng(seed).choice(tr, limit, replace=False))
    originals = []
    for i in te:
        path = data / "images_225x300" / f"{ids[i]}.jpg"
        if path.exists() and len(originals) < n_orig:
            originals.append((Image.open(path).convert("RGB"), {"articleType": types[i], "baseColour": colours[i]}))
    labels = {"articleType": list(types[tr]), "baseColour": list(colours[tr])}
    return Catalogue(npz["x"][tr], labels, npz["x"][te], "articleType", "baseColour", keep_t, keep_c, originals)


def procedural_catalogue(n: int, seed: int, n_orig: int) -> Catalogue:
    from shop_demo.catalog.render import COLOURS, KINDS, PATTERNS, render_product

    rng = np.random.default_rng(seed)
    # like the demo shop: every kind and colour present, mostly solid fabrics
    plan = [(KINDS[i % len(KINDS)], list(COLOURS)[rng.integers(len(COLOURS))],
             PATTERNS[0] if rng.random() < 0.55 else PATTERNS[rng.integers(1, len(PATTERNS))], int(s))
            for i, s in enumerate(rng.permutation(100_000)[: n + n_orig])]
    photos = [render_product(k, c, p, s) for k, c, p, s in plan]
    x = np.stack([np.asarray(fit(im, 64, 48)) for im in photos])
    labels = {"category": [k for k, *_ in plan], "colour": [c for _, c, *_ in plan],
              "pattern": [p for *_, p, _ in plan]}
    train = {a: v[:n] for a, v in labels.items()}
    originals = [(photos[i], {a: labels[a][i] for a in labels}) for i in range(n, n + n_orig)]
    truth = [(lambda colour, k=k, p=p, s=s: render_product(k, colour, p, s)) for k, _, p, s in plan[n:]]
    return Catalogue(x[:n], train, x[n:], "category", "colour", list(KINDS), list(COLOURS), originals, truth)


def product_colour(arr: np.ndarray) -> np.ndarray:
    """Mean RGB in [0, 1] of the non-white pixels (all pixels if almost none are)."""
    arr = np.asarray(arr, dtype=np.float32)[..., :3] / 255.0
    mask = (1.0 - arr).max(axis=2) > 0.15
    return arr[mask].mean(axis=0) if mask.mean() > 0.03 else arr.reshape(-1, 3).mean(axis=0)


def classify(rgb: np.ndarray, centroids: dict[str, np.ndarray]) -> str:
    return min(centroids, key=lambda c: float(((centroids[c] - rgb) ** 2).sum()))


def hue_error(rgb: np.ndarray, target: np.ndarray) -> float | None:
    """Circular hue difference in degrees, or None when the target colour is not chromatic."""
    h1, s1, v1 = colorsys.rgb_to_hsv(*target)
    if s1 < 0.25 or v1 < 0.2:
        return None
    d = abs(h1 - colorsys.rgb_to_hsv(*rgb)[0]) * 360
    return min(d, 360 - d)


def grid(images: list[Image.Image | None], ncol: int, cell: tuple[int, int]) -> Image.Image:
    nrow = (len(images) + ncol - 1) // ncol
    out = Image.new("RGB", (ncol * cell[0], nrow * cell[1]), (200, 200, 200))
    for i, im in enumerate(images):
        if im is not None:
            out.paste(im.convert("RGB").resize(cell), ((i % ncol) * cell[0], (i // ncol) * cell[1]))
    return out


def nearest_rmse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each image of a, RMSE (pixels in [0, 1]) to its nearest image of b."""
    a, b = (torch.from_numpy(v.reshape(len(v), -1)).float() / 255 for v in (a, b))
    return (torch.cdist(a, b).min(dim=1).values / a.shape[1] ** 0.5).numpy()


def train_baseline(args, cat: Catalogue, attr_idx, vocab) -> None:
    """The plain conditional DCGAN for the same budget; its generator goes to --out/dcgan.safetensors."""
    config = DCGANConfig(attr_sizes=vocab.sizes(), g_width=args.g_width, d_width=args.d_width)
    trainer = DCGANTrainer(config, cat.train_x, attr_idx, seed=args.seed, batch_size=args.baseline_batch_size)
    print(f"DCGAN G {count_params(trainer.G):,} D {count_params(trainer.D):,} params; {len(cat.train_x)} images",
          flush=True)
    start = time.monotonic()

    def progress(step: int, losses: dict) -> None:
        if step % args.log_every == 0:
            print(f"step {step} ({step / (time.monotonic() - start):.2f}/s) d {losses['d']:.3f} g {losses['g']:.3f}",
                  flush=True)

    trainer.train(steps=args.steps, minutes=args.minutes, cpu_minutes=args.cpu_minutes, callback=progress)
    checkpoint.save(args.out / "dcgan.safetensors", checkpoint.state_dict_with_prefix("G", trainer.G),
                    {"kind": "dcgan", "config": asdict(config), "vocab": vocab.to_dict(), "step": trainer.step_count,
                     "command": " ".join(sys.argv)})
    plot_losses(trainer.history, args.out / "losses.png")
    print(json.dumps({"steps": trainer.step_count, "cpu_s": round(time.process_time(), 1)}), flush=True)


def load_baseline(path: Path):
    """(DCGenerator in eval mode, vocab) from a file written by train_baseline."""
    tensors, meta = checkpoint.load(path)
    G = DCGenerator(DCGANConfig(**meta["config"]))
    checkpoint.load_prefixed(G, "G", tensors)
    return G.eval(), AttributeVocab.from_dict(meta["vocab"]), meta


def train(args, cat: Catalogue, attr_idx, vocab) -> GANTrainer:
    state = args.out / "train_state.safetensors"
    if args.resume and state.exists():
        trainer = GANTrainer.load(state, cat.train_x, attr_idx)
    else:
        config = GANConfig(attr_sizes=vocab.sizes(), g_width=args.g_width, d_width=args.d_width,
                           encoder_input=args.encoder_input)
        trainer = GANTrainer(config, cat.train_x, attr_idx, vocab, seed=args.seed, batch_size=args.batch_size,
                             lr=args.lr, lr_d=2 * args.lr, adv_weight=args.adv_weight, kl_weight=args.kl_weight)
    print(f"G {count_params(trainer.G):,} D {count_params(trainer.D):,} E {count_params(trainer.E):,} params; "
          f"{len(cat.train_x)} images", flush=True)
    start, first = time.monotonic(), trainer.step_count

    def progress(step: int, losses: dict) -> None:
        if step % args.log_every == 0:
            rate = (step - first) / (time.monotonic() - start)
            print(f"step {step} ({rate:.2f}/s) " + " ".join(f"{k} {v:.3f}" for k, v in losses.items() if k != "step"),
                  flush=True)
        if step % args.save_every == 0:
            trainer.save(state)

    trainer.train(steps=args.steps, minutes=args.minutes, cpu_minutes=args.cpu_minutes, callback=progress)
    trainer.save(state)
    print(json.dumps({"steps": trainer.step_count, "cpu_s": round(time.process_time(), 1)}), flush=True)
    return trainer


def measure_samples(vg: VariantGenerator, cat: Catalogue, out: Path) -> dict:
    base = {a: Counter(v).most_common(1)[0][0] for a, v in cat.labels.items()}  # e.g. pattern: solid
    cond = lambda r, c: {**base, cat.category: r, cat.colour: c}  # noqa: E731
    cells = [(r, c) for r in cat.rows for c in cat.cols]
    fixed = [vg.sample(cond(r, c), 1, seed=7 + i // len(cat.cols))[0]
             for i, (r, c) in enumerate(cells)]  # one z per row: columns differ only in colour
    grid(fixed, len(cat.cols), (48, 64)).save(out / "grid_fake.png")
    lab = list(zip(cat.labels[cat.category], cat.labels[cat.colour]))
    real = [next((Image.fromarray(cat.train_x[j]) for j, k in enumerate(lab) if k == cell), None) for cell in cells]
    grid(real, len(cat.cols), (48, 64)).save(out / "grid_real.png")
    div_fake, div_real = [], []
    for r in cat.rows:
        c = Counter(c for rr, c in lab if rr == r).most_common(1)[0][0]
        samples = np.stack([np.asarray(s) for s in vg.sample(cond(r, c), 16, seed=1)])
        div_fake.append(float((samples / 255).std(axis=0).mean()))
        same = cat.train_x[[j for j, k in enumerate(lab) if k == (r, c)][:16]] / 255
        div_real.append(float(same.std(axis=0).mean()))
    picks = np.random.default_rng(0).choice(len(lab), 200)
    samples = np.stack([np.asarray(vg.sample({a: cat.labels[a][j] for a in cat.labels}, 1, seed=int(j))[0])
                        for j in picks])
    return {"diversity_fake": float(np.mean(div_fake)), "diversity_real": float(np.mean(div_real)),
            "nn_rmse_samples": float(nearest_rmse(samples, cat.train_x).mean()),
            "nn_rmse_heldout_images": float(nearest_rmse(cat.test_x[:200], cat.train_x).mean())}


def measure_colourways(vg: VariantGenerator, cat: Catalogue, out: Path, per: int) -> dict:
    centroids = {c: np.mean([product_colour(im) for im, v in zip(cat.train_x, cat.labels[cat.colour]) if v == c], 0)
                 for c in sorted(set(cat.labels[cat.colour]))}
    hits, errs, real_hits, rmse, rmse_src, shown = [], [], [], [], [], []
    for k, (original, attrs) in enumerate(cat.originals):
        real_hits.append(classify(product_colour(np.asarray(original)), centroids) == attrs[cat.colour])
        variants = vg.colourways(original, attrs, count=per, seed=k)
        for v in variants:
            rgb = product_colour(np.asarray(v.image))
            hits.append(classify(rgb, centroids) == v.params["colour"])
            err = hue_error(rgb, centroids[v.params["colour"]])
            errs += [] if err is None else [err]
            if cat.truth:
                true = np.asarray(cat.truth[k](v.params["colour"]), dtype=np.float32) / 255
                rmse.append(float(np.sqrt(((np.asarray(v.image) / 255 - true) ** 2).mean())))
                rmse_src.append(float(np.sqrt(((np.asarray(original) / 255 - true) ** 2).mean())))
        if k < 8:
            shown += [original] + [v.image for v in variants]
    grid(shown, per + 1, (150, 200)).save(out / "colourways.png")
    result = {"colourway_accuracy": float(np.mean(hits)), "colourway_hue_error_deg": float(np.mean(errs)),
              "classifier_accuracy_on_heldout_originals": float(np.mean(real_hits)),
              "colourways_measured": len(hits), "chance_accuracy": 1.0 / len(centroids)}
    if rmse:
        result.update(colourway_rmse_to_true_render=float(np.mean(rmse)),
                      source_rmse_to_true_render=float(np.mean(rmse_src)))
    return result


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--procedural", type=int, default=0, help="train on N demo-renderer products instead")
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_gan"))
    p.add_argument("--minutes", type=float, default=None, help="default: 10 unless --steps is given")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--cpu-minutes", type=float, default=None, help="budget in this process's CPU time (fair on a "
                   "shared machine: the GAN and the baseline get the same)")
    p.add_argument("--baseline", action="store_true", help="train the plain conditional DCGAN instead (bench/dcgan.py)")
    p.add_argument("--baseline-batch-size", type=int, default=64, help="DCGAN's batch (the paper's 128 halved)")
    p.add_argument("--types", type=int, default=8, help="keep the commonest N articleTypes")
    p.add_argument("--colours", type=int, default=8, help="keep the commonest N baseColours")
    p.add_argument("--limit", type=int, default=None, help="train on a random subset of N images")
    p.add_argument("--g-width", type=int, default=24)
    p.add_argument("--d-width", type=int, default=16)
    p.add_argument("--encoder-input", choices=("luma", "rgb"), default="luma")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4, help="G's; D's is twice this (TTUR)")
    p.add_argument("--adv-weight", type=float, default=0.1)
    p.add_argument("--kl-weight", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--eval-only", action="store_true", help="measure --out's gan.safetensors again, no training")
    p.add_argument("--colourway-images", type=int, default=40)
    args = p.parse_args(argv)
    if args.minutes is None and args.steps is None and args.cpu_minutes is None:
        args.minutes = 10.0
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    if args.procedural:
        cat = procedural_catalogue(args.procedural, args.seed, args.colourway_images)
    else:
        cat = real_catalogue(args.data, args.types, args.colours, args.limit, args.seed, args.colourway_images)
    if args.baseline:
        vocab = AttributeVocab.build(cat.labels)
        train_baseline(args, cat, np.array(vocab.encode_many(cat.labels)), vocab)
        return
    if not args.eval_only:
        vocab = AttributeVocab.build(cat.labels)
        trainer = train(args, cat, np.array(vocab.encode_many(cat.labels)), vocab)
        trainer.export(args.out / "gan.safetensors")
        plot_losses(trainer.history, args.out / "losses.png")
    vg = VariantGenerator.from_checkpoint(args.out / "gan.safetensors")
    steps = checkpoint.load(args.out / "gan.safetensors")[1]["step"]
    metrics = {"steps": steps, "train_images": len(cat.train_x), "rows": cat.rows, "cols": cat.cols,
               "checkpoint_mb": round((args.out / "gan.safetensors").stat().st_size / 2**20, 2),
               "command": " ".join(sys.argv)}
    metrics.update(measure_samples(vg, cat, args.out))
    metrics.update(measure_colourways(vg, cat, args.out, 3))
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
