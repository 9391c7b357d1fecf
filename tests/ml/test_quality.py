import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from ml.quality import PARTS, QualityConfig, assess

CFG = QualityConfig(target_size=(90, 120))


def product_photo(size=(90, 120), bg=(255, 255, 255), box=None, colour=(180, 40, 40), seed=0) -> Image.Image:
    """A striped product (so it has edges to be sharp) on a plain backdrop with a little sensor noise."""
    w, h = size
    rng = np.random.default_rng(seed)
    arr = np.empty((h, w, 3), dtype=np.float32)
    arr[:] = bg
    x0, y0, x1, y1 = box or (w // 4, h // 5, 3 * w // 4, 4 * h // 5)
    stripes = (np.arange(y1 - y0) // 3 % 2 * 50 - 25)[:, None, None]  # (bh, 1, 1)
    arr[y0:y1, x0:x1] = np.asarray(colour, dtype=np.float32) + stripes
    arr += rng.normal(0, 1.5, arr.shape)
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))


def test_report_shape_and_range():
    report = assess(product_photo(), CFG)
    assert set(report.parts) == set(PARTS)
    assert 0 <= report.score <= 100
    assert all(0 <= p.score <= 100 and p.measured for p in report.parts.values())
    json.dumps(report.to_dict())  # storable as JSON next to the image


def test_a_clean_photo_has_no_reasons():
    report = assess(product_photo(), CFG)
    assert report.reasons == []
    assert report.score > 85


def test_dark_photo_scores_lower_exposure():
    photo = product_photo()
    dark = Image.fromarray((np.asarray(photo) * 0.35).astype(np.uint8))
    good, bad = assess(photo, CFG), assess(dark, CFG)
    assert bad.parts["exposure"].score < good.parts["exposure"].score - 20
    assert "dark" in bad.reasons and "dark" not in good.reasons


def test_blurred_photo_scores_lower_sharpness():
    photo = product_photo()
    blurred = photo.filter(ImageFilter.GaussianBlur(2))
    good, bad = assess(photo, CFG), assess(blurred, CFG)
    assert bad.parts["sharpness"].score < good.parts["sharpness"].score - 20
    assert bad.parts["sharpness"].measured["laplacian_var"] < good.parts["sharpness"].measured["laplacian_var"]
    assert "blurry" in bad.reasons and "blurry" not in good.reasons


def test_off_centre_product_scores_lower_centring():
    centred = product_photo(box=(30, 40, 60, 80))
    shifted = product_photo(box=(2, 4, 32, 44))
    good, bad = assess(centred, CFG), assess(shifted, CFG)
    assert bad.parts["centring"].score < good.parts["centring"].score - 30
    assert "off-centre" in bad.reasons and "off-centre" not in good.reasons


def test_grey_background_scores_lower_and_says_so():
    white, grey = assess(product_photo(), CFG), assess(product_photo(bg=(225, 225, 225)), CFG)
    assert grey.parts["background"].score < white.parts["background"].score - 15
    assert grey.parts["background"].measured["distance_from_white"] == pytest.approx(30, abs=3)
    assert "grey background" in grey.reasons and "grey background" not in white.reasons


def test_small_image_is_too_small():
    big = assess(product_photo(), CFG)
    small = assess(product_photo().resize((45, 60), Image.Resampling.LANCZOS), CFG)
    assert small.parts["resolution"].score < big.parts["resolution"].score
    assert "too small" in small.reasons and "too small" not in big.reasons


def test_coverage_reacts_to_product_size():
    tiny = assess(product_photo(box=(40, 54, 50, 66)), CFG)
    assert tiny.parts["coverage"].measured["coverage"] < 0.05
    assert tiny.parts["coverage"].score < assess(product_photo(), CFG).parts["coverage"].score


def test_weights_are_configurable():
    photo = product_photo(bg=(225, 225, 225))
    only_bg = QualityConfig(target_size=(90, 120), weights={"background": 1.0})
    assert assess(photo, only_bg).score == assess(photo, CFG).parts["background"].score


def test_deterministic():
    photo = product_photo(seed=3)
    assert assess(photo, CFG) == assess(photo, CFG)


@pytest.mark.parametrize("mode", ["P", "LA", "RGBA", "CMYK", "L", "I;16", "1"])
def test_odd_modes_are_accepted(mode):
    photo = product_photo()
    image = photo.convert("L").convert("I;16") if mode == "I;16" else photo.convert(mode)
    report = assess(image, CFG)
    assert 0 <= report.score <= 100
