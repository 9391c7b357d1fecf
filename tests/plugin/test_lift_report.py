"""The personalisation report: policy against holdout, its refusal below the minimum effective sample size."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from prodimg_plugin.evaluation.lift_report import build_report
from prodimg_plugin.models import ImageEvent
from prodimg_plugin.storefront import rejections

from tests.factories import make_user
from tests.plugin.personalize_helpers import product_with_variants, quiet  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db
REPORT = "/admin/prodimg_plugin/personalisationreport/"


def log_decisions(product, original, variant, n_policy, n_holdout, ctr_policy, ctr_holdout, seed=0):
    """Impressions of the policy (variant with p 0.8, main 0.2) and of the holdout, clicks drawn at the given rates."""
    rng = np.random.default_rng(seed)
    now = timezone.now() - timedelta(days=1)
    rows, clicks = [], []
    for i in range(n_policy + n_holdout):
        holdout = i >= n_policy
        main = holdout or rng.random() < 0.2
        decision = f"d{seed}-{i}"
        rows.append(ImageEvent(type="impression", session_key=f"s{i}", product_id=str(product.pk),
                               source_id=original.pk, generated_id=None if main else variant.pk,
                               propensity=1.0 if holdout else (0.2 if main else 0.8),
                               recommender="holdout" if holdout else "rare-clicks", decision_id=decision,
                               candidates=[{"key": f"s{original.pk}", "p": 1.0 if holdout else 0.2},
                                           {"key": f"g{variant.pk}", "p": 0.0 if holdout else 0.8}],
                               created_at=now + timedelta(seconds=i)))
        if rng.random() < (ctr_holdout if holdout else ctr_policy):
            clicks.append(ImageEvent(type="click", session_key=f"s{i}", product_id=str(product.pk),
                                     decision_id=decision, created_at=now + timedelta(seconds=i + 30)))
    ImageEvent.objects.bulk_create(rows + clicks)


@pytest.fixture
def shop():
    product, original, (variant,) = product_with_variants("Red Tee", "red", ["green"])
    return product, original, variant


def test_the_report_refuses_a_lift_below_the_minimum_effective_sample(shop, settings):
    settings.PRODIMG = {**settings.PRODIMG, "MIN_EFFECTIVE_SAMPLE": 1000}
    log_decisions(*shop, n_policy=300, n_holdout=60, ctr_policy=0.3, ctr_holdout=0.05)
    report = build_report(n_boot=100)
    overall = report["overall"]
    assert (overall["n_policy"], overall["n_holdout"]) == (300, 60)
    assert overall["verdict"] == f"not enough data yet (effective sample size {overall['ess']:.0f})"
    assert overall["ess"] <= 60


def test_the_report_claims_a_lift_it_can_support_and_estimates_the_holdout_off_policy(shop, settings):
    settings.PRODIMG = {**settings.PRODIMG, "MIN_EFFECTIVE_SAMPLE": 100}
    log_decisions(*shop, n_policy=3000, n_holdout=1500, ctr_policy=0.10, ctr_holdout=0.04, seed=1)
    overall = build_report(n_boot=200)["overall"]
    assert overall["verdict"].startswith("lift x")
    assert overall["click"]["lift"]["low"] > 1
    # the policy showed the main image 20 % of the time at the policy's (here equal) click rate: IPS sees 0.10
    assert overall["offpolicy"]["holdout"]["snips"]["value"] == pytest.approx(0.10, abs=0.03)
    assert overall["click"]["holdout"]["value"] == pytest.approx(0.04, abs=0.015)


def test_command_and_admin_page_show_the_report_and_the_ignored_events(shop, client, settings):
    out = StringIO()
    call_command("prodimg_eval", "recommender", "--report", stdout=out)
    assert "No logged decisions yet" in out.getvalue()
    log_decisions(*shop, n_policy=200, n_holdout=40, ctr_policy=0.1, ctr_holdout=0.05)
    rejections.count("bot", 7)
    out = StringIO()
    call_command("prodimg_eval", "recommender", "--report", stdout=out)
    assert "not enough data yet (effective sample size" in out.getvalue() and "bot 7" in out.getvalue()
    client.force_login(make_user("boss", staff=True, superuser=True))
    page = client.get(REPORT).content.decode()
    assert "Personalisation report" in page and "not enough data yet" in page and "bot: 7" in page
    assert "daily click-through of policy and holdout" not in page  # one day of data: no plot yet
