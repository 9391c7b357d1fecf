"""Taste-driven generation: proposals from logged clicks, the report's one-click queueing, the command."""
from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from prodimg_plugin.evaluation import taste
from prodimg_plugin.models import ImageEvent, ImageJob

from tests.factories import make_user
from tests.plugin.personalize_helpers import NAVY, make_generated, product_with_variants, quiet  # noqa: F401

pytestmark = pytest.mark.django_db
REPORT = "/admin/prodimg_plugin/personalisationreport/"
MAKE = REPORT + "make-variants/"


def log_shown(product, image, colour: str, device: str, n: int, ctr: float, rng, generated=None) -> None:
    """n decisions that showed `image` (of `colour`) on `product` to shoppers on `device`, clicked at `ctr`."""
    start = timezone.now() - timedelta(days=2)
    rows, clicks = [], []
    for _ in range(n):
        decision = f"d{rng.integers(1 << 60)}"
        key = f"g{generated.pk}" if generated else f"s{image.pk}"
        at = start + timedelta(seconds=len(rows))
        rows.append(ImageEvent(type="impression", session_key="x", product_id=str(product.pk), source_id=image.pk,
                               generated_id=generated.pk if generated else None, propensity=0.5,
                               recommender="rare-clicks", decision_id=decision, context={"device": device},
                               candidates=[{"key": key, "p": 0.5, "attrs": {"colour": colour, "kind": "original"}}],
                               created_at=at))
        if rng.random() < ctr:
            clicks.append(ImageEvent(type="click", session_key="x", product_id=str(product.pk), decision_id=decision,
                                     created_at=at + timedelta(seconds=5)))
    ImageEvent.objects.bulk_create(rows + clicks)


@pytest.fixture
def shop():
    """Three red tees: A also comes in navy and B in green, C only in red; phone shoppers click navy four times as
    often as red, desktop shoppers click everything alike."""
    rng = np.random.default_rng(0)
    (a, a_photo, (a_navy,)), (b, b_photo, (b_green,)) = (product_with_variants("Tee A", "red", [NAVY[0]]),
                                                          product_with_variants("Tee B", "red", ["green"]))
    c, c_photo, _ = product_with_variants("Tee C", "red", [])
    log_shown(a, a_photo, NAVY[0], "phone", 700, 0.08, rng, generated=a_navy)
    log_shown(a, a_photo, "red", "phone", 700, 0.02, rng)
    for product, photo in ((b, b_photo), (c, c_photo)):
        log_shown(product, photo, "red", "phone", 300, 0.02, rng)
    log_shown(a, a_photo, NAVY[0], "desktop", 300, 0.03, rng, generated=a_navy)
    log_shown(a, a_photo, "red", "desktop", 300, 0.03, rng)
    return a, b, c


def chosen(*pairs) -> dict:
    return {"proposal": [json.dumps([str(p.pk), colour]) for p, colour in pairs]}


def test_a_segments_colour_is_proposed_for_the_products_it_saw_that_lack_it(shop):
    a, b, c = shop
    found = taste.find_proposals()
    claims = {(t.segment, t.value): t for t in found.tastes}
    assert ("device=phone", NAVY[0]) in claims and not any(s == "device=desktop" for s, _ in claims)
    claim = claims[("device=phone", NAVY[0])]
    assert claim.low > 1 and claim.clicks >= 20 and claim.lift > 2
    assert {(p.product, p.value) for p in found.proposals} == {(str(b.pk), NAVY[0]), (str(c.pk), NAVY[0])}


def test_no_proposal_when_the_evidence_is_weak(shop, settings):
    settings.PRODIMG = {**settings.PRODIMG, "TASTE": {"min_clicks": 500}}
    found = taste.find_proposals()
    assert found.tested and not found.tastes and not found.proposals


def test_one_click_queues_the_chosen_variants_once(shop, client, gan_version):
    a, b, c = shop
    client.force_login(make_user("boss", superuser=True))
    page = client.get(REPORT).content.decode()
    assert "Variants your shoppers" in page and "Tee B" in page and "device=phone" in page and NAVY[0] in page
    response = client.post(MAKE, chosen((b, NAVY[0]), (c, NAVY[0])), follow=True)
    assert "Queued 2 variants job(s)" in response.content.decode()
    jobs = ImageJob.objects.filter(kind="variants")
    assert sorted(j.source.product_id for j in jobs) == [b.pk, c.pk]
    assert all(j.params["colours"] == [NAVY[0]] and j.params["count"] == 1 and j.status == "queued" for j in jobs)
    assert jobs[0].params["taste"][0]["segment"] == "device=phone"
    again = client.post(MAKE, chosen((b, NAVY[0])), follow=True).content.decode()  # a second click, a stale page
    assert "no longer proposed" in again and jobs.count() == 2
    assert "No proposals" in client.get(REPORT).content.decode()  # the queued jobs are making them


def test_stale_unknown_and_unreadable_choices_are_named_never_a_500(shop, client, gan_version):
    a, b, c = shop
    client.force_login(make_user("boss", superuser=True))
    make_generated(b.images.first(), NAVY[0], NAVY[1], status="pending")  # B got a navy variant meanwhile
    response = client.post(MAKE, {"proposal": [json.dumps([str(b.pk), NAVY[0]]), json.dumps(["99999", NAVY[0]]),
                                               "not json", json.dumps([str(c.pk), NAVY[0]])]}, follow=True)
    text = response.content.decode()
    assert response.status_code == 200 and "Queued 1 variants job(s)" in text
    assert "no longer proposed" in text and "does not exist" in text and "unreadable choice" in text
    assert [j.source.product_id for j in ImageJob.objects.all()] == [c.pk]


def test_a_user_without_the_permission_queues_nothing(shop, client, gan_version):
    a, b, c = shop
    viewer = make_user("viewer", staff=True, perms=("prodimg_plugin.view_personalisationreport",))
    client.force_login(viewer)
    page = client.get(REPORT)
    assert page.status_code == 200 and "needs the permission to generate variants" in page.content.decode()
    response = client.post(MAKE, chosen((b, NAVY[0])), follow=True)
    assert response.status_code == 200 and "You may not generate variants" in response.content.decode()
    assert not ImageJob.objects.exists()


def test_the_command_lists_the_proposals_and_queues_them(shop, gan_version):
    out = StringIO()
    call_command("prodimg_taste", stdout=out)
    assert "make navy-blue" in out.getvalue() and "device=phone" in out.getvalue()
    assert not ImageJob.objects.exists()
    call_command("prodimg_taste", "--queue", stdout=out)
    assert "Queued 2 variants job(s)" in out.getvalue() and ImageJob.objects.count() == 2
