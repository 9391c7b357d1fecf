"""Model-free flaws of a result: lost detail, a change that covers two garments, bands of colour on smooth areas."""
import numpy as np
from PIL import Image

from ml.flaws import banding, changed_regions, sharpness_ratio


def textured(size=(90, 120), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    arr = np.full((size[1], size[0], 3), 235, np.uint8)
    arr[10:-10, 15:-15] = np.clip(rng.normal(110, 35, (size[1] - 20, size[0] - 30, 3)), 0, 255)
    return Image.fromarray(arr)


def two_garments(top=(180, 40, 40), bottom=(40, 60, 150), size=(90, 160)) -> Image.Image:
    w, h = size
    arr = np.full((h, w, 3), 245, np.uint8)
    arr[10:70, 15:75] = top
    arr[80:150, 20:70] = bottom
    return Image.fromarray(arr)


def test_a_stretched_low_resolution_rendition_keeps_little_detail():
    photo = textured()
    stretched = photo.resize((12, 16), Image.Resampling.BOX).resize(photo.size, Image.Resampling.BICUBIC)
    assert sharpness_ratio(photo, stretched) < 0.3
    shifted = Image.fromarray(np.asarray(photo)[..., ::-1].copy())  # the same detail in other colours
    assert sharpness_ratio(photo, shifted) > 0.8
    assert sharpness_ratio(Image.new("RGB", (90, 120), "white"), stretched) == 1.0  # nothing to lose


def test_two_garments_changed_are_found_one_above_the_other():
    before = two_garments()
    both = two_garments(top=(40, 160, 60), bottom=(150, 140, 30))
    regions = changed_regions(before, both)
    assert regions["apart"] > 0.3 and regions["minor_share"] > 0.3 and regions["colour_gap"] > 0.1
    only_top = two_garments(top=(40, 160, 60))
    assert changed_regions(before, only_top)["apart"] < 0.05


def test_a_two_colour_pattern_changed_together_is_one_region():
    stripes = np.full((160, 90, 3), 245, np.uint8)
    stripes[10:150, 15:75] = (200, 200, 200)
    stripes[10:150:6, 15:75] = (30, 40, 160)
    changed = stripes.copy()
    changed[10:150, 15:75] = (230, 200, 200)
    changed[10:150:6, 15:75] = (160, 30, 40)
    regions = changed_regions(Image.fromarray(stripes), Image.fromarray(changed))
    assert regions["minor_share"] > 0.1 and regions["apart"] < 0.05


def test_nothing_changed_is_no_region():
    photo = two_garments()
    assert changed_regions(photo, photo.copy()) == {"minor_share": 0.0, "colour_gap": 0.0, "apart": 0.0}


# ---- banding: bands and blotches where the source is smooth --------------------------------------------------

def _gradient(colour_top, colour_bottom, size=(60, 80)) -> Image.Image:
    w, h = size
    t = np.linspace(0, 1, h)[:, None, None]
    arr = (1 - t) * np.array(colour_top, np.float64) + t * np.array(colour_bottom, np.float64)
    return Image.fromarray(np.broadcast_to(arr, (h, w, 3)).round().astype(np.uint8))


def test_a_smooth_recolour_of_a_smooth_product_shows_no_banding():
    source = _gradient((150, 150, 150), (120, 120, 120))
    result = _gradient((170, 60, 60), (140, 45, 45))
    ratio = banding(source, result, np.ones((80, 60), bool))
    assert ratio is not None and ratio < 1.5


def test_posterised_bands_of_colour_are_measured_as_banding():
    source = _gradient((150, 150, 150), (120, 120, 120))
    arr = np.asarray(_gradient((170, 60, 60), (140, 45, 45))).copy()
    arr[(np.arange(80) // 6) % 2 == 1] = (150, 80, 40)  # every other band of 6 rows another hue
    ratio = banding(source, Image.fromarray(arr), np.ones((80, 60), bool))
    assert ratio is not None and ratio > 1.5


def test_banding_is_not_measured_on_a_region_without_smooth_pixels():
    rng = np.random.default_rng(0)
    noisy = Image.fromarray(rng.integers(0, 255, (80, 60, 3), dtype=np.uint8))
    assert banding(noisy, noisy, np.ones((80, 60), bool)) is None
