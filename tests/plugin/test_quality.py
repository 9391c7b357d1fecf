"""Quality scores: stored with their parts and reasons, skipped when unchanged, shown and filtered in the admin."""
import pytest
from django.urls import reverse

from prodimg_plugin.images import BadSourceImage
from prodimg_plugin.models import GeneratedImage, ImageJob, QualityScore
from prodimg_plugin.upkeep import quality

from tests.factories import make_image, make_product_image, make_user, png_bytes
from tests.plugin.quality_helpers import dark_photo, grey_off_centre, set_file, small_enhancement

pytestmark = pytest.mark.django_db

IMAGE_CHANGELIST = reverse("admin:catalog_productimage_changelist")


def test_score_parts_and_reasons_are_stored():
    image = make_product_image(image=dark_photo())
    score = quality.assess_image(image)
    assert 0 <= score.score <= 100
    assert set(score.parts) == {"resolution", "sharpness", "exposure", "background", "coverage", "centring"}
    assert all(0 <= p["score"] <= 100 and isinstance(p["value"], dict) for p in score.parts.values())
    assert "dark" in score.reasons and "too small" in score.reasons  # 60x80 against the default 600x800
    assert score.file_name == image.image.name
    assert "dark" in quality.explain(score) and "exposure" in quality.explain(score)


def test_a_well_made_photo_scores_higher_than_a_dark_small_one(settings):
    small_enhancement(settings)  # the target size is the enhancement's: 60x80 is not "too small" then
    good = quality.assess_image(make_product_image(image=make_image((60, 80))))
    poor = quality.assess_image(make_product_image(image=dark_photo()))
    assert good.score > poor.score + 10 and "too small" not in good.reasons and good.reasons == []


def test_unchanged_file_is_not_assessed_again_but_a_new_file_is():
    image = make_product_image(image=grey_off_centre())
    first = quality.assess_image(image)
    assert quality.assess_image(image) is None
    assert quality.assess_image(image, force=True).computed_at > first.computed_at
    image = set_file(image, "products/new.png", png_bytes(dark_photo()))
    again = quality.assess_image(image)
    assert again is not None and again.file_name == image.image.name and "dark" in again.reasons
    assert QualityScore.objects.count() == 1


def test_an_unreadable_file_raises_a_readable_error():
    image = set_file(make_product_image(), "products/page.jpg", b"<html>not a photo</html>")
    with pytest.raises(BadSourceImage, match="not a readable image"):
        quality.assess_image(image)
    assert not QualityScore.objects.exists()


def test_bands():
    bands = [quality.band_of(s) for s in (0, 39.9, 40, 70, 70.1, 100)]
    assert bands == ["poor", "poor", "fair", "fair", "good", "good"]


# ---- admin ------------------------------------------------------------------------------------------------

@pytest.fixture
def scored(db):
    """Three images scored poor (dark, blurry), fair (grey background) and good; one not scored."""
    rows = [(30.0, ["dark", "blurry"]), (55.0, ["grey background"]), (90.0, [])]
    parts = {"exposure": {"score": 12.0, "value": {}}, "sharpness": {"score": 33.0, "value": {}}}
    images = [make_product_image(f"Item {i}") for i in range(4)]
    for image, (score, reasons) in zip(images, rows):
        QualityScore.objects.create(source=image, score=score, reasons=reasons, file_name=image.image.name, parts=parts)
    return images


@pytest.fixture
def viewer(db):
    return make_user("viewer", staff=True, perms=("catalog.view_productimage", "catalog.view_product"))


def listed(client, query: str) -> set[int]:
    response = client.get(IMAGE_CHANGELIST + query)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def test_column_shows_score_and_why(client, viewer, scored):
    client.force_login(viewer)
    page = client.get(IMAGE_CHANGELIST).content.decode()
    assert "Quality" in page and ">30</b> dark, blurry" in page
    assert "exposure 12, sharpness 33" in page  # each part's score in the tooltip, weakest first


@pytest.mark.parametrize("query, expected", [("poor", [0]), ("fair", [1]), ("good", [2]), ("none", [3])])
def test_band_filter(client, viewer, scored, query, expected):
    client.force_login(viewer)
    assert listed(client, f"?prodimg_quality={query}") == {scored[i].pk for i in expected}


def test_reason_filter(client, viewer, scored):
    client.force_login(viewer)
    assert listed(client, "?prodimg_reason=dark") == {scored[0].pk}
    assert listed(client, "?prodimg_reason=grey+background") == {scored[1].pk}
    assert listed(client, "?prodimg_reason=off-centre") == set()


def test_enhance_images_action_queues_jobs_whose_results_wait_for_review(
    client, scored, settings, inline_jobs, django_capture_on_commit_callbacks
):
    small_enhancement(settings)
    editor = make_user("editor", staff=True, perms=("catalog.view_productimage", "catalog.change_productimage",
                                                    "prodimg_plugin.enhance_images"))
    client.force_login(editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(IMAGE_CHANGELIST, {"action": "enhance_images",
                                                  "_selected_action": [scored[0].pk, scored[1].pk]}, follow=True)
    assert "Queued 2 enhance image job(s)" in response.content.decode()
    assert set(ImageJob.objects.values_list("kind", "status")) == {("enhance", "succeeded")}
    assert GeneratedImage.objects.filter(kind="enhanced", status="pending").count() == 2


def test_enhance_images_needs_its_permission(client, viewer, scored):
    client.force_login(viewer)
    assert 'value="enhance_images"' not in client.get(IMAGE_CHANGELIST).content.decode()
    client.post(IMAGE_CHANGELIST, {"action": "enhance_images", "_selected_action": [scored[0].pk]})
    assert not ImageJob.objects.exists()
