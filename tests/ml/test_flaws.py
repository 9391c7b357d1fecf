"""Model-free flaws of a result: lost detail, and a change that covers two garments."""
import numpy as np
from PIL import Image

from ml.flaws import changed_regions, sharpness_ratio


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
