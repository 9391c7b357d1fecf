"""Fuzzing the image decoding and the API payloads: clear errors, never a 500 or a crash."""
import io

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image
from rest_framework.test import APIClient

from prodimg_plugin.images import BadSourceImage, open_image_bytes

FUZZ = hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def valid_png(size=(8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_decode_or_raise_bad_source_image(data):
    try:
        im = open_image_bytes(data)
    except BadSourceImage as exc:
        assert str(exc)
    else:
        assert im.width * im.height > 0


@FUZZ
@given(st.integers(min_value=0, max_value=200), st.binary(min_size=1, max_size=16))
def test_mangled_pngs_never_escape_as_other_errors(cut, noise):
    data = bytearray(valid_png())
    data = bytes(data[:cut]) + noise + bytes(data[cut + len(noise):])
    try:
        open_image_bytes(data)
    except BadSourceImage:
        pass


def test_svg_and_html_are_refused():
    for data in (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                 b"<!doctype html><html><body>hi</body></html>"):
        with pytest.raises(BadSourceImage):
            open_image_bytes(data)


def test_pixel_cap_and_byte_cap(settings):
    settings.PRODIMG = {**settings.PRODIMG, "MAX_IMAGE_PIXELS": 100}
    with pytest.raises(BadSourceImage, match="pixels"):
        open_image_bytes(valid_png((20, 20)))
    settings.PRODIMG = {**settings.PRODIMG, "MAX_IMAGE_PIXELS": 10_000, "MAX_UPLOAD_BYTES": 10}
    with pytest.raises(BadSourceImage, match="bytes"):
        open_image_bytes(valid_png())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
payloads = st.dictionaries(st.sampled_from(["images", "count", "mode", "colours", "strength", "x"]), json_values, max_size=5)


@pytest.mark.django_db
def test_variants_api_answers_400_or_202_for_any_payload(staff_with_perms, product_image, monkeypatch, settings):
    from prodimg_plugin.generation import jobs

    settings.PRODIMG = {**settings.PRODIMG, "RATE_LIMIT_IMAGES": 0}  # the rate limit has its own tests
    monkeypatch.setattr(jobs, "enqueue", lambda pk: None)
    client = APIClient()
    client.force_authenticate(staff_with_perms)

    @FUZZ
    @given(payloads)
    def check(payload):
        response = client.post("/api/prodimg/variants/", payload, format="json")
        assert response.status_code in (202, 400), (payload, response.status_code, response.content[:300])
        if response.status_code == 400:
            assert response.json()

    check()
