"""The enhance job: cleaned, centred, white, target-sized results with renditions; SR only where it wins."""
import numpy as np
import pytest
from PIL import Image

from prodimg_plugin import weights
from prodimg_plugin.generation import jobs, review
from prodimg_plugin.models import GeneratedImage, ImageJob

from tests.factories import make_image, make_product_image
from tests.files import stored_files
from tests.plugin.quality_helpers import grey_off_centre, small_enhancement

pytestmark = pytest.mark.django_db


def enhance_job(image):
    return jobs.run_job(jobs.create_jobs(ImageJob.Kind.ENHANCE, [image])[0].pk)


def storage_files(settings, folder="prodimg") -> list:
    return sorted(stored_files(settings.MEDIA_ROOT, folder).values())


def test_enhanced_image_is_white_centred_target_sized_with_renditions(settings):
    small_enhancement(settings)
    image = make_product_image(image=grey_off_centre())
    job = enhance_job(image)
    assert job.status == "succeeded", job.error
    generated = job.results.get()
    assert generated.kind == "enhanced" and generated.status == "pending" and generated.model_version is None
    with Image.open(generated.image.path) as im:
        arr = np.asarray(im.convert("RGB"))
    assert arr.shape == (80, 60, 3)
    assert (arr[:2] == 255).all() and (arr[-2:] == 255).all()  # grey backdrop turned pure white
    product = np.argwhere(np.abs(arr.astype(int) - 255).max(axis=-1) > 40)
    centre_x = (product[:, 1].min() + product[:, 1].max()) / 2
    assert abs(centre_x - 30) <= 3  # was off to the left
    assert {"background", "centre"} <= set(generated.params["steps"])
    assert "grey background" in generated.params["quality_before"]["reasons"]
    assert "grey background" not in generated.params["quality_after"]["reasons"]
    assert set(generated.renditions) == {"60x80.webp", "60x80.jpeg", "30x40.webp", "30x40.jpeg"}
    for key, name in generated.renditions.items():
        assert name.startswith("prodimg/renditions/enhanced/")
        with generated.image.storage.open(name) as fh, Image.open(fh) as im:
            assert f"{im.width}x{im.height}" == key.split(".")[0]


def test_an_under_exposed_photo_comes_back_no_longer_dark(settings):
    small_enhancement(settings, exposure_white=[185, 210])  # a JSON list, as a settings file would have it
    arr = np.asarray(make_image((72, 96)), dtype=np.float32) * 0.5  # half the light: white is now 128
    job = enhance_job(make_product_image(image=Image.fromarray((arr + 0.5).astype(np.uint8))))
    assert job.status == "succeeded", job.error
    params = job.results.get().params
    assert "exposure" in params["steps"] and params["details"]["exposure"]["gain"] > 1.8
    assert "dark" in params["quality_before"]["reasons"]
    assert "dark" not in params["quality_after"]["reasons"]


def test_exposure_can_be_switched_off_in_settings(settings):
    small_enhancement(settings, exposure=False)
    arr = np.asarray(make_image((72, 96)), dtype=np.float32) * 0.5
    job = enhance_job(make_product_image(image=Image.fromarray((arr + 0.5).astype(np.uint8))))
    assert "exposure" not in job.results.get().params["steps"]


def test_steps_can_be_switched_off_in_settings(settings):
    small_enhancement(settings, background=False, centre=False)
    job = enhance_job(make_product_image(image=grey_off_centre()))
    steps = job.results.get().params["steps"]
    assert "background" not in steps and "centre" not in steps


def test_an_unknown_enhance_setting_fails_the_job_naming_the_valid_ones(settings):
    small_enhancement(settings, backgrnd=False)
    job = enhance_job(make_product_image(image=grey_off_centre()))
    assert job.status == "failed" and "backgrnd" in job.error and "background" in job.error


def test_renditions_are_deleted_when_the_results_do_not_commit(settings, monkeypatch):
    small_enhancement(settings)
    image = make_product_image(image=grey_off_centre())
    monkeypatch.setattr(GeneratedImage, "save", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("disk full")))
    job = enhance_job(image)
    assert job.status == "queued" and "disk full" in job.error
    assert storage_files(settings, "prodimg") == []


@pytest.fixture(scope="module")
def sr_weights(tmp_path_factory) -> bytes:
    from ml.sr import SRConfig
    from ml.sr_train import SRTrainer

    photos = [np.asarray(make_image((48, 64), colour=c)) for c in ((190, 40, 40), (40, 112, 62))]
    trainer = SRTrainer(photos, SRConfig(channels=8, blocks=1, patch=16, batch_size=4, tile=32, tile_pad=6),
                        device="cpu")
    trainer.train(steps=3)
    path = tmp_path_factory.mktemp("sr") / "sr.safetensors"
    trainer.export(path)
    return path.read_bytes()


@pytest.mark.parametrize("psnr_model, used", [(31.0, True), (29.0, False)])
def test_super_resolution_is_used_only_where_it_beat_bicubic(settings, sr_weights, psnr_model, used):
    small_enhancement(settings)
    settings.PRODIMG = {**settings.PRODIMG, "MIN_IMAGE_SIDE": 16}  # the tiny SR model's scale: 24x32 -> 60x80
    weights.clear_cache()
    version = weights.register_weights("sr", sr_weights, metrics={"psnr_model": psnr_model, "psnr_bicubic": 30.0})
    job = enhance_job(make_product_image(image=make_image((24, 32))))  # smaller than 60x80: upscaled
    generated = job.results.get()
    assert generated.params["details"]["upscale"] == ("model" if used else "bicubic")
    assert generated.model_version == (version if used else None)
    weights.clear_cache()


def test_approving_an_enhanced_image_makes_it_the_main_image_once(settings):
    from shop_demo.catalog.models import ProductImage

    small_enhancement(settings)
    original = make_product_image(image=grey_off_centre())
    generated = enhance_job(original).results.get()
    review.approve(generated)
    review.approve(GeneratedImage.objects.get(pk=generated.pk))  # twice: still one new photo
    photos = list(ProductImage.objects.filter(product=original.product).order_by("position", "id"))
    assert len(photos) == 2 and photos[1].pk == original.pk and photos[1].position == 1
    with Image.open(photos[0].image.path) as main, Image.open(generated.image.path) as enhanced:
        assert np.array_equal(np.asarray(main), np.asarray(enhanced))


def test_approving_other_kinds_or_without_the_hook_changes_no_host_image(settings):
    from shop_demo.catalog.models import ProductImage

    small_enhancement(settings)
    settings.PRODIMG = {**settings.PRODIMG, "ON_ENHANCED_APPROVED": None}
    original = make_product_image(image=grey_off_centre())
    review.approve(enhance_job(original).results.get())
    assert ProductImage.objects.filter(product=original.product).count() == 1


def test_prodimg_train_sr_records_held_out_psnr_against_bicubic(tmp_path):
    import io

    from django.core.management import call_command

    from prodimg_plugin.generation.enhance import sr_beats_bicubic
    from prodimg_plugin.models import ModelVersion

    for i in range(10):  # one photo in ten is held out
        make_product_image(f"Tee {i}", image=make_image((72, 96), colour=(30 + 20 * i, 60, 120)))
    call_command("prodimg_train", "sr", "--steps", "2", "--batch-size", "2", "--checkpoint-dir", str(tmp_path),
                 stdout=io.StringIO(), stderr=io.StringIO())
    version = ModelVersion.objects.get(kind="sr", active=True)
    m = version.metrics
    assert m["held_out_images"] == 1 and m["images"] == 9 and m["steps"] == 2
    assert m["psnr_model"] > 10 and m["psnr_bicubic"] > 10 and "final_l1" in m
    assert sr_beats_bicubic(m) == (m["psnr_model"] > m["psnr_bicubic"])
    assert version.config["model"]["scale"] == 2
