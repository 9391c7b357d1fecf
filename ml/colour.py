"""Colour science for recolouring and for judging it: sRGB <-> OKLab, sRGB -> CIELAB, and CIEDE2000.

OKLab (Ottosson 2020) is where recolouring happens: its lightness L follows perceived lightness and its (a, b)
plane is hue-linear, so a product's shading can be kept in L while its chroma is replaced. CIELAB and ΔE00
(Sharma, Wu and Dalal 2005) are how a change is measured: a ΔE00 under about 2 is invisible to most people.
All functions take float arrays (..., 3); sRGB values are in [0, 1].
"""
from __future__ import annotations

import numpy as np

_M1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                [0.2119034982, 0.6806995451, 0.1073969566],
                [0.0883024619, 0.2817188376, 0.6299787005]])
_M2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                [1.9779984951, -2.4285922050, 0.4505937099],
                [0.0259040371, 0.7827717662, -0.8086757660]])
_M1_INV, _M2_INV = np.linalg.inv(_M1), np.linalg.inv(_M2)
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])


def srgb_to_linear(rgb: np.ndarray, dtype=np.float64) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=dtype)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, None)
    return np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.power(lin, 1 / 2.4) - 0.055)


def srgb_to_oklab(rgb: np.ndarray, dtype=np.float64) -> np.ndarray:
    """sRGB (..., 3) in [0, 1] -> OKLab (..., 3): L in [0, 1], a and b about [-0.3, 0.3]. dtype float32 halves
    the time on a large photo (to about 1e-6)."""
    lms = srgb_to_linear(rgb, dtype) @ _M1.T.astype(dtype)
    return np.cbrt(lms) @ _M2.T.astype(dtype)


def oklab_to_srgb(lab: np.ndarray, dtype=np.float64) -> np.ndarray:
    """OKLab (..., 3) -> sRGB (..., 3), clipped to [0, 1] (out-of-gamut colours are clipped per channel)."""
    lms = (np.asarray(lab, dtype=dtype) @ _M2_INV.T.astype(dtype)) ** 3
    return np.clip(linear_to_srgb(lms @ _M1_INV.T.astype(dtype)), 0.0, 1.0)


def srgb_to_cielab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (..., 3) in [0, 1] -> CIELAB (..., 3) under D65: L* in [0, 100]."""
    xyz = srgb_to_linear(rgb) @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference of CIELAB arrays (..., 3) -> (...)."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = np.degrees(np.arctan2(b1, a1p)) % 360, np.degrees(np.arctan2(b2, a2p)) % 360
    dl, dc = L2 - L1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dH = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    l_bar, cp_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    hsum = h1p + h2p
    h_bar = np.where(np.abs(h1p - h2p) > 180, np.where(hsum < 360, hsum + 360, hsum - 360), hsum) / 2
    h_bar = np.where(c1p * c2p == 0, hsum, h_bar)
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * cp_bar, 1 + 0.015 * cp_bar * t
    r_t = (-2 * np.sqrt(cp_bar**7 / (cp_bar**7 + 25.0**7))
           * np.sin(np.radians(60 * np.exp(-(((h_bar - 275) / 25) ** 2)))))
    return np.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dH / s_h) ** 2 + r_t * (dc / s_c) * (dH / s_h))


def delta_e_rgb(rgb1: np.ndarray, rgb2: np.ndarray) -> np.ndarray:
    """ΔE00 between two sRGB arrays (..., 3) in [0, 1]."""
    return delta_e2000(srgb_to_cielab(rgb1), srgb_to_cielab(rgb2))


def _cielab_to_linear(lab: np.ndarray) -> np.ndarray:
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    xyz = np.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29)) * _WHITE_D65
    return xyz @ np.linalg.inv(_RGB_TO_XYZ).T


def cielab_to_oklab(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3) -> OKLab (..., 3) through linear sRGB, without clipping (out-of-gamut colours survive)."""
    return np.cbrt(_cielab_to_linear(lab) @ _M1.T) @ _M2.T


def oklab_to_cielab(lab: np.ndarray) -> np.ndarray:
    """OKLab (..., 3) -> CIELAB (..., 3) through linear sRGB, without clipping."""
    lin = ((np.asarray(lab, dtype=np.float64) @ _M2_INV.T) ** 3) @ _M1_INV.T
    xyz = lin @ _RGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def parse_hex(text: str) -> tuple[int, int, int]:
    """"#1F3A5F" or "1f3a5f" -> (31, 58, 95); ValueError for anything else (3-digit shorthand included)."""
    value = str(text).strip().lstrip("#")
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise ValueError(f"{str(text)[:40]!r} is not a colour: write it as #rrggbb, e.g. #1f3a5f")
    return tuple(int(value[i: i + 2], 16) for i in (0, 2, 4))


def to_hex(rgb) -> str:
    """(r, g, b) ints 0-255 or floats in [0, 1] (detected by dtype) -> "#rrggbb"."""
    arr = np.asarray(rgb)
    if arr.dtype.kind == "f":
        arr = np.clip(arr * 255 + 0.5, 0, 255)
    return "#" + "".join(f"{int(c):02x}" for c in arr.astype(int)[:3])
