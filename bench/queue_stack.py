"""Shared by bench_load.py and bench_faults.py: scratch stacks, a tiny catalogue and model, and the outcome.

Two stacks:
- ``postgres-redis``: a scratch PostgreSQL database (created and dropped here, on 127.0.0.1:5432 as user
  postgres) and a Redis broker (a db number of its own on 127.0.0.1:6379, or a private redis-server);
- ``sqlite-orm``: the embedded default, a scratch SQLite file and django-q2's ORM broker.

A bench's parent process prepares a stack and runs itself again as a child with DATABASE_URL, REDIS_URL and
MEDIA_ROOT set (django-q2 reads its settings at import, so each stack needs a fresh process). Nothing is written
in the repository; the scratch database, Redis db and folder are removed afterwards.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: shop_demo is not installed

ROOT = Path(__file__).resolve().parents[1]
STACKS = ("postgres-redis", "sqlite-orm")
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
SOURCE_SIZE = (24, 32)  # width, height of the product photos: small, so the queue is measured, not the model
GAN_NOTE = "tiny conditional GAN (16x12, trained 6 steps by ml.gan_train.GANTrainer), 24x32 source photos"


def _pg(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


@contextlib.contextmanager
def scratch(stack: str, name: str, redis_url: str = ""):
    """Yield the environment of a child on a fresh scratch `stack` named `name`; remove it all afterwards."""
    work = Path(tempfile.mkdtemp(prefix=f"{name}-{stack}-"))
    env = {**os.environ, "MEDIA_ROOT": str(work / "media"), "DJANGO_SETTINGS_MODULE": "shop_demo.settings",
           "DEBUG": "0", "PRODIMG_LOG_LEVEL": "ERROR", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
           "BENCH_WORK": str(work)}
    env.pop("REDIS_URL", None)
    if stack == "postgres-redis":
        _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _pg(f"CREATE DATABASE {name}")
        env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}", REDIS_URL=redis_url)
        _flush(redis_url)
    else:
        env["DATABASE_URL"] = f"sqlite:///{work / 'db.sqlite3'}"
    try:
        yield env
    finally:
        if stack == "postgres-redis":
            _pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            _flush(redis_url)
        shutil.rmtree(work, ignore_errors=True)


def _flush(redis_url: str) -> None:
    """Empty the Redis database of `redis_url`: a db number this bench owns (never db 0, the suite's)."""
    import redis

    if redis_url and not redis_url.endswith("/0"):
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis.from_url(redis_url).flushdb()


def run_stacks(script: str, name: str, stacks: list[str], args: list[str], redis_url: str = "") -> list[dict]:
    """Run `script --child STACK *args` on a fresh scratch copy of each stack; one row of figures per stack."""
    rows = []
    for stack in stacks:
        with scratch(stack, name, redis_url) as env:
            done = subprocess.run([sys.executable, script, "--child", stack, *args], env=env, cwd=ROOT,
                                  capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{script} on {stack} failed:\n{done.stderr[-4000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])  # the child's last line
        rows.append({"stack": stack, **row})
        print(f"{stack}: {json.dumps(row)}", flush=True)
    return rows


def report(rows: list[dict], columns: list[tuple[str, str]], note: str, json_path: str | None, **extra) -> None:
    """Print the figures as a markdown table (and why jobs failed); write them as JSON to `json_path`."""
    print(f"\n{note}\n")
    print(markdown_table(rows, columns))
    for row in rows:
        for error, n in row.get("errors", {}).items():
            print(f"- {row['stack']}: {n} failed: {error}")
    if json_path:
        Path(json_path).write_text(json.dumps({"model": GAN_NOTE, **extra, "rows": rows}, indent=2))


# ---- in the child -------------------------------------------------------------------------------------------

def prepare(images: int) -> list:
    """Migrate the scratch database, register a tiny GAN and add `images` products with small photos."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    register_tiny_gan()
    return make_catalogue(images)


def register_tiny_gan():
    from prodimg_plugin import weights
    from tests.plugin.conftest import tiny_gan_weights

    work = Path(os.environ["BENCH_WORK"])
    return weights.register_weights("gan", tiny_gan_weights(work / "gan.safetensors"), name="bench tiny gan")


def make_catalogue(count: int, files: int = 8) -> list:
    """`count` products, one photo row each, round-robin over `files` small photos in storage."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from shop_demo.catalog.models import Product, ProductImage
    from tests.factories import make_image, png_bytes

    colours = [(190, 40, 40), (32, 46, 88), (40, 112, 62), (236, 196, 48), (34, 34, 37), (236, 152, 178)]
    photos = [png_bytes(make_image(SOURCE_SIZE, colours[i % len(colours)])) for i in range(files)]
    names = [default_storage.save(f"catalogue/p{i}.png", ContentFile(data)) for i, data in enumerate(photos)]
    products = Product.objects.bulk_create([
        Product(name=f"Item {i}", slug=f"item-{i}", category="tee", colour="red", price="9.99") for i in range(count)])
    return ProductImage.objects.bulk_create([
        ProductImage(product=p, image=names[i % files], width=SOURCE_SIZE[0], height=SOURCE_SIZE[1])
        for i, p in enumerate(products)])


def outcome(ids: list[int], count: int) -> dict:
    """Counts over the jobs `ids` (each asked for `count` images): how they ended, duplicates, orphan files."""
    from django.db.models import Count

    from prodimg_plugin.models import GeneratedImage, ImageJob
    from tests.plugin.processes import generated_files

    status = dict(ImageJob.objects.filter(pk__in=ids).values_list("status").annotate(n=Count("pk")))
    results = GeneratedImage.objects.filter(job_id__in=ids)
    per_slot = results.values("job_id", "slot").annotate(n=Count("pk")).filter(n__gt=1)
    per_job = results.values("job_id").annotate(n=Count("pk")).filter(n__gt=count)
    failed = ImageJob.objects.filter(pk__in=ids, status="failed").values_list("error", flat=True)
    errors = Counter(e[:120] for e in failed)
    referenced = set(GeneratedImage.objects.values_list("image", flat=True))
    on_disk = generated_files(os.environ["MEDIA_ROOT"])
    return {"jobs": len(ids), "succeeded": status.get("succeeded", 0), "failed": status.get("failed", 0),
            "lost": len(ids) - status.get("succeeded", 0) - status.get("failed", 0),
            "duplicated": sum(r["n"] - 1 for r in per_slot) + len(per_job),
            "orphans": len(on_disk - referenced), "missing_files": len(referenced - on_disk),
            "attempts": sum(ImageJob.objects.filter(pk__in=ids).values_list("attempts", flat=True)),
            "errors": dict(errors)}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def markdown_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    """`columns`: (key, heading) pairs."""
    lines = ["| " + " | ".join(h for _, h in columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(k, "")) for k, _ in columns) + " |")
    return "\n".join(lines)
