"""One garment, not the outfit, in the plugin: the layout file a job reads, and the reviewer's flag when a worn
product could not be separated from another garment of its colour."""
import numpy as np
import pytest

from ml.garment import GRID, Garment, GarmentLayout
from prodimg_plugin.generation import confidence
from prodimg_plugin.generation.garments import garment_of
from prodimg_plugin.generation.handler import Result
from tests.factories import make_image
from tests.plugin.conftest_cvae import no_bundled_weights  # noqa: F401  (fixture)
from tests.plugin.test_confidence import mask_version, mask_weights  # noqa: F401  (fixtures)


@pytest.fixture
def layout_file(tmp_path):
    path = tmp_path / "layout.json"
    GarmentLayout({"Shirts": Garment("Shirts", np.full(GRID, 0.7, np.float32), 12)}).save(path)
    return path


def test_a_job_reads_the_layout_the_setting_names(settings, layout_file):
    settings.PRODIMG = {**settings.PRODIMG, "GARMENT_LAYOUT": str(layout_file)}
    garment = garment_of({"category": "shirts", "colour": "Grey"})
    assert garment is not None and garment.photos == 12
    assert garment_of({"category": "Sunglasses"}) is None


def test_an_empty_layout_setting_turns_the_separation_off(settings, layout_file):
    settings.PRODIMG = {**settings.PRODIMG, "GARMENT_LAYOUT": ""}
    assert garment_of({"category": "Shirts"}) is None


def test_a_missing_layout_file_is_an_error_not_silence(settings, tmp_path):
    settings.PRODIMG = {**settings.PRODIMG, "GARMENT_LAYOUT": str(tmp_path / "nowhere.json")}
    with pytest.raises(FileNotFoundError):
        garment_of({"category": "Shirts"})


@pytest.mark.django_db
@pytest.mark.usefixtures("no_bundled_weights")
def test_a_worn_product_not_separated_from_another_garment_needs_a_look(mask_version):
    source = make_image((90, 120))
    other = make_image((90, 120), colour=(30, 120, 60))
    problem = "the product (Shirts) could not be separated from another garment of the same colour"
    tangled = Result(other, {"target": {"asked": "#1E783C"}, "delta_e_target": 0.1, "garment_problems": [problem]})
    clean = Result(other.copy(), {"target": {"asked": "#1E783C"}, "delta_e_target": 0.1, "garment_problems": []})
    confidence.assess_targets(source, [tangled, clean], {})
    assert tangled.confidence["needs_look"]
    assert f"worn photo: {problem}" in tangled.confidence["review_notes"]
    assert not any(n.startswith("worn photo") for n in clean.confidence["review_notes"])


def test_a_layout_setting_that_cannot_be_read_fails_the_system_check(settings, tmp_path, layout_file):
    from prodimg_plugin.checks import check_garment_layout

    settings.PRODIMG = {**settings.PRODIMG, "GARMENT_LAYOUT": str(layout_file)}
    assert check_garment_layout() == []
    (tmp_path / "bad.json").write_text('{"grid": [8, 6], "categories": {}}')
    for bad in (tmp_path / "nowhere.json", tmp_path / "bad.json"):
        settings.PRODIMG = {**settings.PRODIMG, "GARMENT_LAYOUT": str(bad)}
        assert [e.id for e in check_garment_layout()] == ["prodimg.E020"]
