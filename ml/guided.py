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
