import numpy as np
import pytest

from ml.metrics import gaussian_window, luminance, psnr, ssim, structure_ssim


def smooth_image(h=48, w=40, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = 0.5 + 0.3 * np.sin(6 * xx + 3 * yy)[..., None] * np.array([1.0, 0.6, 0.2])
    return np.clip(base + 0.02 * rng.standard_normal((h, w, 3)), 0, 1)


def test_identical_images():
    a = smooth_image()
    assert ssim(a, a) == pytest.approx(1.0)
    assert psnr(a, a) == float("inf")


def test_psnr_matches_known_value():
    a = np.zeros((10, 10, 3))
    b = a + 0.1  # mse 0.01 -> 20 dB
    assert psnr(a, b) == pytest.approx(20.0)
    assert psnr((a * 255).astype(np.uint8), (b * 255 + 0.5).astype(np.uint8)) == pytest.approx(20.0, abs=0.2)


def test_noise_lowers_both_and_more_noise_lowers_more():
    a = smooth_image()
    rng = np.random.default_rng(1)
    light = np.clip(a + 0.03 * rng.standard_normal(a.shape), 0, 1)
    heavy = np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1)
    assert 1.0 > ssim(a, light) > ssim(a, heavy) > 0.0
    assert psnr(a, light) > psnr(a, heavy)


def test_ssim_is_symmetric_and_sees_brightness_shift():
    a, b = smooth_image(), smooth_image(seed=3)
    assert ssim(a, b) == pytest.approx(ssim(b, a))
    dark = a * 0.3
    assert ssim(a, dark) < 0.9  # the luminance term sees the shift
    assert structure_ssim(a, np.clip(a + 0.2, 0, 1)) > 0.99  # a pure offset keeps the structure


def test_ssim_known_value_for_constant_images():
    a, b = np.full((20, 20), 0.5), np.full((20, 20), 0.25)
    c1 = 0.01**2
    expected = (2 * 0.5 * 0.25 + c1) / (0.25 + 0.0625 + c1)
    assert ssim(a, b) == pytest.approx(expected)


def test_luminance_weights_and_window():
    assert luminance(np.ones((2, 2, 3))) == pytest.approx(np.ones((2, 2)))
    assert luminance(np.array([[[1.0, 0, 0]]]))[0, 0] == pytest.approx(0.299)
    w = gaussian_window()
    assert w.sum() == pytest.approx(1.0) and w.argmax() == 5


def test_small_images_and_shape_mismatch():
    a = smooth_image(8, 6)
    assert ssim(a, a) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        ssim(a, smooth_image(9, 6))
