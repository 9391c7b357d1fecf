"""Image-quality figures on NumPy arrays: SSIM (Wang et al. 2004) and PSNR.

Arrays are float in [0, 1] (uint8 is accepted and scaled), shape (h, w) or (h, w, 3). SSIM is computed on
luminance with an 11x11 Gaussian window (sigma 1.5) over the 'valid' region, as in the paper's reference code.
"""
from __future__ import annotations

import numpy as np

REC601 = np.array([0.299, 0.587, 0.114])  # the weights of Pillow's RGB -> L conversion
K1, K2 = 0.01, 0.03  # the paper's stabilising constants, for a data range of 1


def as_float(a: np.ndarray) -> np.ndarray:
    """uint8 -> float64 in [0, 1]; float arrays are taken as already in [0, 1]."""
    a = np.asarray(a)
    return a.astype(np.float64) / 255.0 if a.dtype == np.uint8 else a.astype(np.float64)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) RGB -> (h, w) luma (Rec. 601); (h, w) and (h, w, 1) pass through."""
    rgb = as_float(rgb)
    if rgb.ndim == 2:
        return rgb
    return rgb[..., 0] if rgb.shape[-1] == 1 else rgb[..., :3] @ REC601


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    w = np.exp(-(x**2) / (2 * sigma**2))
    return w / w.sum()


def _filter_valid(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering of a (h, w) array with the 1-D window w along both axes."""
    k = len(w)
    rows = sum(w[i] * x[i : x.shape[0] - k + 1 + i] for i in range(k))
    return sum(w[i] * rows[:, i : rows.shape[1] - k + 1 + i] for i in range(k))


def ssim_maps(a: np.ndarray, b: np.ndarray, window: int = 11, sigma: float = 1.5):
    """The SSIM luminance map l and contrast-structure map cs of two images' luminance (SSIM = l * cs)."""
    x, y = luminance(a), luminance(b)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    window = min(window, *x.shape)
    window -= 1 - window % 2  # small images: the largest odd window that fits
    w = gaussian_window(window, sigma)
    mx, my = _filter_valid(x, w), _filter_valid(y, w)
    vx = _filter_valid(x * x, w) - mx * mx
    vy = _filter_valid(y * y, w) - my * my
    cov = _filter_valid(x * y, w) - mx * my
    c1, c2 = K1**2, K2**2
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    cs = (2 * cov + c2) / (vx + vy + c2)
    return lum, cs


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of the luminance of a and b: 1.0 for identical images, lower as they differ."""
    lum, cs = ssim_maps(a, b)
    return float(np.mean(lum * cs))


def structure_ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of SSIM's contrast-structure term only: blind to a change of brightness, not to lost detail."""
    return float(np.mean(ssim_maps(a, b)[1]))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for data in [0, 1] (all channels); inf for identical images."""
    x, y = as_float(a), as_float(b)
    if x.shape != y.shape:
        raise ValueError(f"shapes differ: {x.shape} vs {y.shape}")
    mse = float(np.mean((x - y) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)
