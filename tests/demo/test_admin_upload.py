"""Admin uploads of product photos: bad files are a form error, never a server error."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from shop_demo.catalog.models import Product, ProductImage
from shop_demo.catalog.render import render_product
from shop_demo.catalog.validators import validate_product_image

pytestmark = pytest.mark.django_db


def _encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def _photo(fmt: str = "PNG") -> bytes:
    return _encoded(render_product("tee", "red", "stripes", seed=0, size=(120, 160)), fmt)


@pytest.fixture
def product(db):
    return Product.objects.create(name="Red Tee", slug="red-tee", category="tee", colour="red", pattern="solid",
                                  price=Decimal("15.00"))


def _upload(admin_client, product, name: str, content: bytes):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    data = {"product": product.pk, "image": upload, "alt_text": "x", "position": 0}
    return admin_client.post(reverse("admin:catalog_productimage_add"), data)


def test_a_real_photo_is_accepted(admin_client, product, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    response = _upload(admin_client, product, "tee.png", _photo())
    assert response.status_code == 302
    assert ProductImage.objects.get().width == 120


@pytest.mark.parametrize(
    "name, content",
    [
        ("notes.png", b"this is a text file, not a picture\n" * 20),
        ("half.png", _photo("PNG")[:1500]),
        ("half.jpg", _photo("JPEG")[:1500]),
        ("bomb.png", _encoded(Image.new("1", (8000, 6000)))),  # 48 megapixels in a few kilobytes
    ],
    ids=["text", "truncated-png", "truncated-jpeg", "over-pixel-cap"],
)
def test_bad_uploads_are_form_errors(admin_client, product, settings, tmp_path, name, content):
    settings.MEDIA_ROOT = str(tmp_path)
    response = _upload(admin_client, product, name, content)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["image"]
    assert not ProductImage.objects.exists()


def test_pixel_cap_is_a_setting_and_the_message_says_the_size(admin_client, product, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.CATALOG_MAX_IMAGE_PIXELS = 10_000
    response = _upload(admin_client, product, "tee.png", _photo())
    assert response.status_code == 200
    assert "120 x 160 pixels" in str(response.context["adminform"].form.errors["image"])


def test_bad_upload_in_the_product_page_inline_is_a_form_error(admin_client, product, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    data = {
        "name": product.name, "slug": product.slug, "category": "tee", "colour": "red", "pattern": "solid",
        "price": "15.00", "description": "",
        "images-TOTAL_FORMS": "1", "images-INITIAL_FORMS": "0", "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-image": SimpleUploadedFile("half.jpg", _photo("JPEG")[:1500], content_type="image/jpeg"),
        "images-0-alt_text": "", "images-0-position": "0",
    }
    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data)
    assert response.status_code == 200
    assert "damaged or incomplete" in response.content.decode()
    assert not ProductImage.objects.exists()


def test_validator_rejects_truncated_jpeg_that_pillow_verify_accepts():
    truncated = _photo("JPEG")[:1500]
    Image.open(io.BytesIO(truncated)).verify()  # the check Django's ImageField relies on: passes
    with pytest.raises(ValidationError) as err:
        validate_product_image(SimpleUploadedFile("x.jpg", truncated))
    assert err.value.code == "image_corrupt"


def test_validator_leaves_the_file_position_alone():
    upload = SimpleUploadedFile("x.png", _photo())
    upload.seek(7)
    validate_product_image(upload)
    assert upload.tell() == 7
