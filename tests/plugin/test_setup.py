"""`manage.py prodimg_setup`: a new shop's first models, trained within one CPU budget or installed as starters."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from prodimg_plugin.models import ModelVersion

from tests.factories import make_product_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    colours = [("red", (190, 40, 40)), ("green", (40, 112, 62)), ("navy-blue", (32, 46, 88))]
    return [make_product_image(f"P{i}", category=cat, colour=c, rgb=rgb)
            for i, (cat, (c, rgb)) in enumerate((cat, col) for cat in ("tee", "dress") for col in colours)]


def setup(tmp_path, *extra) -> str:
    out = StringIO()
    call_command("prodimg_setup", "--checkpoint-dir", str(tmp_path / "setup"), *extra, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_bundled_starters_are_installed_with_a_warning(tmp_path):
    text = setup(tmp_path, "--bundled")
    assert "procedural drawings, not on photos" in text
    active = set(ModelVersion.objects.filter(active=True).values_list("kind", flat=True))
    assert active == {"gan", "cvae", "mask", "evaluator"}


def test_training_prints_the_plan_first_keeps_to_the_budget_and_resumes(tmp_path, catalogue):
    text = setup(tmp_path, "--cpu-minutes", "0.02", "--kinds", "mask,evaluator")
    plan, rest = text.split("mask:", 1)
    assert "2 kinds on this catalogue, 0.02 CPU-minutes in all" in plan and "1. mask" in plan and "2. evaluator" in plan
    versions = {v.kind: v for v in ModelVersion.objects.filter(active=True)}
    assert set(versions) == {"mask", "evaluator"}
    assert versions["mask"].config["budget"] == {"cpu_minutes": pytest.approx(0.02 * 0.15 / 0.30)}
    assert versions["mask"].command.startswith("manage.py prodimg_setup")
    done = json.loads((tmp_path / "setup" / "setup.json").read_text())
    assert done == {"mask": versions["mask"].pk, "evaluator": versions["evaluator"].pk}
    again = setup(tmp_path, "--cpu-minutes", "0.02", "--kinds", "mask,evaluator")
    assert "mask: done earlier" in again and "evaluator: done earlier" in again
    assert ModelVersion.objects.count() == 2


def test_unknown_kinds_and_an_empty_budget_are_refused(tmp_path):
    with pytest.raises(CommandError, match="unknown kinds"):
        setup(tmp_path, "--kinds", "gan,depth")
    with pytest.raises(CommandError, match="above 0"):
        setup(tmp_path, "--cpu-minutes", "0")


def test_an_empty_catalogue_is_refused_with_the_reason(tmp_path):
    with pytest.raises(CommandError, match="no training images|no readable product photos"):
        setup(tmp_path, "--cpu-minutes", "0.01", "--kinds", "mask")
