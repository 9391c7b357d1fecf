"""`manage.py prodimg_train mask` on the host catalogue: an active mask ModelVersion, its palette, resume."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from prodimg_plugin import weights
from prodimg_plugin.models import ModelVersion

from tests.factories import make_image, make_product_image

pytestmark = pytest.mark.django_db

TINY = json.dumps({"widths": [4, 8]})


@pytest.fixture
def catalogue(db):
    colours = [("red", (190, 40, 40)), ("green", (40, 112, 62)), ("navy-blue", (32, 46, 88))]
    return [make_product_image(f"P{i}", category=cat, colour=c, rgb=rgb)
            for i, (cat, (c, rgb)) in enumerate((cat, col) for cat in ("tee", "dress") for col in colours)]


def train(tmp_path, *extra):
    out = StringIO()
    call_command("prodimg_train", "mask", "--size", "24x18", "--model-config", TINY, "--batch-size", "4",
                 "--checkpoint-dir", str(tmp_path / "ckpt"), *extra, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_train_registers_an_active_mask_version_with_the_catalogue_palette(tmp_path, catalogue):
    out = train(tmp_path, "--steps", "3", "--seed", "4", "--export-to", str(tmp_path / "bundle"))
    version = ModelVersion.objects.get(kind="mask", active=True)
    assert "Saved" in out and version.metrics["steps"] == 3 and version.metrics["images"] == 6
    assert version.metrics["labelled_images"] == 6 and version.metrics["palette_colours"] == 3
    assert "final_loss" in version.metrics and "final_iou" in version.metrics
    assert version.config["seed"] == 4 and version.config["model"]["height"] == 24
    assert version.config["model"]["widths"] == [4, 8]
    info = json.loads((tmp_path / "bundle" / "mask.json").read_text())
    assert info["seed"] == 4 and "prodimg_train mask" in info["command"] and info["sha256"] == version.sha256
    weights.clear_cache()
    _, masker = weights.get_model("mask")
    assert masker.palette.colours() == ["green", "navy-blue", "red"]
    mask = masker.mask(make_image((60, 80)))
    assert mask.alpha.shape == (80, 60)
    weights.clear_cache()


def test_a_cpu_budget_stops_mask_training_and_is_recorded(tmp_path, catalogue):
    train(tmp_path, "--cpu-minutes", "0.005")  # 0.3 s of this process's CPU time
    version = ModelVersion.objects.get(kind="mask", active=True)
    assert version.config["budget"] == {"cpu_minutes": 0.005}
    assert version.metrics["steps"] >= 1 and version.metrics["cpu_seconds"] >= 0.3


def test_training_data_is_loaded_at_twice_the_model_size(tmp_path, catalogue, monkeypatch):
    from prodimg_plugin.training import datasets

    sizes = []
    real = datasets.from_catalogue
    monkeypatch.setattr(datasets, "from_catalogue", lambda h, w, *a: sizes.append((h, w)) or real(h, w, *a))
    train(tmp_path, "--steps", "1")
    assert sizes == [(48, 36)]


def test_resume_continues_from_the_checkpoint(tmp_path, catalogue):
    train(tmp_path, "--steps", "2")
    train(tmp_path, "--steps", "5", "--resume")
    latest = ModelVersion.objects.get(kind="mask", active=True)
    assert latest.metrics["steps"] == 5  # 2 before, 3 more after resuming
    assert ModelVersion.objects.filter(kind="mask").count() == 2
    assert (tmp_path / "ckpt" / "losses.png").exists()


def test_a_catalogue_without_studio_backdrops_is_refused_readably(tmp_path, db):
    for i in range(3):
        make_product_image(f"Scene {i}", image=Image.effect_noise((60, 80), 90).convert("RGB"))
    with pytest.raises(CommandError, match="light studio backdrop"):
        train(tmp_path, "--steps", "1")
