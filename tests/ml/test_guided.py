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
