"""Exact colour targets: hex parsing, a product's colour parts, recolouring to a measured colour, halo-free edges."""
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from ml.colour import (cielab_to_oklab, delta_e2000, delta_e_rgb, oklab_to_cielab, parse_hex, srgb_to_cielab,
                       srgb_to_oklab, to_hex)
from ml.colour_parts import colour_parts
from ml.cutout import cutout
from ml.exact_colour import recolour_to, region_colour
from ml.foreground import estimate_foreground, fringe
from ml.masker import ProductMask

SIZE = (60, 80)  # w, h


def two_tone(body=(200, 40, 40), trim=(240, 240, 240), backdrop=(255, 255, 255), shaded=True) -> Image.Image:
    """A 'shirt': a body colour with lightness folds, a trim band of another colour, on a plain backdrop."""
    w, h = SIZE
    arr = np.tile(np.array(backdrop, np.float32), (h, w, 1))
    folds = 1 + (0.12 * np.sin(np.arange(w) / 3.0))[None, :, None] if shaded else 1.0
    body_px = np.array(body, np.float32) * folds
    arr[16:64, 12:48] = np.broadcast_to(body_px, (h, w, 3))[16:64, 12:48]
    arr[50:58, 12:48] = trim
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def exact_mask() -> ProductMask:
    w, h = SIZE
    alpha = np.zeros((h, w), np.float32)
    alpha[16:64, 12:48] = 1
    return ProductMask(alpha, np.zeros_like(alpha))


def region_delta(result: Image.Image, region: np.ndarray, rgb) -> float:
    """ΔE00 between rgb and the region's mean CIELAB colour, measured here independently of the module."""
    lab = srgb_to_cielab(np.asarray(result, np.float64) / 255)[region].mean(axis=0)
    return float(delta_e2000(lab, srgb_to_cielab(np.array(rgb) / 255)))


# ---- colour helpers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, rgb", [("#1F3A5F", (31, 58, 95)), ("1f3a5f", (31, 58, 95)), (" #ffffff ", (255,) * 3)])
def test_a_hex_colour_parses(text, rgb):
    assert parse_hex(text) == rgb and to_hex(rgb) == f"#{''.join(f'{c:02x}' for c in rgb)}"


@pytest.mark.parametrize("text", ["#12345", "#12345g", "navy", "#1F3A5F0", "", "#fff"])
def test_a_string_that_is_not_a_hex_colour_is_refused_saying_how_to_write_one(text):
    with pytest.raises(ValueError, match="#rrggbb"):
        parse_hex(text)


def test_cielab_and_oklab_convert_both_ways():
    rgb = np.random.default_rng(0).random((50, 3))
    lab = srgb_to_cielab(rgb)
    assert np.allclose(cielab_to_oklab(lab), srgb_to_oklab(rgb), atol=1e-9)
    assert np.allclose(oklab_to_cielab(srgb_to_oklab(rgb)), lab, atol=1e-6)


# ---- parts -------------------------------------------------------------------------------------------------------

def test_a_two_tone_product_has_two_parts_largest_first_with_their_shares():
    parts = colour_parts(two_tone(), exact_mask())
    assert len(parts) == 2 and [p.index for p in parts] == [0, 1]
    assert parts[0].share == pytest.approx(40 / 48, abs=0.05) and parts[1].share == pytest.approx(8 / 48, abs=0.05)
    assert delta_e_rgb(np.array(parse_hex(parts[1].colour)) / 255, np.array([240, 240, 240]) / 255) < 2
    assert parts[0].main and not parts[1].main  # no labelled colour: the largest


def test_a_product_without_pixels_has_no_parts():
    empty = ProductMask(np.zeros((SIZE[1], SIZE[0]), np.float32), np.zeros((SIZE[1], SIZE[0]), np.float32))
    assert colour_parts(two_tone(), empty) == []


# ---- recolouring to an exact colour ------------------------------------------------------------------------------

@pytest.mark.parametrize("body, target", [
    ((200, 40, 40), (31, 58, 95)),  # a hue and lightness change
    ((235, 235, 230), (31, 58, 95)),  # light to dark
    ((30, 30, 32), (230, 200, 60)),  # dark to light
    ((40, 120, 60), (250, 250, 250)),  # to white: the shading is clipped at the top, and corrected for
])
def test_the_changed_region_lands_on_the_target_colour(body, target):
    source = two_tone(body=body, trim=(20, 20, 200))
    result, figures = recolour_to(source, exact_mask(), target)
    region = np.zeros((SIZE[1], SIZE[0]), bool)
    region[16:50, 12:48] = True  # the body without its trim
    assert region_delta(result, region, target) < 1.5
    assert figures["delta_e_target"] == pytest.approx(region_delta(result, region, target), abs=0.7)
    before = np.asarray(source)
    after = np.asarray(result)
    assert np.array_equal(after[:16], before[:16]) and np.array_equal(after[:, :12], before[:, :12])  # bit for bit
    assert np.abs(after[52:56, 14:46].astype(int) - before[52:56, 14:46]).max() <= 2  # the trim keeps its colour


def test_the_folds_survive_the_recolour():
    source = two_tone(body=(200, 40, 40))
    result, _ = recolour_to(source, exact_mask(), (31, 58, 95))
    before = srgb_to_cielab(np.asarray(source, np.float64)[20:48, 12:48] / 255)[..., 0].mean(axis=0)
    after = srgb_to_cielab(np.asarray(result, np.float64)[20:48, 12:48] / 255)[..., 0].mean(axis=0)
    assert np.corrcoef(before, after)[0, 1] > 0.95 and after.std() > 0.5 * before.std()


def test_a_chosen_part_changes_and_the_main_colour_stays():
    source = two_tone(body=(200, 40, 40), trim=(240, 240, 240))
    result, figures = recolour_to(source, exact_mask(), (31, 58, 95), parts=[1])
    after, before = np.asarray(result).astype(int), np.asarray(source).astype(int)
    assert figures["parts"] == [1]
    assert np.abs(after[20:46, 14:46] - before[20:46, 14:46]).max() <= 2  # the red body is untouched
    trim = np.zeros((SIZE[1], SIZE[0]), bool)
    trim[51:57, 13:47] = True
    assert region_delta(result, trim, (31, 58, 95)) < 2


def test_a_part_that_does_not_exist_is_refused_naming_the_parts_there_are():
    with pytest.raises(IndexError, match="part 5 does not exist: this product has 2 colour parts"):
        recolour_to(two_tone(), exact_mask(), (31, 58, 95), parts=[5])


def test_a_swatchs_colour_is_its_regions_mean_colour():
    source = two_tone(body=(31, 58, 95), shaded=False)
    weight = np.ones((10, 10), np.float32)
    assert region_colour(source.crop((20, 20, 30, 30)), weight) == (31, 58, 95)


# ---- halo-free edges -----------------------------------------------------------------------------------------

def soft_edged(colour=(200, 40, 40), backdrop=(250, 250, 250)):
    """A disc whose edge is a real mix of product and backdrop, and its true alpha."""
    w, h = 80, 80
    alpha_im = Image.new("L", (w * 4, h * 4), 0)
    ImageDraw.Draw(alpha_im).ellipse([60, 60, 260, 260], fill=255)
    alpha = np.asarray(alpha_im.resize((w, h), Image.Resampling.BOX).filter(ImageFilter.GaussianBlur(1)),
                       np.float32) / 255
    rgb = alpha[..., None] * np.array(colour) / 255 + (1 - alpha[..., None]) * np.array(backdrop) / 255
    return rgb.astype(np.float32), alpha


def test_the_foreground_of_a_soft_edge_is_the_products_colour_not_the_backdrops():
    rgb, alpha = soft_edged()
    fore, back = estimate_foreground(rgb, alpha)
    edge = (alpha > 0.1) & (alpha < 0.9)
    assert edge.sum() > 50
    assert np.median(delta_e_rgb(fore[edge], np.array([200, 40, 40]) / 255)) < 3
    assert np.median(delta_e_rgb(rgb[edge], np.array([200, 40, 40]) / 255)) > 10  # the photo's own edge is mixed
    assert np.median(delta_e_rgb(back[edge], np.array([250, 250, 250]) / 255)) < 3


def test_a_cut_out_carries_no_fringe_of_the_old_backdrop():
    rgb, alpha = soft_edged(backdrop=(120, 200, 120))  # a green paper, to make any fringe obvious
    raw = fringe(rgb, alpha)
    image = Image.fromarray((rgb * 255 + 0.5).astype(np.uint8))
    cut = np.asarray(cutout(image, ProductMask(alpha, np.zeros_like(alpha)), "transparent"), np.float32) / 255
    assert raw > 3 and fringe(cut[..., :3], cut[..., 3]) < 1


def test_a_recoloured_edge_blends_into_the_backdrop_without_a_pale_line():
    rgb, alpha = soft_edged(colour=(230, 230, 225), backdrop=(255, 255, 255))
    image = Image.fromarray((rgb * 255 + 0.5).astype(np.uint8))
    result, _ = recolour_to(image, ProductMask(alpha, np.zeros_like(alpha)), (31, 58, 95))
    out = np.asarray(result, np.float32) / 255
    expected = alpha[..., None] * np.array([31, 58, 95]) / 255 + (1 - alpha[..., None])
    edge = (alpha > 0.3) & (alpha < 0.9)
    assert np.median(delta_e_rgb(out[edge], expected[edge])) < 6
