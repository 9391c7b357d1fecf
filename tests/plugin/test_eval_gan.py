"""`prodimg_eval gan`: the report, its grids in storage, the ModelVersion and the admin page that shows them."""
import io
import json

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from PIL import Image

from tests.factories import make_image, make_product_image
from tests.plugin.conftest_cvae import no_bundled_weights  # noqa: F401  (fixture)

COLOURS = {"red": (190, 40, 40), "navy-blue": (32, 46, 88), "green": (40, 112, 62), "yellow": (236, 196, 48)}


@pytest.fixture
def small_catalogue(db):
    """20 product images: tees and dresses in four colours, striped or plain (every fifth, by pk, is held out)."""
    cells = [(cat, c, striped) for cat in ("tee", "dress") for c in COLOURS for striped in (True, False)]
    cells += [("tee", c, True) for c in COLOURS]
    return [make_product_image(f"{cat} {n}", category=cat, colour=c, image=make_image(colour=COLOURS[c], stripes=s))
            for n, (cat, c, s) in enumerate(cells)]


def run_eval(tmp_path, *extra) -> dict:
    out = io.StringIO()
    call_command("prodimg_eval", "gan", "--out", str(tmp_path), "--evaluator-minutes", "0.02", "--n", "8",
                 "--json", *extra, stdout=out)
    return json.loads(out.getvalue())


def test_report_is_stored_on_the_version_with_a_grid_per_category(gan_version, small_catalogue, tmp_path):
    report = run_eval(tmp_path)
    held_out = [i for i in small_catalogue if i.pk % 5 == 0]
    assert report["n"] == min(8, len(held_out)) and report["train_images"] == len(small_catalogue) - len(held_out)
    assert set(report["accuracy"]) == {"category", "colour", "pattern"}
    for row in report["accuracy"].values():
        assert 0 <= row["generated"] <= 1 and 0 <= row["real"] <= 1
    assert report["fid"] >= 0 and report["fid_floor"] >= 0
    assert report["diversity"]["generated"] >= 0 and report["diversity"]["real"] > 0
    assert set(report["grids"]) == {"tee", "dress"}  # the model's categories
    for name in report["grids"].values():
        assert name.startswith(f"prodimg/eval/gan/v{gan_version.pk}/")
        with default_storage.open(name) as fh, Image.open(fh) as grid:
            assert grid.size[0] > 6 * 48 and grid.size[1] > 4 * 64  # 6 samples per row, a row per colour
    assert (tmp_path / "grid_tee.png").exists() and (tmp_path / "evaluator.safetensors").exists()
    gan_version.refresh_from_db()
    assert gan_version.metrics["eval"]["fid"] == report["fid"]


def test_evaluating_again_replaces_the_grids_instead_of_piling_them_up(gan_version, small_catalogue, tmp_path):
    first = run_eval(tmp_path)
    second = run_eval(tmp_path, "--evaluator", str(tmp_path / "evaluator.safetensors"))
    assert sorted(default_storage.listdir(f"prodimg/eval/gan/v{gan_version.pk}")[1]) == ["dress.png", "tee.png"]
    assert first["grids"] == second["grids"]


def test_the_admin_shows_the_report_and_its_grids(admin_client, gan_version, small_catalogue, tmp_path):
    report = run_eval(tmp_path)
    page = admin_client.get(reverse("admin:prodimg_plugin_modelversion_change", args=[gan_version.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "evaluator-FID" in html and f"{report['fid']:.3f}" in html and "colour accuracy" in html
    for name in report["grids"].values():
        assert default_storage.url(name) in html
    listing = admin_client.get(reverse("admin:prodimg_plugin_modelversion_changelist")).content.decode()
    assert f"FID {report['fid']:.2f}" in listing and "colour " in listing


def test_an_unevaluated_version_says_how_to_evaluate_it(admin_client, gan_version):
    page = admin_client.get(reverse("admin:prodimg_plugin_modelversion_change", args=[gan_version.pk]))
    assert "prodimg_eval" in page.content.decode()


def test_too_few_images_is_a_clear_error(gan_version, tmp_path):
    with pytest.raises(CommandError, match="Not enough images to evaluate"):
        run_eval(tmp_path)


def test_without_a_model_it_says_how_to_train_one(db, no_bundled_weights, tmp_path):  # noqa: F811
    with pytest.raises(CommandError, match="prodimg_train gan"):
        run_eval(tmp_path)


def test_the_table_names_every_attribute_and_the_floor(gan_version, small_catalogue, tmp_path):
    from prodimg_plugin.evaluation.gan import format_gan

    text = format_gan(run_eval(tmp_path))
    assert "colour" in text and "category" in text and "floor" in text and "Diversity" in text
