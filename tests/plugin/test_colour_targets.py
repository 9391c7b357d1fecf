"""Exact colour targets (hex, swatch, colour name, on chosen colour parts) through the API, the admin and the
backfill command: one check, clear errors, nothing queued on bad input, ΔE00 to the target stored and flagged."""
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image
from rest_framework.test import APIClient

from ml.colour import delta_e2000, srgb_to_cielab
from prodimg_plugin.generation.colour_targets import TargetError, parse_line, parse_lines
from prodimg_plugin.models import GeneratedImage, ImageJob

from tests.plugin.conftest_cvae import no_bundled_weights  # noqa: F401  (fixture)
from tests.plugin.test_admin import IMAGE_CHANGELIST, run_action
from tests.plugin.test_confidence import mask_version, mask_weights  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_bundled_weights")]


@pytest.fixture
def api(staff_with_perms):
    client = APIClient()
    client.force_authenticate(staff_with_perms)
    return client


def garment_colour(generated) -> float:
    """The mean CIELAB colour of the middle of the made-up garment (make_image: its body spans 25-75 % x 20-85 %)."""
    with Image.open(generated.image.path) as im:
        arr = np.asarray(im.convert("RGB"), np.float64) / 255
    h, w = arr.shape[:2]
    return srgb_to_cielab(arr[int(h * 0.3): int(h * 0.75), int(w * 0.3): int(w * 0.7)]).reshape(-1, 3).mean(axis=0)


def distance(lab, rgb) -> float:
    return float(delta_e2000(lab, srgb_to_cielab(np.array(rgb) / 255)))


# ---- the one-line spelling (admin form, backfill command) ----------------------------------------------------

@pytest.mark.parametrize("line, target", [
    ("#1F3A5F", {"colour": "#1F3A5F"}),
    ("Navy Blue on 0, 2", {"colour": "Navy Blue", "parts": [0, 2]}),
    ("swatch 12 10,20,30,40", {"swatch": {"image": "12", "box": ["10", "20", "30", "40"]}}),
    ("swatch 7 1 2 3 4 on 1", {"swatch": {"image": "7", "box": ["1", "2", "3", "4"]}, "parts": [1]}),
])
def test_a_target_line_reads_as_the_apis_target(line, target):
    assert parse_line(line) == target


def test_a_bad_line_is_named_by_its_number():
    with pytest.raises(TargetError, match="line 2: "):
        parse_lines("#1f3a5f\n\nswatch\n")


# ---- the API ------------------------------------------------------------------------------------------------

def test_hex_targets_make_one_colourway_each_on_the_target_colour_with_its_delta_e_stored(
        api, product_image, mask_version, inline_jobs, django_capture_on_commit_callbacks):
    targets = [{"colour": "#1F3A5F"}, {"colour": "e8d44d"}]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/prodimg/variants/", {"images": [product_image.pk], "targets": targets}, format="json")
    assert response.status_code == 202, response.json()
    job = ImageJob.objects.get()
    assert job.status == "succeeded", job.error
    results = list(job.results.order_by("slot"))
    assert [g.params["colour"] for g in results] == ["#1f3a5f", "#e8d44d"]
    for g, rgb in zip(results, [(31, 58, 95), (232, 212, 77)]):
        assert g.delta_e_target is not None and g.delta_e_target < 4
        assert distance(garment_colour(g), rgb) < 6  # measured here, on the garment's known body
        assert distance(garment_colour(g), (190, 40, 40)) > 20  # and no longer the red it was
        assert g.params["product_parts"] and g.params["parts"] == [p["index"] for p in g.params["product_parts"]
                                                                    if p["main"]]
    listed = api.get(f"/api/prodimg/generated/?job={job.pk}").json()["results"]
    assert {r["delta_e_target"] for r in listed} == {g.delta_e_target for g in results}


def test_a_swatch_target_takes_the_colour_of_the_rectangle_of_another_photo(
        api, three_images, mask_version, no_queue):
    red, green = three_images[0], three_images[1]
    swatch = {"image": green.pk, "box": [38, 50, 12, 12]}  # inside the green garment's body (90x120)
    response = api.post("/api/prodimg/variants/", {"images": [red.pk], "targets": [{"swatch": swatch}]}, format="json")
    assert response.status_code == 202, response.json()
    [target] = ImageJob.objects.get().params["targets"]
    assert target["swatch"] == swatch and f"swatch of image {green.pk}" in target["asked"]
    assert distance(srgb_to_cielab(np.array([int(target["colour"][i:i + 2], 16) for i in (1, 3, 5)]) / 255),
                    (40, 112, 62)) < 8  # the green garment's colour (its stripes are darker)


@pytest.mark.parametrize("targets, said", [
    ([{"colour": "#12345"}], "target 1: '#12345' is not a colour"),
    ([{"colour": "#1f3a5f"}, {"colour": "ultraviolet"}], "target 2: 'ultraviolet' is neither a hex colour"),
    ([{"colour": "#1f3a5f"}] * 5, "at most 4 targets per image, not 5"),
    ([{"swatch": {"image": "SELF", "box": [80, 100, 50, 50]}}], "lies outside the photo (90x120)"),
    ([{"swatch": {"image": "SELF", "box": [0, 0, 12, 12]}}], "is mostly backdrop"),
    ([{"swatch": {"image": 999999, "box": [0, 0, 12, 12]}}], "swatch's image '999999' does not exist"),
    ([{"colour": "#1f3a5f", "parts": [7]}], "part 7 does not exist on product image"),
    ([{"colour": "#1f3a5f", "parts": "all"}], "parts is a list of part numbers"),
    ([{"colour": "#1f3a5f", "swatch": {"image": 1, "box": [0, 0, 1, 1]}}], "either a colour"),
    ([{"colour": "#1f3a5f", "shade": "dark"}], "unknown key shade"),
])
def test_bad_targets_answer_400_naming_the_field_and_nothing_is_queued(api, product_image, mask_version, no_queue,
                                                                      targets, said):
    targets = [{**t, "swatch": {**t["swatch"], "image": product_image.pk}} if t.get("swatch", {}).get("image") == "SELF"
               else t for t in targets]
    response = api.post("/api/prodimg/variants/", {"images": [product_image.pk], "targets": targets}, format="json")
    assert response.status_code == 400 and said in response.json()["targets"][0], response.json()
    assert not ImageJob.objects.exists() and no_queue == []


def test_colour_names_and_targets_together_are_refused(api, product_image, mask_version, no_queue):
    response = api.post("/api/prodimg/variants/", {"images": [product_image.pk], "colours": ["red"],
                                                   "targets": [{"colour": "#1f3a5f"}]}, format="json")
    assert response.status_code == 400 and "not both" in response.json()["colours"][0]
    assert not ImageJob.objects.exists()


def test_targets_without_a_mask_model_answer_503_saying_how_to_train_one(api, product_image, no_queue):
    response = api.post("/api/prodimg/variants/", {"images": [product_image.pk], "targets": [{"colour": "#1f3a5f"}]},
                        format="json")
    assert response.status_code == 503 and "mask" in response.json()["detail"]
    assert not ImageJob.objects.exists()


def test_a_missed_target_is_flagged_with_its_delta_e(api, product_image, mask_version, inline_jobs, settings,
                                                     django_capture_on_commit_callbacks):
    settings.PRODIMG = {**settings.PRODIMG, "CONFIDENCE": {"max_delta_e_target": -1.0}}  # nothing is close enough
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/prodimg/variants/", {"images": [product_image.pk], "targets": [{"colour": "#1F3A5F"}]},
                 format="json")
    [g] = GeneratedImage.objects.all()
    assert g.needs_look and any("from #1F3A5F (at most -1 expected)" in n for n in g.review_notes), g.review_notes


def test_a_degenerate_result_to_an_exact_colour_is_flagged_whatever_its_delta_e(mask_version):
    from prodimg_plugin.generation import confidence
    from prodimg_plugin.generation.handler import Result
    from tests.factories import make_image

    source = make_image((90, 120))
    flat = Result(Image.new("RGB", source.size, (31, 58, 95)), {"target": {"asked": "#1F3A5F"}, "delta_e_target": 0.1})
    confidence.assess_targets(source, [flat], {})
    assert flat.confidence["needs_look"] and flat.confidence["delta_e_target"] == 0.1
    assert any("nearly one flat colour" in n for n in flat.confidence["review_notes"]), flat.confidence


# ---- the admin -------------------------------------------------------------------------------------------------

def test_the_options_page_shows_each_photos_colour_parts_and_queues_targets(
        client, staff_with_perms, three_images, mask_version, no_queue, django_capture_on_commit_callbacks):
    client.force_login(staff_with_perms)
    page = run_action(client, IMAGE_CHANGELIST, "generate_variants_with_options", [three_images[0].pk]).content.decode()
    assert "Colour parts of the selected photos" in page and "0: #" in page and "main" in page
    form = {"action": "generate_variants_with_options", "_selected_action": [three_images[0].pk],
            "prodimg_confirm": "1", "mode": "colourways", "count": "4", "strength": "0.5",
            "targets": "#1F3A5F\nswatch %d 38,50,12,12 on 0" % three_images[1].pk}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(IMAGE_CHANGELIST, form, follow=True)
    assert "Queued 1" in response.content.decode()
    params = ImageJob.objects.get().params
    assert params["count"] == 2 and params["targets"][0]["colour"] == "#1f3a5f" and params["targets"][1]["parts"] == [0]


@pytest.mark.parametrize("targets, said", [
    ("#1F3A5F\n#nothex", "target 2: &#x27;#nothex&#x27; is not a colour"),
    ("swatch 1", "line 1: "),
    ("#111111\n#222222\n#333333\n#444444\n#555555", "at most 4 targets"),
])
def test_bad_targets_on_the_admin_form_show_an_error_and_queue_nothing(client, staff_with_perms, three_images,
                                                                      mask_version, no_queue, targets, said):
    client.force_login(staff_with_perms)
    form = {"action": "generate_variants_with_options", "_selected_action": [three_images[0].pk],
            "prodimg_confirm": "1", "mode": "colourways", "count": "4", "strength": "0.5", "targets": targets}
    page = client.post(IMAGE_CHANGELIST, form).content.decode()
    assert "errorlist" in page and said in page
    assert not ImageJob.objects.exists() and no_queue == []


# ---- the backfill command -------------------------------------------------------------------------------------

def test_backfill_makes_colourways_to_exact_colours(three_images, mask_version, capsys):
    call_command("prodimg_backfill", "variants", "--colour-target", "#1F3A5F", "--colour-target", "#E8D44D on 0",
                 "--inline", verbosity=0)
    assert ImageJob.objects.filter(status="succeeded").count() == 3
    made = GeneratedImage.objects.all()
    assert made.count() == 6 and all(g.delta_e_target is not None for g in made)
    call_command("prodimg_backfill", "variants", "--colour-target", "#1F3A5F", "--colour-target", "#E8D44D on 0",
                 "--inline", verbosity=0)
    assert GeneratedImage.objects.count() == 6  # a rerun finds its jobs: no duplicates


@pytest.mark.parametrize("target, said", [("#xyz", "is not a colour"), ("swatch", "write a colour")])
def test_backfill_refuses_a_bad_colour_target_before_it_starts(three_images, mask_version, target, said):
    with pytest.raises(CommandError, match=said):
        call_command("prodimg_backfill", "variants", "--colour-target", target, "--inline", verbosity=0)
    assert not ImageJob.objects.exists()


# ---- the parts, for an API client to choose from -------------------------------------------------------------

def test_the_api_lists_an_images_colour_parts_largest_first(api, product_image, mask_version):
    answer = api.get(f"/api/prodimg/parts/?image={product_image.pk}")
    assert answer.status_code == 200, answer.json()
    parts = answer.json()["parts"]
    assert [p["index"] for p in parts] == list(range(len(parts))) and len(parts) >= 1
    assert sorted((p["share"] for p in parts), reverse=True) == [p["share"] for p in parts]
    assert sum(p["main"] for p in parts) == 1 and all(p["colour"].startswith("#") for p in parts)
    red = srgb_to_cielab(np.array([int(parts[0]["colour"][i:i + 2], 16) for i in (1, 3, 5)]) / 255)
    assert distance(red, (190, 40, 40)) < 15  # the made-up garment is mostly red


def test_parts_of_an_unknown_or_malformed_image_id_answer_404_and_400(api, product_image, mask_version):
    assert api.get("/api/prodimg/parts/?image=999999").status_code == 404
    assert api.get("/api/prodimg/parts/?image=x").status_code == 400


def test_parts_without_a_mask_model_answer_503(api, product_image):
    answer = api.get(f"/api/prodimg/parts/?image={product_image.pk}")
    assert answer.status_code == 503 and "mask" in answer.json()["detail"]
