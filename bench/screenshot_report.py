"""A screenshot of the admin's "Personalisation report" on simulated traffic (docs/images/personalisation_report.png).

    PYTHONPATH=. .venv/bin/python bench/screenshot_report.py

Builds a throw-away SQLite shop (four demo products with AI variants), logs two weeks of simulated decisions at
0.4-0.9 % click-through (policy and a 10 % holdout; one product with too little traffic for a verdict; phone
shoppers click navy four times as often, so navy variants are proposed for the products without one), renders
the page through Django's test client and photographs it with Chromium (/usr/bin/chromium, Playwright).
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TMP = Path(tempfile.mkdtemp(prefix="prodimg-report-"))
os.environ.update(DJANGO_SETTINGS_MODULE="shop_demo.settings", DATABASE_URL=f"sqlite:///{TMP / 'db.sqlite3'}",
                  MEDIA_ROOT=str(TMP / "media"), DJANGO_ALLOW_ASYNC_UNSAFE="true")
sys.path.insert(0, str(ROOT))
import django  # noqa: E402

django.setup()
import numpy as np  # noqa: E402
from django.contrib.staticfiles import finders  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from prodimg_plugin.models import ImageEvent  # noqa: E402
from prodimg_plugin.storefront import rejections  # noqa: E402
from tests.factories import make_user  # noqa: E402
from tests.plugin.personalize_helpers import product_with_variants  # noqa: E402

PRODUCTS = [("Red Tee", "red", ["green", "navy-blue"], 0.004, 0.008, 24000),
            ("Black Dress", "black", ["pink", "teal"], 0.005, 0.009, 7000),
            ("Yellow Scarf", "yellow", ["purple"], 0.006, 0.0062, 5000),
            ("Orange Cap", "orange", ["black"], 0.004, 0.007, 600)]
PHONES_LIKE_NAVY = 4.0  # phone shoppers click navy images four times as often: the page proposes navy variants


def simulate(seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    start = timezone.now() - timedelta(days=14)
    rows, clicks = [], []
    for name, colour, variants, ctr_main, ctr_best, n in PRODUCTS:
        product, original, made = product_with_variants(name, colour, variants)
        keys = [f"s{original.pk}"] + [f"g{g.pk}" for g in made]
        p = np.array([0.25] + [0.75 / len(made)] * len(made))
        rate = np.array([ctr_main] + [ctr_best] + [ctr_main] * (len(made) - 1))
        for i in range(n):
            at = start + timedelta(seconds=float(rng.uniform(0, 14 * 86400)))
            holdout = rng.random() < 0.10
            shown = 0 if holdout else int(rng.choice(len(keys), p=p))
            decision = f"{product.pk}-{i}"
            device = "phone" if rng.random() < 0.55 else "desktop"
            shown_colour = ([colour] + variants)[shown]
            rows.append(ImageEvent(type="impression", session_key=f"x{i}", product_id=str(product.pk),
                                   source_id=original.pk, generated_id=None if shown == 0 else made[shown - 1].pk,
                                   propensity=1.0 if holdout else float(p[shown]), decision_id=decision,
                                   recommender="holdout" if holdout else "rare-clicks", created_at=at,
                                   context={"device": device},
                                   candidates=[{"key": k, "p": (float(j == 0) if holdout else float(p[j])),
                                                **({"attrs": {"colour": shown_colour}} if j == shown else {})}
                                               for j, k in enumerate(keys)]))
            if rng.random() < rate[shown] * (PHONES_LIKE_NAVY if (device, shown_colour) == ("phone", "navy-blue")
                                             else 1):
                kind = "purchase" if rng.random() < 0.15 else "click"
                clicks.append(ImageEvent(type=kind, session_key=f"x{i}", product_id=str(product.pk),
                                         decision_id=decision, created_at=at + timedelta(minutes=2)))
    ImageEvent.objects.bulk_create(rows + clicks, batch_size=2000)
    for reason, count in (("bot", 412), ("duplicate", 37), ("invalid", 5), ("late", 12)):
        rejections.count(reason, count)


def inline_css(html: str) -> str:
    def style(match):
        path = finders.find(match.group(1))
        return f"<style>{Path(path).read_text()}</style>" if path else ""
    return re.sub(r'<link rel="stylesheet" href="/static/([^"]+)"[^>]*>', style, html)


def main() -> None:
    call_command("migrate", verbosity=0)
    simulate()
    client = Client()
    client.force_login(make_user("owner", staff=True, superuser=True))
    html = inline_css(client.get("/admin/prodimg_plugin/personalisationreport/").content.decode())
    from playwright.sync_api import sync_playwright

    out = ROOT / "docs/images/personalisation_report.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 900})
        page.set_content(html)
        page.screenshot(path=str(out), full_page=True)
        browser.close()
    print(out)


if __name__ == "__main__":
    main()
