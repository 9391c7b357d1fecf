import numpy as np
from PIL import Image, ImageDraw

from ml.guided import apply_lowres_change, box_mean
from ml.images import fit, to_array


def make_product(size=(240, 320), colour=(200, 30, 30)):
    im = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.rectangle([60, 80, 180, 260], fill=colour)
    for y in range(90, 250, 6):  # fine stripes: detail a 64x48 thumbnail cannot hold
        d.line([(60, y), (180, y)], fill=tuple(c // 2 for c in colour))
    return im


def stripe_contrast(arr):
    return np.abs(np.diff(arr[92:240, 120].mean(axis=1))).mean()


def test_box_mean_matches_direct_mean():
    x = np.random.default_rng(0).random((7, 9, 2))
    m = box_mean(x, 1)
    assert np.allclose(m[3, 4], x[2:5, 3:6].mean(axis=(0, 1)))
    assert np.allclose(m[0, 0], x[0:2, 0:2].mean(axis=(0, 1)))


def test_null_change_returns_the_original():
    im = make_product()
    low = to_array(fit(im, 64, 48))
    out = apply_lowres_change(im, low, low.copy())
    diff = np.abs(np.asarray(out, dtype=int) - np.asarray(im, dtype=int))
    assert out.size == im.size and diff.max() <= 1


def test_colour_change_keeps_full_resolution_detail():
    im = make_product()
    low = to_array(fit(im, 64, 48))
    target = to_array(fit(make_product(colour=(30, 30, 200)), 64, 48))
    out = np.asarray(apply_lowres_change(im, low, target), dtype=float)
    body = out[150:200, 100:140]
    assert body[..., 2].mean() > body[..., 0].mean() + 60  # now blue
    # the one-pixel stripes survive, unlike in a stretched thumbnail
    naive = np.asarray(fit(make_product(colour=(30, 30, 200)), 64, 48).resize(im.size), dtype=float)
    assert stripe_contrast(out) > 3 * stripe_contrast(naive)
    assert np.abs(out[10:40, 10:40] - 255).max() < 8  # background stays white


def test_non_matching_aspect_original_is_cropped_back():
    im = make_product(size=(300, 300))
    low = to_array(fit(im, 64, 48))
    assert apply_lowres_change(im, low, low).size == (300, 300)


# ---- chroma transfer ----------------------------------------------------------------------------------------

def striped_shirt(colour=(200, 30, 30), skin=None):
    """A coloured block with wide white stripes on a white backdrop (and optionally a skin-coloured 'arm')."""
    im = Image.new("RGB", (240, 320), (255, 255, 255))
    d = ImageDraw.Draw(im)
    d.rectangle([60, 80, 180, 260], fill=colour)
    for y in range(100, 250, 24):
        d.rectangle([60, y, 180, y + 8], fill=(255, 255, 255))
    if skin:
        d.rectangle([190, 80, 215, 200], fill=skin)
    return im


def lowres_pair(im, to_rgb_colour):
    """(before, after) thumbnails as a blurry generator would draw them: the whole product in one new colour."""
    before = to_array(fit(im, 64, 48)).astype(np.float64)
    after = before.copy()
    product = np.abs(before - 1.0).max(axis=2) > 0.1
    after[product] = np.asarray(to_rgb_colour) / 255.0  # stripes and all: the generator cannot resolve them
    return before, after


def test_chroma_transfer_recolours_the_colour_and_keeps_white_stripes_and_backdrop_white():
    from ml.guided import apply_lowres_chroma_change

    im = striped_shirt()
    before, after = lowres_pair(im, (40, 60, 200))
    out = np.asarray(apply_lowres_chroma_change(im, before, after), dtype=np.int64)
    red_pixel, stripe_pixel = out[90, 120], out[104, 120]
    assert red_pixel[2] > red_pixel[0] + 60  # the red fabric turned blue
    assert (stripe_pixel > 235).all()  # white stripes stay white (the affine transfer tints them)
    assert (out[20, 20] == 255).all() and (out[300, 230] == 255).all()  # backdrop untouched: no halo
    affine = np.asarray(apply_lowres_change(im, before, after), dtype=np.int64)
    assert np.abs(affine[104, 120] - 255).max() > np.abs(stripe_pixel - 255).max()


def test_chroma_transfer_leaves_colours_far_from_the_products_hue_alone():
    from ml.guided import apply_lowres_chroma_change

    im = striped_shirt(colour=(120, 170, 230), skin=(225, 170, 130))  # a light-blue shirt beside skin
    before, after = lowres_pair(im, (90, 90, 90))
    out = np.asarray(apply_lowres_chroma_change(im, before, after), dtype=np.int64)
    assert np.abs(out[140, 202] - np.array([225, 170, 130])).max() <= 6  # the 'arm' keeps its colour
    shirt = out[90, 120]
    assert shirt.max() - shirt.min() < 40  # the shirt itself lost most of its blue


def test_chroma_transfer_declines_an_achromatic_product():
    from ml.guided import apply_lowres_chroma_change

    im = striped_shirt(colour=(30, 30, 32))  # black
    before, after = lowres_pair(im, (200, 30, 30))
    assert apply_lowres_chroma_change(im, before, after) is None
