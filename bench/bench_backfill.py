"""Peak memory of a catalogue backfill over 1,000 versus 10,000 images: it must stay flat in the catalogue's size.

    .venv/bin/python bench/bench_backfill.py --sizes 1000 10000 --kind quality

For each size, a scratch SQLite catalogue is built in a temporary folder (never in the repository) whose photo
rows point, round-robin, at a few real photos of ../shared/data/fashion-product-images/images_225x300, reached
through a symlink in a scratch MEDIA_ROOT (no photo is copied). A fresh process then runs the backfill inline
(what `manage.py prodimg_backfill <kind> --inline` does) and reports its peak resident memory (ru_maxrss), the
resident memory it had before the run (Django, torch, numpy imported and one image processed), and, with
--tracemalloc, the peak Python heap during the run.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: shop_demo is not installed

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fashion-product-images"
SMALL_ENHANCE = {"target_size": [225, 300], "rendition_sizes": [[150, 200]], "rendition_formats": ["webp", "jpeg"]}


def child_env(work: Path, kind: str) -> dict:
    extra = {"ENHANCE": SMALL_ENHANCE} if kind == "enhance" else {}
    return {**os.environ, "DATABASE_URL": f"sqlite:///{work / 'catalogue.sqlite3'}", "MEDIA_ROOT": str(work / "media"),
            "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "shop_demo.settings", "PRODIMG_SETTINGS_JSON": json.dumps(extra),
            "PRODIMG_LOG_LEVEL": "ERROR", "PYTHONPATH": str(ROOT)}


def run_child(args: list[str], env: dict) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], env=env, cwd=ROOT, check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def build(size: int, photos: Path, files: int) -> dict:
    """Migrate a fresh database and add `size` products, one photo row each, over `files` real photos."""
    import django
    from django.core.management import call_command

    django.setup()
    from shop_demo.catalog.models import Product, ProductImage

    call_command("migrate", verbosity=0)
    media = Path(os.environ["MEDIA_ROOT"])
    media.mkdir(parents=True, exist_ok=True)
    (media / "catalogue").symlink_to(photos, target_is_directory=True)
    names = sorted(p.name for p in photos.glob("*.jpg"))[:files]
    for start in range(0, size, 1000):
        count = min(1000, size - start)
        products = Product.objects.bulk_create([
            Product(name=f"Item {i}", slug=f"item-{i}", category="tee", colour="red", price="9.99")
            for i in range(start, start + count)])
        ProductImage.objects.bulk_create([
            ProductImage(product=p, image=f"catalogue/{names[(start + j) % len(names)]}", width=225, height=300)
            for j, p in enumerate(products)])
    return {"images": ProductImage.objects.count(), "files": len(names)}


def run(kind: str, batch_size: int, trace: bool) -> dict:
    """Backfill the whole scratch catalogue inline; memory figures in MiB."""
    import django

    django.setup()
    import tracemalloc

    from prodimg_plugin.upkeep.backfill import BackfillOptions, backfill

    backfill(BackfillOptions(kind, limit=1, batch_size=batch_size))  # warm: imports, first model load
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    summary = backfill(BackfillOptions(kind, batch_size=batch_size))
    seconds = time.perf_counter() - started
    heap = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"done": summary.done, "skipped": summary.skipped, "failed": summary.failed, "seconds": round(seconds, 1),
            "rss_before_mib": round(before, 1), "peak_rss_mib": round(peak, 1),
            "heap_peak_mib": round(heap, 2) if heap is not None else None}


def measure(size: int, opts) -> dict:
    with tempfile.TemporaryDirectory(prefix="prodimg-bench-backfill-") as tmp:
        env = child_env(Path(tmp), opts.kind)
        built = run_child(["--child", "build", "--size", str(size), "--files", str(opts.files),
                           "--data", str(opts.data)], env)
        args = ["--child", "run", "--kind", opts.kind, "--batch-size", str(opts.batch_size)]
        figures = run_child(args + (["--tracemalloc"] if opts.tracemalloc else []), env)
        return {"size": size, **built, **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--kind", choices=["quality", "enhance"], default="quality")
    parser.add_argument("--files", type=int, default=64, help="distinct real photos the rows point at")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap (about 2x slower)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--child", choices=["build", "run"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child == "build":
        print(json.dumps(build(opts.size, opts.data / "images_225x300", opts.files)))
    elif opts.child == "run":
        print(json.dumps(run(opts.kind, opts.batch_size, opts.tracemalloc)))
    else:
        report([measure(size, opts) for size in opts.sizes])


def report(rows: list[dict]) -> None:
    for row in rows:
        print(json.dumps(row))
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        growth = (large["peak_rss_mib"] - small["peak_rss_mib"]) / small["peak_rss_mib"] * 100
        print(f"peak RSS {small['size']:,} images: {small['peak_rss_mib']} MiB; {large['size']:,} images: "
              f"{large['peak_rss_mib']} MiB ({growth:+.1f} %; target within 10 %)")


if __name__ == "__main__":
    main()
