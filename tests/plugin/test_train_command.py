"""`manage.py prodimg_train gan` on the host catalogue: a ModelVersion, checkpoints, resume, loss curves."""
from io import StringIO

import pytest
import torch
from django.core.management import CommandError, call_command

from prodimg_plugin import weights
from prodimg_plugin.models import ModelVersion

from tests.factories import make_product_image

pytestmark = pytest.mark.django_db

TINY = '{"blocks": 2, "z_dim": 8, "g_width": 8, "d_width": 8, "e_width": 8, "embed_dim": 4, "groups": 4}'


@pytest.fixture
def catalogue(db):
    colours = [("red", (190, 40, 40)), ("green", (40, 112, 62)), ("navy-blue", (32, 46, 88)), ("yellow", (236, 196, 48))]
    return [make_product_image(f"P{i}", category=cat, colour=c, rgb=rgb)
            for i, (cat, (c, rgb)) in enumerate((cat, col) for cat in ("tee", "dress") for col in colours)]


def train(tmp_path, *extra):
    out = StringIO()
    call_command("prodimg_train", "gan", "--size", "16x12", "--model-config", TINY, "--batch-size", "4",
                 "--checkpoint-dir", str(tmp_path / "ckpt"), *extra, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_train_registers_an_active_version_that_makes_variants(tmp_path, catalogue):
    out = train(tmp_path, "--steps", "3", "--seed", "5", "--export-to", str(tmp_path / "bundle"))
    version = ModelVersion.objects.get(kind="gan", active=True)
    assert "Saved" in out and version.metrics["steps"] == 3 and version.metrics["images"] == 8
    assert version.config["seed"] == 5 and "colour" in version.config["vocab"]["values"]
    assert (tmp_path / "ckpt" / "losses.png").exists() and (tmp_path / "ckpt" / "train.safetensors").exists()
    assert (tmp_path / "bundle" / "gan.safetensors").exists() and "prodimg_train" in (tmp_path / "bundle" / "gan.json").read_text()
    weights.clear_cache()
    _, generator = weights.get_model("gan")
    assert "navy-blue" in generator.vocab.allowed("colour")


def test_resume_continues_from_the_checkpoint(tmp_path, catalogue):
    train(tmp_path, "--steps", "2")
    train(tmp_path, "--steps", "5", "--resume")
    latest = ModelVersion.objects.get(kind="gan", active=True)
    assert latest.metrics["steps"] == 5  # 2 done before, 3 more after resuming
    assert ModelVersion.objects.filter(kind="gan").count() == 2


def test_train_needs_a_duration_and_images(tmp_path, db):
    with pytest.raises(CommandError, match="how long"):
        call_command("prodimg_train", "gan", stdout=StringIO())
    with pytest.raises(CommandError, match="no training images"):
        train(tmp_path, "--steps", "1")


def test_a_cpu_budget_stops_training_and_the_version_records_what_was_spent(tmp_path, catalogue):
    train(tmp_path, "--cpu-minutes", "0.005")  # 0.3 s of this process's CPU time
    version = ModelVersion.objects.get(kind="gan", active=True)
    m = version.metrics
    assert m["steps"] >= 1 and m["images_seen"] == 4 * m["steps"]  # --batch-size 4
    assert 0.2 <= m["cpu_seconds"] < 30 and m["wall_seconds"] > 0
    assert version.config["budget"] == {"cpu_minutes": 0.005}


def test_resumed_runs_count_images_seen_over_the_whole_training(tmp_path, catalogue):
    train(tmp_path, "--steps", "2")
    first = ModelVersion.objects.get(kind="gan", active=True).metrics
    train(tmp_path, "--steps", "3", "--resume")
    m = ModelVersion.objects.get(kind="gan", active=True).metrics
    assert (m["steps"], m["run_steps"], m["images_seen"]) == (3, 1, 12)
    # the steps' CPU time adds up over the resume; this run's own figure (with its start-up) is this run's alone
    assert m["cpu_seconds_total"] > first["cpu_seconds_total"] > 0 and m["cpu_seconds"] > 0


def test_cpu_minutes_excludes_the_other_durations(tmp_path, catalogue):
    with pytest.raises(CommandError):
        train(tmp_path, "--cpu-minutes", "1", "--steps", "2")


def test_every_trainable_kind_takes_a_cpu_budget(tmp_path, catalogue):
    """Every kind's trainer implements the same protocol, CPU budget included (cvae and sr refused it once)."""
    for kind in ("cvae", "sr"):
        call_command("prodimg_train", kind, "--size", "16x16", "--batch-size", "4", "--cpu-minutes", "0.005",
                     "--checkpoint-dir", str(tmp_path / kind), stdout=StringIO(), stderr=StringIO())
        version = ModelVersion.objects.get(kind=kind, active=True)
        assert version.config["budget"] == {"cpu_minutes": 0.005}
        assert version.metrics["steps"] >= 1 and version.metrics["cpu_seconds"] >= 0.2


def test_an_unknown_or_untrainable_kind_is_refused_with_the_choices(tmp_path, catalogue):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("prodimg_train", "evaluator", "--steps", "1", stdout=StringIO(), stderr=StringIO())


@pytest.mark.parametrize("size,grayscale,inner", [("28x28", True, "32x32"), ("30x22", False, "32x24")])
def test_without_a_config_one_is_chosen_for_any_size_printed_and_stored(tmp_path, catalogue, size, grayscale, inner):
    out = StringIO()
    call_command("prodimg_train", "gan", "--size", size, *(["--grayscale"] if grayscale else []), "--steps", "1",
                 "--batch-size", "4", "--checkpoint-dir", str(tmp_path / "ckpt"), stdout=out, stderr=StringIO())
    h, w = (int(v) for v in size.split("x"))
    text = out.getvalue()
    assert "Configuration for this catalogue" in text and f"draws {inner}, cropped to {size}" in text
    assert "batch_size = 4: given by the operator" in text
    version = ModelVersion.objects.get(kind="gan", active=True)
    model = version.config["model"]
    assert (model["height"], model["width"], model["channels"]) == (h, w, 1 if grayscale else 3)
    assert "blocks" in version.config["auto"] and version.config["train"]["batch_size"] == 4
    weights.clear_cache()
    _, generator = weights.get_model("gan")
    samples = generator.G.sample(2, torch.ones(len(generator.vocab.attributes), dtype=torch.long))
    assert samples.shape == (2, 1 if grayscale else 3, h, w)


def test_the_operators_model_config_wins_over_the_automatic_one(tmp_path, catalogue):
    out = train(tmp_path, "--steps", "1")
    model = ModelVersion.objects.get(kind="gan", active=True).config["model"]
    assert (model["blocks"], model["g_width"], model["z_dim"]) == (2, 8, 8)  # TINY
    assert "g_width = 8: given by the operator" in out
