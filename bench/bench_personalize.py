"""Personalised storefront benchmark: shoppers who click one colour, decision latency, list-page render time.

    .venv/bin/python bench/bench_personalize.py [--products 24] [--rounds 12] [--pages 30] [--only-page]

Runs the demo shop in process against a throwaway SQLite database (or the empty scratch database named by
BENCH_DATABASE_URL) and a throwaway media folder (never the demo's): the procedural catalogue, each product
with approved colourway "variants" rendered by the demo's renderer (stand-ins for GAN output). Then:
1. storefront: two anonymous shoppers (session cookies) browse the 24-product list page; one clicks only
   navy-blue images, the other only yellow ones, through POST /api/prodimg/events/ with the CSRF token, as
   the beacon does; the recommender learns after each round. Prints each shopper's share of their colour per
   round and saves the first and last round's pages side by side (`personalize_shoppers.png`).
2. decision latency in process, warm: a fresh decision (cache miss: features, context, Thompson draw) and a
   cached one, p50/p99.
3. the list page (24 products) rendered by Django's test client with personalisation and with the plain
   template it replaced, p50/p95 (sequential, in process: no server, no concurrency): the time until the
   response is ready (what the shopper waits for: a WSGI server sends it before it closes the response) and
   the time including `close()`, which writes the page's impressions (one INSERT); and the SQL queries of a
   page for a returning shopper and for a new one.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a shared 2-core machine: one BLAS thread per process
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="prodimg-bench-personalize-"))
# BENCH_DATABASE_URL: an empty scratch database of your own instead (e.g. PostgreSQL); never the demo's
DATABASE = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{TMP / 'db.sqlite3'}"
os.environ.update(DJANGO_SETTINGS_MODULE="shop_demo.settings", DATABASE_URL=DATABASE, MEDIA_ROOT=str(TMP / "media"),
                  DEBUG="0")

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from datetime import timedelta  # noqa: E402

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.client import ClientHandler  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from prodimg_plugin.models import GeneratedImage, ImageEvent  # noqa: E402
from prodimg_plugin.storage import publish  # noqa: E402
from prodimg_plugin.storefront import learning, personalize
from prodimg_plugin.storefront import shoppers  # noqa: E402
from shop_demo.catalog.models import Product  # noqa: E402
from shop_demo.catalog.render import render_product  # noqa: E402
from shop_demo.catalog.seeding import plan_catalogue, seed_catalogue  # noqa: E402

FANS = {"navy-fan": "navy-blue", "yellow-fan": "yellow"}
OTHER = ["green", "pink", "grey", "orange", "teal", "purple"]
IMG = re.compile(r'<img[^>]*src="([^"]+)"[^>]*data-prodimg-decision="(\w+)" data-prodimg-product="(\d+)"'
                 r' data-prodimg-source="(\d+)"(?: data-prodimg-generated="(\d+)")?')
PLAIN_TEMPLATE = ('{% with image=product.main_image %}{% if image %}<img class="product-image" src="{{ image.image.url }}"'
                  ' alt="{{ product.name }}" loading="lazy">{% else %}<div class="product-image">No photo yet</div>'
                  '{% endif %}{% endwith %}')


def build_shop(count: int, seed: int) -> None:
    """The demo catalogue plus approved navy, yellow and one other colourway of each product's main photo."""
    call_command("migrate", verbosity=0)
    plans = plan_catalogue(seed=seed, count=count)
    seed_catalogue(plans)
    rng = np.random.default_rng(seed)
    for plan, product in zip(plans, Product.objects.order_by("id")):
        main = product.images.order_by("position", "id").first()
        colours = [c for c in ("navy-blue", "yellow") if c != plan.colour]
        colours.append(str(rng.choice([c for c in OTHER if c != plan.colour])))
        for slot, colour in enumerate(colours):
            buffer = io.BytesIO()
            render_product(plan.kind, colour, plan.pattern, plan.image_seeds[0]).save(buffer, "PNG")
            generated = GeneratedImage(source=main, kind="variant", status="approved", slot=slot, seed=0,
                                       params={"mode": "colourway", "attribute": "colour", "colour": colour})
            generated.image.save(f"{product.slug}-{colour}.png", ContentFile(buffer.getvalue()), save=True)
            publish([generated.image.name])  # what review.approve does: approved files are public


def colour_of(product_id: int, generated_id: str | None) -> str:
    if generated_id:
        return GeneratedImage.objects.get(pk=generated_id).params["colour"]
    return Product.objects.get(pk=product_id).colour


def browse(client: Client, favourite: str) -> tuple[float, list[str]]:
    """One visit to the list page; clicks every image of the favourite colour. (share shown, image urls)."""
    html = client.get("/").content.decode()
    shown = IMG.findall(html)
    clicks = [{"type": "click", "product": product, "decision_id": decision, "page": "/"}
              for _, decision, product, _, generated in shown if colour_of(int(product), generated) == favourite]
    if clicks:
        response = client.post("/api/prodimg/events/", json.dumps({"events": clicks}), content_type="application/json",
                               HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
        assert response.status_code == 201, response.content
    return len(clicks) / max(len(shown), 1), [url for url, *_ in shown]


def storefront(rounds: int) -> dict:
    clients = {name: Client() for name in FANS}
    shares, pages = {name: [] for name in FANS}, {name: [] for name in FANS}
    for _ in range(rounds):
        for name, favourite in FANS.items():
            share, urls = browse(clients[name], favourite)
            shares[name].append(round(share, 3))
            pages[name].append(urls)
        window = learning.attribution_seconds(personalize.get_recommender())  # the rounds' outcomes are all in
        personalize.learn(now=timezone.now() + timedelta(seconds=window + 60))
    return {"shares": shares, "pages": pages}


def percentiles(samples: list[float], qs=(50, 95, 99)) -> dict:
    return {f"p{q}": round(float(np.percentile(samples, q)) * 1000, 3) for q in qs}


def decision_latency(n: int) -> dict:
    """Fresh decisions (a new click version each time: no cached choice) and cached ones, in ms."""
    products = list(Product.objects.all())
    key = ImageEvent.objects.filter(user__isnull=True).values_list("session_key", flat=True).first()
    shopper = shoppers.context_for(None, key)
    for product in products:  # warm: candidates cached, vectors in memory, posterior factorised
        personalize.decide(shopper, product)
    fresh, cached = [], []
    for i in range(n):
        product = products[i % len(products)]
        shopper.click_version = -i - 1
        t = time.perf_counter()
        personalize.decide(shopper, product)
        fresh.append(time.perf_counter() - t)
        t = time.perf_counter()
        personalize.decide(shopper, product)
        cached.append(time.perf_counter() - t)
    return {"fresh_ms": percentiles(fresh), "cached_ms": percentiles(cached)}


class TimedHandler(ClientHandler):
    """The test client's handler, noting when the response is ready (before close(), as a server sends it)."""

    ready_at = 0.0

    def get_response(self, request):
        response = super().get_response(request)
        self.ready_at = time.perf_counter()
        return response


def timed_get(client: Client, path: str = "/") -> tuple[float, float]:
    """(seconds until the response is ready, seconds including close()) of one GET."""
    t = time.perf_counter()
    assert client.get(path).status_code == 200
    return client.handler.ready_at - t, time.perf_counter() - t


def page_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries.captured_queries)


def page_times(n: int) -> dict:
    """The 24-product list page, personalised and plain, alternating requests (ms), and its SQL queries."""
    plain_dir = TMP / "plain-templates" / "catalog"
    plain_dir.mkdir(parents=True, exist_ok=True)
    (plain_dir / "_product_image.html").write_text(PLAIN_TEMPLATE)
    from django.conf import settings

    templates = [{**settings.TEMPLATES[0], "DIRS": [TMP / "plain-templates", *settings.TEMPLATES[0]["DIRS"]]}]
    client = Client()
    client.handler = TimedHandler()
    client.get("/")
    out = {"queries": {"personalised": page_queries(client), "personalised_new_shopper": page_queries(Client())}}
    with override_settings(TEMPLATES=templates):
        out["queries"]["plain"] = page_queries(client)
    samples = {"personalised": ([], []), "plain": ([], [])}
    blocks = 5  # alternate blocks, not requests: changing TEMPLATES drops the compiled templates
    for block in range(blocks):
        for name, layout in (("personalised", settings.TEMPLATES), ("plain", templates)):
            with override_settings(TEMPLATES=layout):
                client.get("/")  # compile the templates again
                for _ in range(n // blocks + (block < n % blocks)):
                    ready, total = timed_get(client)
                    samples[name][0].append(ready)
                    samples[name][1].append(total)
    for name, (ready, total) in samples.items():
        out[f"{name}_ms"] = percentiles(ready, (50, 95))
        out[f"{name}_with_close_ms"] = percentiles(total, (50, 95))
    out["ratio_p50"] = round(out["personalised_ms"]["p50"] / out["plain_ms"]["p50"], 2)
    out["ratio_p50_with_close"] = round(out["personalised_with_close_ms"]["p50"] / out["plain_with_close_ms"]["p50"], 2)
    return out


def sheet(pages: dict, path: Path, thumb=(60, 80)) -> None:
    """First and last round of each shopper's list page, one row each."""
    from django.core.files.storage import default_storage

    rows = [(f"{name} round {r}", pages[name][idx]) for name in pages for r, idx in (("1", 0), ("last", -1))]
    width = 140 + thumb[0] * max(len(urls) for _, urls in rows)
    img = Image.new("RGB", (width, len(rows) * (thumb[1] + 8) + 8), "white")
    draw = ImageDraw.Draw(img)
    for row, (label, urls) in enumerate(rows):
        y = 8 + row * (thumb[1] + 8)
        draw.text((6, y + thumb[1] // 2 - 6), label, fill="black")
        for col, url in enumerate(urls):
            name = url.removeprefix("/media/")
            with default_storage.open(name) as fh:
                photo = Image.open(fh).convert("RGB").resize(thumb)
            img.paste(photo, (140 + col * thumb[0], y))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only-page", action="store_true", help="skip the decision-latency measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    with override_settings(PRODIMG={**django.conf.settings.PRODIMG, "RECOMMENDER_SEED": args.seed,
                                    "LEARN_INTERVAL_SECONDS": None, "STATE_REFRESH_SECONDS": 0}):
        build_shop(args.products, args.seed)
        shop = storefront(args.rounds)
        for name, shares in shop["shares"].items():
            print(f"{name:>11} ({FANS[name]}): share of their colour per round {shares}")
        sheet(shop["pages"], args.out / "personalize_shoppers.png")
        print(f"saved {args.out / 'personalize_shoppers.png'}")
        if not args.only_page:
            print("decision latency (warm, in process):", json.dumps(decision_latency(args.decisions)))
        print("list page, 24 products (in process, sequential):", json.dumps(page_times(args.pages)))


if __name__ == "__main__":
    main()
