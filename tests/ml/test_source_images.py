"""ml.images on a shop's sources: any mode upright, 8-bit, RGB or RGBA; size limits; alpha kept apart and put back."""
import io

import numpy as np
import pytest
from PIL import Image

from ml.images import normalise, put_alpha, size_problem, split_alpha


def reopen(image: Image.Image, fmt: str, **kw) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return Image.open(io.BytesIO(buf.getvalue()))


def test_exif_orientation_6_is_turned_upright():
    im = Image.new("RGB", (40, 20), (255, 255, 255))  # stored landscape, red on the left
    im.paste((200, 0, 0), (0, 0, 10, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    out = normalise(reopen(im, "JPEG", exif=exif, quality=95))
    assert out.size == (20, 40) and out.mode == "RGB"
    top, bottom = np.asarray(out)[2, 10], np.asarray(out)[-3, 10]
    assert top[0] > 150 and top[1] < 80  # the left edge is now the top
    assert bottom.min() > 200
    assert not out.info and not out.getexif()


@pytest.mark.parametrize("make, expected", [
    (lambda: Image.fromarray(np.full((8, 8), 40000, np.uint16)), 156),  # 40000 / 257
    (lambda: Image.fromarray(np.full((8, 8), 3000, np.int32)), 12),  # 16-bit range in an int image
    (lambda: Image.fromarray(np.full((8, 8), 100, np.int32)), 100),
    (lambda: Image.fromarray(np.full((8, 8), 0.5, np.float32)), 128),  # float in [0, 1]
    (lambda: Image.fromarray(np.full((8, 8), 200.0, np.float32)), 200),  # float in [0, 255]
    (lambda: Image.fromarray(np.full((8, 8), np.nan, np.float32)), 0),
])
def test_deep_greyscale_is_scaled_not_clipped(make, expected):
    out = normalise(make())
    assert out.mode == "RGB"
    assert abs(int(np.asarray(out)[4, 4, 0]) - expected) <= 1


def test_float_tiff_is_not_black():
    ramp = np.tile(np.linspace(0, 1, 16, dtype=np.float32), (8, 1))
    out = np.asarray(normalise(reopen(Image.fromarray(ramp), "TIFF")))
    assert out.shape == (8, 16, 3) and out[:, -1].min() == 255 and out[:, 8].mean() > 100


def test_cmyk_becomes_rgb():
    out = normalise(reopen(Image.new("CMYK", (10, 10), (0, 255, 255, 0)), "JPEG", quality=95))
    r, g, b = np.asarray(out)[5, 5]
    assert out.mode == "RGB" and r > 200 and g < 60 and b < 60


def test_transparency_is_kept_as_rgba_and_opaque_alpha_dropped():
    pal = Image.new("P", (6, 6), 1)
    pal.putpalette([0, 255, 0, 200, 0, 0] + [0] * 762)
    pal.paste(0, (0, 0, 3, 6))
    pal.info["transparency"] = 0
    out = normalise(reopen(pal, "PNG", transparency=0))
    assert out.mode == "RGBA" and np.asarray(out)[0, 0, 3] == 0 and tuple(np.asarray(out)[0, 5]) == (200, 0, 0, 255)
    la = normalise(Image.merge("LA", [Image.new("L", (4, 4), 90), Image.new("L", (4, 4), 128)]))
    assert la.mode == "RGBA" and tuple(np.asarray(la)[1, 1]) == (90, 90, 90, 128)
    opaque = normalise(Image.new("RGBA", (4, 4), (1, 2, 3, 255)))
    assert opaque.mode == "RGB"


def test_odd_modes_never_raise():
    for mode in ("1", "L", "P", "YCbCr", "HSV", "LAB", "RGBX", "RGBa", "La"):
        assert normalise(Image.new(mode, (5, 3))).mode in ("RGB", "RGBA"), mode


@pytest.mark.parametrize("size, words", [
    ((1, 1), "too small: 1x1 pixels, and the short side must be at least 64 px"),
    ((8000, 20), "too small: 8000x20 pixels"),
    ((800, 100), "too narrow: 800x100 pixels is 8.0:1, and the long side may be at most 4 times the short side"),
    ((64, 256), ""),
    ((600, 800), ""),
])
def test_size_problem(size, words):
    problem = size_problem(size, 64, 4.0)
    assert (words in problem) if words else problem == ""


def test_size_checks_switch_off_with_zero():
    assert size_problem((1, 1), 0, 0) == ""


def test_models_see_the_backdrop_not_the_junk_under_alpha_and_the_alpha_comes_back():
    arr = np.zeros((10, 10, 4), np.uint8)
    arr[..., :3] = (0, 255, 0)  # junk green under alpha 0
    arr[3:7, 3:7] = (200, 20, 20, 255)  # an opaque red product
    arr[2, 2] = (200, 20, 20, 128)  # a half-transparent edge
    rgb, alpha = split_alpha(Image.fromarray(arr))
    seen = np.asarray(rgb)
    assert rgb.mode == "RGB" and tuple(seen[0, 0]) == (255, 255, 255) and tuple(seen[5, 5]) == (200, 20, 20)
    back = np.asarray(put_alpha(rgb, alpha)).astype(int)
    assert back.shape == (10, 10, 4) and (back[..., 3] == arr[..., 3]).all()
    assert tuple(back[5, 5]) == (200, 20, 20, 255)
    assert np.abs(back[2, 2, :3] - (200, 20, 20)).max() <= 3  # the white blended in at the edge is taken out
    assert tuple(back[0, 0, :3]) == (255, 255, 255)  # no junk under the transparent parts


def test_put_alpha_leaves_results_of_another_size_alone():
    _, alpha = split_alpha(Image.new("RGBA", (10, 10), (0, 0, 0, 0)))
    other = Image.new("RGB", (20, 20))
    assert put_alpha(other, alpha) is other
    assert split_alpha(Image.new("RGB", (3, 3)))[1] is None
