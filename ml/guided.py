"""Deliver a low-resolution change at the original's resolution (guided upsampling).

A model edits a 64x48 thumbnail. Instead of stretching its output, we fit, at low resolution, a local affine
colour transform that maps the thumbnail of the original onto the edited thumbnail (a colour guided filter,
He et al. 2010, regularised towards the identity), upsample the transform's coefficients bilinearly (fast
guided filter / bilateral guided upsampling, Chen et al. 2016), and apply them to the full-size original. The
result keeps the original's edges, texture and text; only colour changes, smoothly varying in space.

A null change (edited == before) gives back the original exactly, since the ridge pulls towards identity.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .images import pad_to_aspect, to_rgb


def box_mean(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, clipped at the borders. x: (h, w, ...)."""
    h, w = x.shape[:2]
    c = np.cumsum(np.cumsum(np.pad(x, [(1, 0), (1, 0)] + [(0, 0)] * (x.ndim - 2)), 0), 1)
    y0, y1 = np.clip(np.arange(h) - r, 0, h), np.clip(np.arange(h) + r + 1, 0, h)
    x0, x1 = np.clip(np.arange(w) - r, 0, w), np.clip(np.arange(w) + r + 1, 0, w)
    s = c[y1][:, x1] - c[y0][:, x1] - c[y1][:, x0] + c[y0][:, x0]
    n = ((y1 - y0)[:, None] * (x1 - x0)[None, :]).astype(x.dtype)
    return s / n.reshape(n.shape + (1,) * (x.ndim - 2))


def sharpen(alpha: np.ndarray, width: float = 0.3) -> np.ndarray:
    """Steepen a soft alpha around 0.5 (an upsampled low-resolution mask is blurrier than a real edge)."""
    t = np.clip((alpha - 0.5) / width + 0.5, 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def fit_local_affine(guide: np.ndarray, target: np.ndarray, radius: int = 2, eps: float = 1e-3):
    """Per-pixel A (h, w, 3, 3), b (h, w, 3) with target ~= A @ guide + b in each window.

    Ridge towards the identity: where the guide is flat, A -> I and b carries the mean colour shift.
    """
    g, t = guide.astype(np.float64), target.astype(np.float64)
    mg, mt = box_mean(g, radius), box_mean(t, radius)
    cov_gg = box_mean(g[..., :, None] * g[..., None, :], radius) - mg[..., :, None] * mg[..., None, :]
    cov_tg = box_mean(t[..., :, None] * g[..., None, :], radius) - mt[..., :, None] * mg[..., None, :]
    eye = np.eye(3)
    # A (Σ + eps I) = cov_tg + eps I  ->  solve the transposed system per pixel
    lhs = cov_gg + eps * eye
    rhs = np.swapaxes(cov_tg + eps * eye, -1, -2)
    A = np.swapaxes(np.linalg.solve(lhs, rhs), -1, -2)
    b = mt - np.einsum("hwij,hwj->hwi", A, mg)
    # average the coefficients of overlapping windows (the guided filter's second step)
    return box_mean(A, radius), box_mean(b, radius)


def _resize_coeffs(coeffs: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear upsampling of a (h, w, k) float array to (H, W, k); size is (W, H)."""
    h, w, k = coeffs.shape
    flat = coeffs.reshape(h, w, k).astype(np.float32)
    out = np.empty((size[1], size[0], k), dtype=np.float32)
    for i in range(k):
        out[..., i] = np.asarray(Image.fromarray(flat[..., i], mode="F").resize(size, Image.Resampling.BILINEAR))
    return out


def apply_local_affine(image: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Apply low-res coefficients to a full-res float image (H, W, 3) in [0, 1]."""
    H, W = image.shape[:2]
    A_up = _resize_coeffs(A.reshape(*A.shape[:2], 9), (W, H)).reshape(H, W, 3, 3)
    b_up = _resize_coeffs(b, (W, H))
    return np.clip(np.einsum("hwij,hwj->hwi", A_up, image.astype(np.float32)) + b_up, 0.0, 1.0)


def apply_lowres_change(
    original: Image.Image,
    low_before: np.ndarray,
    low_after: np.ndarray,
    radius: int = 2,
    eps: float = 1e-3,
) -> Image.Image:
    """Transfer the change low_before -> low_after (float (h, w, 3) in [0, 1]) onto the full-size original.

    low_before is what the model saw or reconstructed of the original at its own resolution and aspect;
    the change (after - before) is added to the real thumbnail, so reconstruction error is not transferred.
    Returns an RGB image of the original's size.
    """
    original = to_rgb(original)
    h, w = low_before.shape[:2]
    padded = pad_to_aspect(original, w / h)
    low_orig = np.asarray(padded.resize((w, h), Image.Resampling.BOX), dtype=np.float64) / 255.0
    target = np.clip(low_orig + (low_after[..., :3] - low_before[..., :3]), 0.0, 1.0)
    A, b = fit_local_affine(low_orig, target, radius, eps)
    full = np.asarray(padded, dtype=np.float32) / 255.0
    out = Image.fromarray((apply_local_affine(full, A, b) * 255 + 0.5).astype(np.uint8))
    ox, oy = (padded.width - original.width) // 2, (padded.height - original.height) // 2
    return out.crop((ox, oy, ox + original.width, oy + original.height))


# ---- chroma transfer: recolour what is coloured, leave white and grey alone -------------------------------

def _ycc(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB (..., 3) in [0, 1] -> luma Y (...) and chroma Cb + i Cr (...) as a complex array (BT.601)."""
    y = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return y, (rgb[..., 2] - y) * 0.564 + 1j * (rgb[..., 0] - y) * 0.713


def _rgb(y: np.ndarray, c: np.ndarray) -> np.ndarray:
    r = y + c.imag / 0.713
    b = y + c.real / 0.564
    g = (y - 0.299 * r - 0.114 * b) / 0.587
    return np.stack([r, g, b], axis=-1)


def apply_lowres_chroma_change(
    original: Image.Image,
    low_before: np.ndarray,
    low_after: np.ndarray,
    radius: int = 2,
    tau: float = 0.03,
    min_chroma: float = 0.06,
    hue_cos: float = 0.5,
) -> Image.Image | None:
    """Transfer a recolouring as a local complex gain on chroma (and a luma shift weighted by chroma).

    At low resolution, fit in each window the complex k with chroma_after ~ k * chroma_before (a hue rotation
    and a saturation gain) and the luma shift; upsample both; apply k to the full-size original's own chroma.
    A white stripe, a white print or the backdrop has no chroma, so it stays as it is, and an edge pixel mixing
    product and backdrop gets the part of the change its colour carries: no halo. Returns None when the product
    is nearly achromatic (black, grey, white: nothing for a gain to act on); use `apply_lowres_change` then.
    Pixels whose hue is more than acos(hue_cos) (60 degrees) from the product's dominant hue are left alone,
    fading in over that cone, so skin beside a blue shirt keeps its colour.
    """
    original = to_rgb(original)
    h, w = low_before.shape[:2]
    padded = pad_to_aspect(original, w / h)
    yb, cb = _ycc(low_before[..., :3].astype(np.float64))
    ya, ca = _ycc(low_after[..., :3].astype(np.float64))
    strength = np.abs(cb)
    if np.percentile(strength, 90) < min_chroma:
        return None
    num = box_mean(np.stack([(ca * np.conj(cb)).real, (ca * np.conj(cb)).imag], -1), radius)
    den = np.maximum(box_mean(strength[..., None] ** 2, radius)[..., 0], 0.0) + tau**2
    k = (num[..., 0] + 1j * num[..., 1]) / den
    # luma: the shift where the window is as chromatic as the product, weighted per pixel by chroma below
    dy = box_mean((ya - yb)[..., None], radius)[..., 0]
    ref = np.sqrt(np.maximum(box_mean(strength[..., None] ** 2, radius)[..., 0], 0.0))  # cumsum rounding: >= 0
    coeffs = np.stack([k.real, k.imag, dy, ref], axis=-1)
    full = np.asarray(padded, dtype=np.float64) / 255.0
    H, W = full.shape[:2]
    up = _resize_coeffs(coeffs, (W, H)).astype(np.float64)
    y, c = _ycc(full)
    # only colours near the product's own hue take the change: skin next to a blue shirt keeps its colour
    product = strength > min_chroma
    dominant = np.sum(cb[product]) / max(np.abs(np.sum(cb[product])), 1e-9)  # unit complex: the product's hue
    cos = (c * np.conj(dominant)).real / np.maximum(np.abs(c), 1e-9)
    gate = np.clip((cos - hue_cos) / (1.0 - hue_cos), 0.0, 1.0)
    weight = gate * np.clip(np.abs(c) / np.maximum(up[..., 3], 1e-3), 0.0, 1.0)
    gain = 1.0 + gate * (up[..., 0] + 1j * up[..., 1] - 1.0)
    out = _rgb(y + weight * up[..., 2], c * gain)
    result = Image.fromarray((np.clip(out, 0.0, 1.0) * 255 + 0.5).astype(np.uint8))
    ox, oy = (padded.width - original.width) // 2, (padded.height - original.height) // 2
    return result.crop((ox, oy, ox + original.width, oy + original.height))
