"""The plugin guards its own inputs, whatever the host's upload validates (a plain ImageField validates nothing).

Every job's source goes through `images.job_source`: bombs, junk and truncated files, sources too small or too
narrow fail the job for good with a message naming the image (on the job's row, in the admin), nothing stored and
no worker harmed; EXIF rotation, odd modes and transparency are made right before any model sees the picture.
"""
import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image, ImageDraw

from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.params import edit_params, variant_params
from prodimg_plugin.models import GeneratedImage, ImageJob

from tests.factories import make_image, make_product_image, png_bytes
from tests.plugin.conftest_cvae import cvae_version, cvae_weights  # noqa: F401  (fixtures)
from tests.plugin.quality_helpers import small_enhancement

pytestmark = pytest.mark.django_db

RED = (190, 40, 40)


def host_image(data: bytes, name: str):
    """A host product image whose file is exactly `data`, stored as the host would without validating it."""
    image = make_product_image()
    image.image.storage.delete(image.image.name)
    image.image.save(name, ContentFile(data), save=True)
    return image


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def run(kind: str, image, **params) -> ImageJob:
    defaults = {ImageJob.Kind.VARIANTS: lambda: {**variant_params(), "count": 2},
                ImageJob.Kind.EDITS: lambda: edit_params({"colour": "green"}),
                ImageJob.Kind.ENHANCE: dict}[kind]()
    job = jobs.create_jobs(kind, [image], {**defaults, **params})[0]
    return jobs.run_job(job.pk)


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "prodimg"
    return sorted(p for p in root.rglob("*") if p.is_file() and "models" not in p.parts) if root.exists() else []


def assert_refused(job: ImageJob, image, message: str, settings) -> None:
    """Failed for good on its first attempt, with the message naming the image; nothing stored."""
    assert job.status == ImageJob.Status.FAILED and job.attempts == 1, (job.status, job.error)
    assert message in job.error and f"product image {image.pk} (" in job.error, job.error
    assert not GeneratedImage.objects.exists() and stored_files(settings) == []


# ---- refused ---------------------------------------------------------------------------------------------------

def test_corrupt_bytes_are_refused(gan_version, settings):
    image = host_image(b"GIF? no: a text file saved as a photo\n" * 40, "junk.png")
    assert_refused(run("variants", image), image, "is not a readable image (its bytes are none of JPEG, PNG", settings)


def test_a_truncated_file_is_refused(gan_version, settings):
    data = encoded(make_image(), "JPEG", quality=95)
    image = host_image(data[: len(data) // 2], "cut.jpg")
    assert_refused(run("variants", image), image, "is damaged or truncated (image file is truncated", settings)


def test_a_decompression_bomb_is_refused_before_it_is_decoded(gan_version, settings):
    image = host_image(encoded(Image.new("1", (8000, 6000)), "PNG"), "bomb.png")  # 48 megapixels in a few kB
    assert_refused(run("variants", image), image, "is 8000x6000 pixels; the limit is 40,000,000 pixels "
                   "(PRODIMG's MAX_IMAGE_PIXELS): refused as a possible decompression bomb", settings)


@pytest.mark.parametrize("kind", ["variants", "enhance"])
def test_a_1x1_image_is_refused(gan_version, settings, kind):
    image = host_image(png_bytes(Image.new("RGB", (1, 1), RED)), "dot.png")
    assert_refused(run(kind, image), image, "is too small: 1x1 pixels, and the short side must be at least 64 px "
                   "(PRODIMG's MIN_IMAGE_SIDE and MAX_ASPECT_RATIO).", settings)


@pytest.mark.parametrize("kind", ["variants", "enhance"])
def test_an_8000x20_strip_is_refused(gan_version, settings, kind):
    image = host_image(png_bytes(Image.new("RGB", (8000, 20), RED)), "strip.png")
    assert_refused(run(kind, image), image, "is too small: 8000x20 pixels, and the short side must be at least 64 px",
                   settings)


def test_a_source_beyond_the_aspect_ratio_is_refused(gan_version, settings):
    image = host_image(png_bytes(make_image((400, 90))), "banner.png")
    assert_refused(run("variants", image), image, "is too narrow: 400x90 pixels is 4.4:1, and the long side may be "
                   "at most 4 times the short side", settings)


def test_the_limits_are_settings(gan_version, settings):
    settings.PRODIMG = {**settings.PRODIMG, "MIN_IMAGE_SIDE": 100, "MAX_ASPECT_RATIO": 0}
    small = host_image(png_bytes(make_image((90, 120))), "small.png")
    assert_refused(run("variants", small), small, "the short side must be at least 100 px", settings)
    settings.PRODIMG = {**settings.PRODIMG, "MIN_IMAGE_SIDE": 20}
    long = host_image(png_bytes(make_image((400, 90))), "banner.png")
    assert run("variants", long).status == "succeeded"  # no aspect limit


def test_the_admin_shows_why_a_source_was_refused(gan_version, admin_client):
    image = host_image(png_bytes(Image.new("RGB", (1, 1), RED)), "dot.png")
    job = run("variants", image)
    page = admin_client.get(reverse("admin:prodimg_plugin_imagejob_change", args=[job.pk]))
    assert page.status_code == 200
    assert "is too small: 1x1 pixels, and the short side must be at least 64 px" in page.content.decode()


# ---- made right ------------------------------------------------------------------------------------------------

def upright_photo() -> Image.Image:
    """A garment (90x120) with a dark mark in its top-left corner: which way up it comes out is plain to see."""
    im = make_image((90, 120), colour=RED)
    ImageDraw.Draw(im).rectangle([0, 0, 14, 14], fill=(20, 20, 20))
    return im


def dark_corner(file) -> str:
    """Which corner of a stored result is the dark mark's."""
    with Image.open(file) as im:
        arr = np.asarray(im.convert("L"), dtype=float)
    corners = {"top-left": arr[:8, :8], "top-right": arr[:8, -8:], "bottom-left": arr[-8:, :8],
               "bottom-right": arr[-8:, -8:]}
    return min(corners, key=lambda k: corners[k].mean())


@pytest.mark.parametrize("kind, model", [("variants", "gan_version"), ("edits", "cvae_version"),
                                         ("enhance", None)])
def test_exif_orientation_6_gives_upright_results(request, settings, kind, model):
    if model:
        request.getfixturevalue(model)
    small_enhancement(settings, trim=False, centre=False, white_backdrop=False)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter left; viewers turn it back clockwise
    stored = upright_photo().transpose(Image.Transpose.ROTATE_90)
    image = host_image(encoded(stored, "JPEG", quality=95, exif=exif), "rotated.jpg")
    job = run(kind, image)
    assert job.status == "succeeded" and job.error == "", job.error
    for result in job.results.all():
        with Image.open(result.image.path) as im:
            assert im.width < im.height  # portrait, as the shop's pages show it (stored: 120x90)
        assert dark_corner(result.image.path) == "top-left"


def cut_out(junk=(0, 255, 0)) -> Image.Image:
    """The garment with a transparent backdrop (corners and all), junk green hidden under alpha 0."""
    garment = make_image((90, 120), colour=RED, stripes=False)
    product = (np.asarray(garment).astype(int) - 255).__abs__().max(axis=2) > 30
    arr = np.zeros((120, 90, 4), np.uint8)
    arr[..., :3] = junk
    arr[product, :3] = np.asarray(garment)[product]
    arr[product, 3] = 255
    return Image.fromarray(arr)


@pytest.mark.parametrize("kind, model", [("variants", "gan_version"), ("edits", "cvae_version")])
def test_a_transparent_cut_out_keeps_its_alpha_in_variants_and_edits(request, settings, kind, model):
    request.getfixturevalue(model)
    source = cut_out()
    image = host_image(png_bytes(source), "cutout.png")
    job = run(kind, image)
    assert job.status == "succeeded" and job.error == "", job.error
    alpha = np.asarray(source)[..., 3]
    for result in job.results.all():
        assert result.image.name.endswith(".png")
        with Image.open(result.image.path) as im:
            assert im.mode == "RGBA" and im.size == (90, 120)
            arr = np.asarray(im)
        assert (arr[..., 3] == alpha).all()  # the source's alpha, corners transparent
        visible = arr[alpha == 255, :3].astype(int)
        assert not ((visible[:, 1] > 200) & (visible[:, 0] < 80)).any()  # no junk green came through
        assert (arr[alpha == 0, :3] == 255).all()  # under alpha 0: the white the model saw, not the junk


def test_a_transparent_cut_out_stored_as_webp_keeps_its_alpha(gan_version, settings):
    settings.PRODIMG = {**settings.PRODIMG, "OUTPUT_FORMAT": "WEBP"}
    job = run("variants", host_image(png_bytes(cut_out()), "cutout.png"))
    for result in job.results.all():
        assert result.image.name.endswith(".webp")
        with Image.open(result.image.path) as im:
            assert im.mode == "RGBA" and np.asarray(im)[0, 0, 3] == 0


def test_a_palette_image_with_transparency_keeps_it(gan_version, settings):
    source = cut_out().quantize(colors=64, method=Image.Quantize.FASTOCTREE)  # "P", a transparent index
    assert source.mode == "P"
    job = run("variants", host_image(encoded(source, "PNG"), "palette.png"))
    assert job.status == "succeeded" and job.error == "", job.error
    for result in job.results.all():
        with Image.open(result.image.path) as im:
            assert im.mode == "RGBA" and np.asarray(im)[0, 0, 3] == 0 and np.asarray(im)[60, 45, 3] == 255


def test_a_grey_image_with_alpha_keeps_it(gan_version, settings):
    rgba = cut_out()
    source = Image.merge("LA", [rgba.convert("L"), rgba.getchannel("A")])
    job = run("variants", host_image(encoded(source, "PNG"), "grey.png"))
    assert job.status == "succeeded" and job.error == "", job.error
    for result in job.results.all():
        with Image.open(result.image.path) as im:
            assert im.mode == "RGBA" and np.asarray(im)[0, 0, 3] == 0 and np.asarray(im)[60, 45, 3] == 255


def not_black(job: ImageJob) -> None:
    assert job.status == "succeeded" and job.error == "", job.error
    for result in job.results.all():
        with Image.open(result.image.path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=float)
        assert arr.mean() > 100 and arr.std() > 10  # a garment on white, not all black (or all white)


def test_a_16_bit_greyscale_png_gives_real_variants(gan_version):
    grey = np.asarray(make_image((90, 120), colour=RED).convert("L"), dtype=np.uint16) * 257
    source = Image.fromarray(grey)
    assert source.mode == "I;16"
    not_black(run("variants", host_image(encoded(source, "PNG"), "deep.png")))


def test_a_float_tiff_gives_real_variants(gan_version):
    grey = np.asarray(make_image((90, 120), colour=RED).convert("L"), dtype=np.float32) / 255  # floats in [0, 1]
    source = Image.fromarray(grey)
    assert source.mode == "F"
    not_black(run("variants", host_image(encoded(source, "TIFF"), "float.tif")))


def test_a_cmyk_jpeg_gives_real_variants(gan_version):
    source = make_image((90, 120), colour=RED).convert("CMYK")
    job = run("variants", host_image(encoded(source, "JPEG", quality=95), "print.jpg"))
    not_black(job)
    for result in job.results.all():
        with Image.open(result.image.path) as im:
            assert im.mode == "RGB"
