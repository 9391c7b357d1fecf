"""Benchmark the enhancement pipeline and the 2x super-resolution on the real catalogue (not part of `make test`).

    .venv/bin/python bench/bench_enhance.py --sr-minutes 0 --examples docs/images/enhance_examples.png \
        --figure docs/images/enhance_dark_grey_offcentre.png --json /tmp/enh/bench.json

Reports: enhancement throughput (225x300 originals; 1 and 2 worker threads, and 2 worker processes, which is
how django-q runs jobs), split into steps and encoding, with CPU time per image; exposure correction on
darkened real photos (bench/enhance_eval.py); background cleanup on grey-backdrop photos (share of
sure-backdrop pixels turned pure white, share of sure-product pixels changed), on those whose product is
light, and on light products composited onto a grey sweep (known mask: IoU, product pixels lost); quality
score before/after; SR PSNR vs bicubic on split `test` after training on split `train`.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import sys
import time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.backdrop import border_pixels  # noqa: E402
from ml.enhance import EnhanceConfig, enhance  # noqa: E402
from ml.quality import QualityConfig, assess  # noqa: E402
from ml.sr import SRConfig  # noqa: E402
from ml.sr_train import SRTrainer  # noqa: E402
from ml.upscale import evaluate  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import enhance_eval  # noqa: E402

GEOMETRY_KEPT = dict(trim=False, centre=False, upscale=False, target_size=(225, 300), rendition_sizes=())


def load_catalogue(data: Path) -> list[dict]:
    """Rows of labels.csv that have an original photo on disk."""
    with open(data / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["original"]]
    return [r for r in rows if (data / r["original"]).exists()]


def open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGB")


def grey_backdrop(image: Image.Image, lo: float = 150.0, hi: float = 245.0) -> bool:
    """Border median light grey (not white) and the border mostly that colour."""
    ring = border_pixels(np.asarray(image, dtype=np.float32), 3)
    colour = np.median(ring, axis=0)
    uniform = (np.abs(ring - colour).max(axis=-1) < 12).mean()
    aspect_3_4 = image.width * 4 == image.height * 3
    return aspect_3_4 and lo <= float(colour.mean()) < hi and np.ptp(colour) < 20 and uniform > 0.6


def throughput(images: list[Image.Image], threads: int, cfg: EnhanceConfig) -> tuple[float, float]:
    """(images per wall-clock second, CPU seconds per image) with `threads` worker threads (numpy and Pillow
    release the GIL, Python code does not). CPU time is the figure to trust on a shared, busy machine."""
    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda im: enhance(im, cfg), images))
    return len(images) / (time.perf_counter() - start), (time.process_time() - cpu) / len(images)


_POOL_IMAGES: list[Image.Image] = []  # inherited by forked workers: nothing to pickle per task


def _enhance_timed(args) -> float:
    i, cfg = args
    cpu = time.process_time()
    enhance(_POOL_IMAGES[i], cfg)
    return time.process_time() - cpu


def throughput_processes(images: list[Image.Image], workers: int, cfg: EnhanceConfig) -> tuple[float, float]:
    """As `throughput`, with worker processes (forked after the photos are loaded), the way django-q runs jobs."""
    global _POOL_IMAGES
    _POOL_IMAGES = images
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(_enhance_timed, [(i, cfg) for i in range(workers)]))  # start the workers first
        start = time.perf_counter()
        cpu = sum(pool.map(_enhance_timed, [(i, cfg) for i in range(len(images))], chunksize=4))
    return len(images) / (time.perf_counter() - start), cpu / len(images)


def sure_masks(before: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Masks judged on the original alone: sure backdrop (within 12 levels of the border colour, 6 px clear of
    anything else) and sure product (over 40 levels away from it: a white shoe on grey counts)."""
    colour = np.median(border_pixels(before, 3), axis=0)
    dist = np.abs(before - colour).max(axis=-1)
    product, near = dist > 40, dist >= 12
    grown = Image.fromarray((near * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(13))
    return (np.asarray(grown) == 0), product


def background_figures(images: list[Image.Image], cfg: EnhanceConfig) -> dict:
    white, changed, applied = [], [], 0
    for image in images:
        result = enhance(image, replace(cfg, target_size=image.size))  # same geometry: pixels line up
        applied += "background" in result.steps_applied
        before = np.asarray(image, dtype=np.float32)
        after = np.asarray(result.image, dtype=np.float32)
        bg, product = sure_masks(before)
        if bg.sum() > 100:
            white.append(float((after[bg] == 255).all(axis=-1).mean()))
        if product.sum() > 100:
            changed.append(float((np.abs(after[product] - before[product]).max(axis=-1) > 8).mean()))
    return {"photos": len(images), "background_step_applied": applied,
            "backdrop_pure_white_mean": float(np.mean(white)), "backdrop_pure_white_p10": float(np.percentile(white, 10)),
            "product_changed_gt8_mean": float(np.mean(changed)), "product_changed_gt8_p90": float(np.percentile(changed, 90))}


def quality_figures(images: list[Image.Image]) -> dict:
    qcfg = QualityConfig(target_size=(225, 300))  # judge at the source size: no credit for upscaling
    ecfg = EnhanceConfig(target_size=(225, 300), rendition_sizes=())
    before = [assess(im, qcfg) for im in images]
    after = [assess(enhance(im, ecfg).image, qcfg) for im in images]
    grey = lambda reps: float(np.mean(["grey background" in r.reasons for r in reps]))  # noqa: E731
    return {"score_before": float(np.mean([r.score for r in before])), "score_after": float(np.mean([r.score for r in after])),
            "background_part_before": float(np.mean([r.parts["background"].score for r in before])),
            "background_part_after": float(np.mean([r.parts["background"].score for r in after])),
            "share_grey_background_before": grey(before), "share_grey_background_after": grey(after)}


def unique_split(rows: list[dict], data: Path) -> tuple[list[Path], list[Path]]:
    """Train/test paths; test photos byte-identical to a train photo (catalogue duplicates) are dropped."""
    train = [data / r["original"] for r in rows if r["split"] == "train"]
    test = [data / r["original"] for r in rows if r["split"] == "test"]
    seen = {hashlib.sha256(p.read_bytes()).hexdigest() for p in train}
    return train, [p for p in test if hashlib.sha256(p.read_bytes()).hexdigest() not in seen]


def sr_figures(train: list[Path], test: list[Path], minutes: float, seed: int, out: Path | None) -> dict:
    trainer = SRTrainer([open_rgb(p) for p in train], SRConfig(), seed=seed, device="cpu")
    losses = trainer.train(minutes=minutes)
    up = trainer.upscaler()
    test_images = [open_rgb(p) for p in test]
    start = time.perf_counter()
    result = evaluate(up, test_images)
    if out is not None:
        trainer.export(out, metrics=result)
    lr = test_images[0].resize((112, 150), Image.Resampling.BICUBIC)
    t0 = time.perf_counter()
    for _ in range(5):
        up(lr)
    return {**result, "train_images": len(trainer.pairs), "steps": trainer.step_count, "minutes": minutes,
            "loss_first100": float(np.mean(losses[:100])), "loss_last100": float(np.mean(losses[-100:])),
            "eval_seconds": time.perf_counter() - start, "upscale_112x150_s": (time.perf_counter() - t0) / 5}


def example_strip(images: list[Image.Image], path: Path, tile=(150, 200)) -> int:
    """Before (top) / after (bottom) strip, quantised PNG; returns its size in bytes."""
    cfg = EnhanceConfig(target_size=(225, 300), rendition_sizes=())
    strip = Image.new("RGB", (tile[0] * len(images), 2 * tile[1] + 16), (255, 255, 255))
    for i, image in enumerate(images):
        before = image.copy()
        before.thumbnail(tile, Image.Resampling.LANCZOS)
        strip.paste(before, (i * tile[0] + (tile[0] - before.width) // 2, 0))
        strip.paste(enhance(image, cfg).image.resize(tile, Image.Resampling.LANCZOS), (i * tile[0], tile[1] + 16))
    ImageDraw.Draw(strip).text((4, tile[1] + 2), "above: original    below: enhanced", fill=(90, 90, 90))
    path.parent.mkdir(parents=True, exist_ok=True)
    strip.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    return path.stat().st_size


THROUGHPUT_CONFIGS = {  # label -> config: 3 sizes x formats of renditions, or none
    "steps_only": dict(rendition_sizes=()),
    "full_webp_jpeg_6_renditions": dict(rendition_formats=("webp", "jpeg")),
    "full_webp_jpeg_avif_9_renditions": dict(rendition_formats=("webp", "jpeg", "avif")),
}
LIGHT_COLOURS = {"White", "Off White", "Cream", "Beige", "Grey", "Silver", "Grey Melange"}


def throughput_figures(timed: list[Image.Image], threads: list[int], processes: list[int]) -> dict:
    figures = {}
    for label, kw in THROUGHPUT_CONFIGS.items():
        cfg = enhance_eval.config(**kw)
        runs = [(f"{t}thr", throughput, t) for t in threads] + [(f"{p}proc", throughput_processes, p) for p in processes]
        for tag, fn, n in runs:
            rate, cpu = fn(timed, n, cfg)
            figures[f"throughput_{label}_{tag}_img_s"], figures[f"cpu_s_per_img_{label}_{tag}"] = rate, cpu
            print(f"{label} {tag}: {rate:.2f} img/s, {cpu:.4f} CPU s/img (load {os.getloadavg()[0]:.1f})", flush=True)
    return figures


ENCODER_SETTINGS = [("WEBP", {"method": 4}), ("WEBP", {"method": 2}), ("WEBP", {"method": 0}),
                    ("JPEG", {"optimize": True, "progressive": True}), ("JPEG", {"optimize": True}), ("JPEG", {}),
                    ("AVIF", {"speed": 8}), ("AVIF", {"speed": 10})]


def encoder_figures(images: list[Image.Image]) -> dict:
    """CPU ms and KiB per 600x800 rendition of enhanced photos, for each encoder setting (ml.enhance._ENCODERS)."""
    sized = [enhance(im, EnhanceConfig(rendition_sizes=())).image for im in images]
    out = {}
    for fmt, options in ENCODER_SETTINGS:
        quality = EnhanceConfig().rendition_quality[fmt.lower()]
        cpu, size = time.process_time(), 0
        for im in sized:
            buf = io.BytesIO()
            im.save(buf, format=fmt, quality=quality, **options)
            size += buf.tell()
        key = f"{fmt} {options or 'defaults'}"
        out[key] = {"cpu_ms": 1e3 * (time.process_time() - cpu) / len(sized), "kib": size / 1024 / len(sized)}
        print(f"encoder {key}: {out[key]}", flush=True)
    return out


def light_products_on_white(rows: list[dict], data: Path, n: int) -> list[Image.Image]:
    """Up to n photos of split `test` (white backdrop) whose product is light and does not touch the frame."""
    out = []
    for r in rows:
        if r["split"] != "test" or r["baseColour"] not in LIGHT_COLOURS:
            continue
        image = open_rgb(data / r["original"])
        arr = np.asarray(image, dtype=np.float32)
        if image.size == (225, 300) and enhance_eval.is_light_product(arr, enhance_eval.white_backdrop_mask(arr)):
            out.append(image)
        if len(out) >= n:
            break
    return out


def figure_cases(rows: list[dict], data: Path, ids: dict[str, str]) -> list[tuple]:
    """The closing note's before/after cases: (label, photo, reference), the dark one a darkened copy of a real
    photo shown next to its original."""
    by_id = {r["id"]: r for r in rows}
    photo = {k: open_rgb(data / by_id[v]["original"]) for k, v in ids.items()}
    return [("darkened copy (x0.5)", enhance_eval.darken(photo["dark"], "sRGB gain 0.5"), photo["dark"]),
            ("grey, white product", photo["grey_light"], None), ("grey, grey product", photo["grey"], None),
            ("off-centre", photo["offcentre"], None)]


def enhancement_figures(args, rows: list[dict], sample: list[dict]) -> dict:
    figures = {}
    if args.throughput_n:
        timed = [open_rgb(args.data / r["original"]) for r in sample[: args.throughput_n]]
        figures.update(throughput_figures(timed, args.threads, args.processes))
    if args.encoders and args.throughput_n:
        figures["encoders_600x800"] = encoder_figures(timed[:30])
    if args.throughput_only:
        return figures
    test = [r for r in sample if r["split"] == "test"]
    if args.exposure_n:
        originals = [open_rgb(args.data / r["original"]) for r in test[: args.exposure_n]]
        figures["exposure"] = enhance_eval.exposure_figures(originals)
    grey_rows = [(r, im) for r, im in ((r, open_rgb(args.data / r["original"])) for r in rows) if grey_backdrop(im)]
    grey = [im for _, im in grey_rows]
    only_bg = enhance_eval.config(**GEOMETRY_KEPT, exposure=False, white_balance=False, contrast=False)
    figures["background_only"] = background_figures(grey, only_bg)
    figures["wb_background_contrast"] = background_figures(grey, enhance_eval.config(**GEOMETRY_KEPT))
    light = [im for r, im in grey_rows if r["baseColour"] in LIGHT_COLOURS]
    figures["background_only_light_products"] = background_figures(light, only_bg)
    on_white = light_products_on_white(rows, args.data, args.light_n)
    composites = enhance_eval.light_product_composites(on_white, args.seed)
    figures["light_products_composited_on_grey"] = enhance_eval.light_product_figures(composites, only_bg)
    figures["quality_grey_photos"] = quality_figures(grey)
    random_photos = [open_rgb(args.data / r["original"]) for r in sample[: args.quality_n]]
    figures["quality_random_photos"] = quality_figures(random_photos)
    shown = {k: v for k, v in figures.items() if not k.startswith(("throughput", "cpu"))}
    print(json.dumps(shown, indent=1), flush=True)
    if args.examples:
        picks = [grey[i] for i in np.linspace(0, len(grey) - 1, 6).round().astype(int)]
        figures["examples_png_bytes"] = example_strip(picks, args.examples)
    if args.figure:
        ids = dict(zip(("dark", "grey_light", "grey", "offcentre"), args.figure_ids))
        figures["figure_png_bytes"] = enhance_eval.before_after_figure(figure_cases(rows, args.data, ids), args.figure)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/fashion-product-images")
    ap.add_argument("--throughput-n", type=int, default=120, help="photos timed per thread count (0: skip)")
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--processes", type=int, nargs="*", default=[2], help="worker processes timed (django-q's way)")
    ap.add_argument("--exposure-n", type=int, default=60, help="test photos darkened for the exposure figures")
    ap.add_argument("--light-n", type=int, default=40, help="light products composited onto a grey sweep")
    ap.add_argument("--figure", type=Path, default=None, help="write the dark / grey / off-centre before-after PNG")
    ap.add_argument("--figure-only", action="store_true", help="write --figure and nothing else")
    ap.add_argument("--figure-ids", nargs=4, default=["1563", "1584", "7462", "16750"],
                    metavar=("DARK", "GREY_LIGHT", "GREY", "OFFCENTRE"), help="catalogue ids shown in --figure")
    ap.add_argument("--quality-n", type=int, default=100, help="random photos scored before/after")
    ap.add_argument("--sr-minutes", type=float, default=4.0, help="SR training budget (0 skips SR)")
    ap.add_argument("--sr-test-n", type=int, default=0, help="limit the SR test photos (0: all)")
    ap.add_argument("--sr-out", type=Path, default=None, help="export the trained upscaler here")
    ap.add_argument("--examples", type=Path, default=None, help="write a before/after PNG strip here")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    ap.add_argument("--skip-enhance", action="store_true", help="SR figures only")
    ap.add_argument("--throughput-only", action="store_true", help="enhancement throughput figures only")
    ap.add_argument("--encoders", action="store_true", help="also time each encoder setting on 600x800 renditions")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = load_catalogue(args.data)
    rng = np.random.default_rng(args.seed)
    sample = [rows[i] for i in rng.permutation(len(rows))]
    figures = {"load_average": os.getloadavg()}
    if args.figure_only:  # e.g. run from a copy of an older tree, to show the same photos before a change
        ids = dict(zip(("dark", "grey_light", "grey", "offcentre"), args.figure_ids))
        print(enhance_eval.before_after_figure(figure_cases(rows, args.data, ids), args.figure), "bytes")
        return
    if not args.skip_enhance:
        figures.update(enhancement_figures(args, rows, sample))
    if args.sr_minutes > 0:
        train, test = unique_split(rows, args.data)
        figures["sr"] = sr_figures(train, test[: args.sr_test_n or None], args.sr_minutes, args.seed, args.sr_out)
        figures["sr"]["test_rows_with_photo"] = sum(r["split"] == "test" for r in rows)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
