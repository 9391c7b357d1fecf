"""Confidence on every generated image: the figures a job stores, the flags and notes, the admin and the API.

Real tiny models throughout (an evaluator and a mask net trained for a few seconds on synthetic garments); the
only stand-in is a broken evaluator, to show that a failure while measuring never fails a job.
"""
import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from ml.judge import Judge
from prodimg_plugin import weights
from prodimg_plugin.generation import confidence, jobs
from prodimg_plugin.generation.confidence import Asked
from prodimg_plugin.generation.handler import Result
from prodimg_plugin.generation.params import edit_params, variant_params
from prodimg_plugin.models import GeneratedImage, ImageJob, ModelVersion

from tests.factories import make_image, png_bytes
from tests.plugin.conftest_cvae import COLOURS, cvae_version, cvae_weights, no_bundled_weights  # noqa: F401
from tests.plugin.quality_helpers import small_enhancement
from tests.plugin.test_eval_gan import small_catalogue  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_bundled_weights")]

CHANGELIST = reverse("admin:prodimg_plugin_generatedimage_changelist")


# ---- tiny real models --------------------------------------------------------------------------------------

def garments(sizes=((90, 120), (60, 80))):
    """Synthetic garments on white in the tiny GAN's colours, with their labels."""
    out = []
    for name, rgb in COLOURS.items():
        for size in sizes:
            for category in ("tee", "dress"):
                out.append((make_image(size, colour=rgb), {"category": category, "colour": name, "pattern": "solid"}))
    return out


@pytest.fixture(scope="session")
def evaluator_weights(tmp_path_factory) -> bytes:
    """An evaluator (16x12) that names the garments' colours, in the tiny GAN's vocabulary."""
    from ml import evaluator, evaluator_train
    from ml.images import fit
    from ml.vocab import AttributeVocab

    data = garments()
    labels = {a: [attrs[a] for _, attrs in data] for a in ("category", "colour", "pattern")}
    vocab = AttributeVocab.build(labels)
    x = np.stack([np.asarray(fit(im, 16, 12)) for im, _ in data])
    config = evaluator.EvaluatorConfig(height=16, width=12, widths=[8, 16])
    model = evaluator_train.train_classifier(x, np.array(vocab.encode_many(labels)), vocab, epochs=40, seed=0,
                                             config=config, batch_size=16, lr=5e-3)
    path = tmp_path_factory.mktemp("evaluator") / "evaluator.safetensors"
    evaluator_train.export(model, vocab, path)
    return path.read_bytes()


@pytest.fixture(scope="session")
def mask_weights(tmp_path_factory) -> bytes:
    """A mask net (24x18) trained for 80 steps on the garments: enough to find them on their white backdrop."""
    from ml.images import fit
    from ml.mask import MaskConfig
    from ml.mask_train import MaskTrainConfig, MaskTrainer

    data = garments()
    trainer = MaskTrainer(MaskConfig(height=24, width=18, widths=[4, 8]),
                          np.stack([np.asarray(fit(im, 48, 36)) for im, _ in data]),
                          [attrs["colour"] for _, attrs in data], seed=0, train_config=MaskTrainConfig(batch_size=8))
    trainer.train(steps=80)
    path = tmp_path_factory.mktemp("mask") / "mask.safetensors"
    trainer.export(path)
    return path.read_bytes()


@pytest.fixture
def evaluator_version(db, evaluator_weights):
    weights.clear_cache()
    yield weights.register_weights("evaluator", evaluator_weights, name="tiny evaluator")
    weights.clear_cache()


@pytest.fixture
def mask_version(db, mask_weights):
    weights.clear_cache()
    yield weights.register_weights("mask", mask_weights, name="tiny mask")
    weights.clear_cache()


@pytest.fixture
def lenient(settings):
    """Thresholds nothing misses: a flag then comes only from a mask problem, a missing model or an error."""
    settings.PRODIMG = {**settings.PRODIMG, "CONFIDENCE": {"min_probability": 0.0, "min_mask_changed": 0.0,
                                                           "max_delta_e_outside": 100.0}}


def colourways(image, count: int = 2) -> list[GeneratedImage]:
    job = jobs.run_job(jobs.create_jobs(ImageJob.Kind.VARIANTS, [image], variant_params(count=count))[0].pk)
    assert job.status == "succeeded", job.error
    return list(job.results.order_by("slot"))


def opened(generated) -> Image.Image:
    with Image.open(generated.image.path) as im:
        return im.convert("RGB")


# ---- jobs store the figures --------------------------------------------------------------------------------

def test_a_colourway_job_stores_the_evaluators_probability_of_each_colour_and_the_mask_figures(
        gan_version, evaluator_version, mask_version, product_image, lenient):
    judge = weights.load(evaluator_version)
    for g in colourways(product_image):
        assert g.params["checked"]["colour"]["value"] == g.params["colour"]
        assert g.confidence == pytest.approx(judge.probability(opened(g), "colour", g.params["colour"]), abs=1e-4)
        assert 0 <= g.mask_changed <= 1 and g.delta_e_outside >= g.delta_e_outside_median >= 0
        assert g.needs_look is False and g.review_notes == []
        assert g.params["delivery"] == "masked-full-res"
        assert g.params["inversion_steps"] == 0  # the catalogue knows the colour: the GAN is not run


def test_thresholds_come_from_settings(gan_version, evaluator_version, mask_version, product_image, settings):
    settings.PRODIMG = {**settings.PRODIMG, "CONFIDENCE": {"min_probability": 1.01}}  # the others: defaults
    for g in colourways(product_image):
        assert g.needs_look
        assert any(f"sure this shows colour {g.params['colour']!r}" in n for n in g.review_notes)


def test_an_edit_job_stores_the_lowest_probability_of_its_targets(
        cvae_version, evaluator_version, mask_version, product_image, lenient):
    job = jobs.run_job(jobs.create_jobs(ImageJob.Kind.EDITS, [product_image],
                                        edit_params({"colour": "navy-blue", "category": "dress"}))[0].pk)
    [edit] = job.results.all()
    checked = edit.params["checked"]
    assert set(checked) == {"colour", "category"}
    assert edit.confidence == pytest.approx(min(c["probability"] for c in checked.values()))
    assert edit.mask_changed is not None and edit.delta_e_outside is not None


def test_missing_evaluator_and_mask_leave_the_figures_null_with_a_note(gan_version, product_image):
    for g in colourways(product_image, count=1):
        assert g.confidence is None and g.mask_changed is None and g.delta_e_outside is None
        assert any("no evaluator trained: colour not checked" in n for n in g.review_notes)
        assert any("no product mask model trained" in n for n in g.review_notes)
    source = make_image()
    quality = assessed(source, painted(source, product=COLOURS["navy-blue"]), Asked({"colour": "navy-blue"}))
    assert quality["review_notes"][0].startswith("no evaluator trained") and len(quality["review_notes"]) == 2
    assert quality["needs_look"] is False  # nothing measured is not something wrong


def test_missing_evaluator_only_nulls_the_confidence(gan_version, mask_version, product_image, lenient):
    [g] = colourways(product_image, count=1)
    assert g.confidence is None and g.mask_changed is not None
    assert [n for n in g.review_notes if "evaluator" in n] == [
        "no evaluator trained: colour not checked (run manage.py prodimg_eval gan or cvae)"]


def test_an_error_while_measuring_flags_the_image_but_never_fails_the_job(
        gan_version, evaluator_version, product_image, monkeypatch):
    """A stand-in: the evaluator raises, as a bug or a broken model would."""
    def broken(self, image, wanted):
        raise RuntimeError("evaluator exploded")

    monkeypatch.setattr(Judge, "probabilities", broken)
    [g] = colourways(product_image, count=1)
    assert g.needs_look and g.confidence is None
    assert any("could not be measured" in n and "evaluator exploded" in n for n in g.review_notes)


# ---- what flags an image -----------------------------------------------------------------------------------

def painted(image: Image.Image, backdrop=None, product=None) -> Image.Image:
    """The garment image with its white backdrop and/or its garment pixels repainted."""
    arr = np.asarray(image.convert("RGB")).copy()
    white = (arr > 245).all(axis=2)
    if backdrop is not None:
        arr[white] = backdrop
    if product is not None:
        arr[~white] = product
    return Image.fromarray(arr)


def assessed(source, result_image, asked) -> dict:
    result = Result(result_image, {})
    confidence.assess(source, [result], [asked])
    return result.confidence


def test_a_big_change_outside_the_product_is_flagged_with_a_note(evaluator_version, mask_version):
    source = make_image()
    quality = assessed(source, painted(source, backdrop=(70, 120, 200), product=COLOURS["navy-blue"]),
                       Asked({"colour": "navy-blue"}))
    assert quality["delta_e_outside"] > 20 and quality["needs_look"]
    assert any("changed outside the product" in n for n in quality["review_notes"])


def test_a_recolour_inside_the_product_is_not_flagged(evaluator_version, mask_version, settings):
    settings.PRODIMG = {**settings.PRODIMG, "CONFIDENCE": {"min_probability": 0.0}}
    source = make_image()
    quality = assessed(source, painted(source, product=COLOURS["navy-blue"]), Asked({"colour": "navy-blue"}))
    assert quality["mask_changed"] > 0.8 and quality["delta_e_outside"] < 3
    assert not quality["needs_look"] and quality["review_notes"] == []


def test_a_colour_change_that_barely_touches_the_product_is_flagged(evaluator_version, mask_version):
    source = make_image()
    quality = assessed(source, source.copy(), Asked({"colour": "navy-blue"}))
    assert quality["mask_changed"] == 0 and quality["needs_look"]
    assert any("of the product visibly changed" in n for n in quality["review_notes"])


def test_a_design_variation_is_not_held_to_the_mask_thresholds(evaluator_version, mask_version, lenient, settings):
    settings.PRODIMG = {**settings.PRODIMG, "CONFIDENCE": {"min_probability": 0.0}}
    source = make_image()
    asked = confidence.asked_for_variant({"mode": "design"}, {"colour": "red", "category": "tee"})
    quality = assessed(source, painted(source, backdrop=(70, 120, 200)), asked)
    assert quality["delta_e_outside"] > 20 and not quality["needs_look"], quality["review_notes"]


def test_mask_problems_become_notes_and_flag_the_image(evaluator_version, mask_version):
    backdrop = Image.new("RGB", (90, 120), (255, 255, 255))  # no product to find
    quality = assessed(backdrop, backdrop.copy(), Asked({"colour": "red"}))
    assert quality["needs_look"]
    assert any(n.startswith("product mask: ") for n in quality["review_notes"]), quality["review_notes"]


# ---- degenerate outputs are always flagged -----------------------------------------------------------------

@pytest.mark.parametrize("models", [True, False], ids=["with models", "no models"])
@pytest.mark.parametrize("case, note", [
    ("flat", "nearly one flat colour"),
    ("source", "the same as its source photo"),
    ("smaller", "not the product's size"),
    ("wider", "not the product's size"),
])
def test_degenerate_results_are_flagged_whatever_the_thresholds(case, note, models, lenient, request):
    if models:
        request.getfixturevalue("evaluator_version"), request.getfixturevalue("mask_version")
    source = make_image((90, 120))
    result = {"flat": Image.new("RGB", (90, 120), (30, 30, 31)), "source": source.copy(),
              "smaller": source.resize((1, 1)), "wider": source.resize((400, 120))}[case]
    quality = assessed(source, result, Asked({"colour": "navy-blue"}))
    assert quality["needs_look"], quality
    assert any(note in n for n in quality["review_notes"]), quality["review_notes"]


def test_a_real_change_is_not_degenerate(evaluator_version, mask_version, lenient):
    source = make_image((90, 120))
    result = painted(source, product=COLOURS["navy-blue"])
    assert confidence.degenerate(source, result).notes == []
    assert confidence.degenerate(source, result.convert("RGBA")).notes == []  # a kept alpha is no change of size
    assert not assessed(source, result, Asked({"colour": "navy-blue"}))["needs_look"]


def test_a_flat_source_is_not_mistaken_for_a_flat_result_when_the_result_has_a_product(lenient):
    source = Image.new("RGB", (90, 120), (200, 200, 200))
    assert confidence.degenerate(source, make_image((90, 120))).notes == []


# ---- prodimg_eval registers the evaluator ------------------------------------------------------------------

def test_prodimg_eval_registers_the_evaluator_it_trains_when_none_is_active(gan_version, small_catalogue, tmp_path):
    def run():
        call_command("prodimg_eval", "gan", "--out", str(tmp_path), "--evaluator-minutes", "0.02", "--n", "8",
                     stdout=io.StringIO())

    run()
    version = ModelVersion.objects.get(kind="evaluator", active=True)
    assert version.config["vocab"]["attributes"] == ["category", "colour", "pattern"]
    assert "prodimg_eval" in version.command
    assert isinstance(weights.load(version), Judge)
    run()  # an active evaluator stays the one
    assert ModelVersion.objects.filter(kind="evaluator").count() == 1


# ---- admin and API -----------------------------------------------------------------------------------------

def stored(source, slot: int, **fields) -> GeneratedImage:
    """A generated image row with the given confidence fields (what a job would have stored)."""
    g = GeneratedImage(source=source, slot=slot, kind="variant", **fields)
    g.image.save(f"g{slot}.png", ContentFile(png_bytes(make_image())), save=True)
    return g


@pytest.fixture
def reviewed(product_image):
    """One flagged colourway and one that looks fine."""
    checked = {"colour": {"value": "navy-blue", "probability": 0.93}}
    flagged = stored(product_image, 0, params={"colour": "navy-blue", "checked": checked}, confidence=0.93,
                     mask_changed=0.71, delta_e_outside=7.25, delta_e_outside_median=0.42, needs_look=True,
                     review_notes=["the image changed outside the product (ΔE00 p95 7.2, at most 3 expected)"])
    fine = stored(product_image, 1, params={"colour": "green", "checked": {
        "colour": {"value": "green", "probability": 0.88}}}, confidence=0.88, mask_changed=0.9,
        delta_e_outside=0.5, delta_e_outside_median=0.1)
    return flagged, fine


def test_the_changelist_filters_by_needs_look_and_shows_the_confidence(admin_client, reviewed):
    flagged, fine = reviewed
    page = admin_client.get(CHANGELIST, {"needs_look__exact": "1"}).content.decode()
    assert f"/{flagged.pk}/change/" in page and f"/{fine.pk}/change/" not in page
    assert "Navy Blue: 93 %" in page and "Needs a look" in page
    page = admin_client.get(CHANGELIST, {"needs_look__exact": "0"}).content.decode()
    assert f"/{fine.pk}/change/" in page and f"/{flagged.pk}/change/" not in page and "Green: 88 %" in page


def test_the_review_page_shows_the_figures_and_why_to_look(admin_client, reviewed):
    flagged, _ = reviewed
    page = admin_client.get(reverse("admin:prodimg_plugin_generatedimage_change", args=[flagged.pk])).content.decode()
    assert "Needs a look" in page and "changed outside the product" in page
    assert "93 %" in page and "71 %" in page and "0.4 / 7.2" in page  # confidence, product changed, ΔE00


def test_the_product_page_cards_show_confidence_and_the_badge(admin_client, reviewed, product_image):
    page = admin_client.get(reverse("admin:catalog_product_change", args=[product_image.product_id])).content.decode()
    assert "Navy Blue: 93 %" in page and "Green: 88 %" in page and page.count("Needs a look") >= 1


def test_the_api_exposes_the_figures_and_filters_by_needs_look(admin_user, reviewed):
    flagged, fine = reviewed
    api = APIClient()
    api.force_authenticate(admin_user)
    rows = api.get("/api/prodimg/generated/", {"needs_look": "true"}).json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert [r["id"] for r in rows] == [flagged.pk]
    assert rows[0]["confidence"] == 0.93 and rows[0]["delta_e_outside"] == 7.25
    assert rows[0]["delta_e_outside_median"] == 0.42 and rows[0]["mask_changed"] == 0.71
    assert rows[0]["review_notes"][0].startswith("the image changed outside")
    rows = api.get("/api/prodimg/generated/", {"needs_look": "false"}).json()
    assert [r["id"] for r in (rows["results"] if isinstance(rows, dict) else rows)] == [fine.pk]
    assert api.get("/api/prodimg/generated/", {"needs_look": "maybe"}).status_code == 400


def test_enhanced_images_get_no_confidence(evaluator_version, mask_version, product_image, settings):
    small_enhancement(settings)
    job = jobs.run_job(jobs.create_jobs(ImageJob.Kind.ENHANCE, [product_image])[0].pk)
    [g] = job.results.all()
    assert g.confidence is None and g.mask_changed is None and not g.needs_look and g.review_notes == []


# ---- a worn item: the change must stay on one garment -------------------------------------------------------

def worn_photo(top=(180, 40, 40), bottom=(40, 60, 150)):
    """A 'shirt' above 'jeans' on a white backdrop, and a mask that takes both for the product (as a mask net does
    when it cannot tell garments apart) with a person beside them."""
    from ml.masker import ProductMask
    from tests.ml.test_flaws import two_garments

    image = two_garments(top, bottom)
    alpha = (np.asarray(image).min(axis=2) < 240).astype(np.float32)
    person = np.zeros_like(alpha)
    person[0:10, 30:60] = 1.0  # a head above the collar
    return image, ProductMask(alpha=alpha, person=person)


def test_a_recolour_that_reaches_the_jeans_of_a_worn_shirt_is_flagged():
    source, mask = worn_photo()
    finding = confidence.masked(mask, source, worn_photo(top=(40, 160, 60), bottom=(40, 160, 60))[0],
                                Asked({"colour": "green"}))
    assert finding.flagged and any("two differently coloured regions" in n for n in finding.notes), finding.notes
    shirt_only = confidence.masked(mask, source, worn_photo(top=(40, 160, 60))[0], Asked({"colour": "green"}))
    assert not any("two differently coloured regions" in n for n in shirt_only.notes), shirt_only.notes


def test_a_packshot_of_two_tone_parts_is_not_held_to_the_worn_rule():
    source, mask = worn_photo()
    mask.person[:] = 0.0  # no person: a packshot, whose parts may all change
    finding = confidence.masked(mask, source, worn_photo(top=(40, 160, 60), bottom=(40, 160, 60))[0],
                                Asked({"colour": "green"}))
    assert not any("two differently coloured regions" in n for n in finding.notes)


def test_a_blurred_rendition_is_flagged_as_degenerate(lenient):
    source = make_image((90, 120))
    blurred = source.resize((12, 16), Image.Resampling.BOX).resize(source.size, Image.Resampling.BICUBIC)
    notes = confidence.degenerate(source, blurred).notes
    assert any("much blurrier than its source" in n for n in notes), notes
