"""Training signal for the product-mask net, for free from a studio catalogue.

Pseudo-labels: on a white or light-grey studio backdrop, `ml.backdrop.find_backdrop` says which pixels are
backdrop; the rest is foreground. Of the foreground, skin (a YCbCr skin-tone prior, Chai and Ngan 1999) and,
above a face, dark hair are labelled "person": a worn T-shirt is the product, the model wearing it is not. Where
the product's own colour is skin-like (brown, beige, tan...), skin-toned pixels are left out of the loss instead,
so a tan handbag is never taught as skin. Photos whose backdrop is not a light studio sweep are left out.

Composites: each training batch puts the foregrounds on new backdrops (flat colours, gradients, grey sweeps,
smooth noise, stripes) with the label carried along, so the net learns to cut a product off any backdrop, which
the backdrop estimate alone cannot; now and then a backdrop alone (a texture, no product) teaches "nothing here".
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .backdrop import LUMA, BackdropConfig, dilate, find_backdrop, is_light

BACKGROUND, PRODUCT, PERSON = 0, 1, 2
SKIN_LIKE = ("beige", "bronze", "brown", "camel", "coffee", "copper", "cream", "gold", "khaki", "mushroom", "mustard",
             "nude", "orange", "peach", "rose", "rust", "skin", "tan", "taupe")


def skin_like(colour: str | None) -> bool:
    """A colour name whose products can look like skin (their skin-toned pixels are not taught as person)."""
    name = (colour or "").lower()
    return any(word in name for word in SKIN_LIKE)


def skin_prior(arr: np.ndarray) -> np.ndarray:
    """(h, w) bool: skin-toned pixels of a float (h, w, 3) 0-255 array (YCbCr box of Chai and Ngan)."""
    y, cb, cr = _ycc(arr)
    r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
    return (cr > 135) & (cr < 173) & (cb > 80) & (cb < 127) & (y > 45) & (r > g) & (r > b)


def _ycc(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return y, 128 + (b - y) * 0.564, 128 + (r - y) * 0.713


def face_box(skin: np.ndarray, fg: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of a face: skin in the top third of a standing figure's foreground (taller than wide),
    narrower than half of it. None for a packshot (a red shoe's upper is not a face)."""
    ys, xs = np.nonzero(fg)
    if len(ys) == 0:
        return None
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    if bottom - top < 1.1 * (right - left):
        return None
    band = np.zeros_like(skin)
    band[top: top + max(1, (bottom - top) // 4)] = True
    face = skin & band
    if face.sum() < 0.003 * skin.size:
        return None
    fy, fx = np.nonzero(face)
    x0, x1 = np.percentile(fx, [5, 95])
    if x1 - x0 > 0.5 * (right - left):
        return None
    return int(x0), int(top), int(x1) + 1, int(np.percentile(fy, 90)) + 1


def person_prior(arr: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """(h, w) bool: the model's skin (pixels of the face's own skin tone) and hair (dark, dull pixels around and
    above the face). Empty when no face is found."""
    skin = skin_prior(arr) & fg
    box = face_box(skin, fg)
    if box is None:
        return np.zeros_like(skin)
    x0, y0, x1, y1 = box
    y, cb, cr = _ycc(arr)
    face = skin[y0:y1, x0:x1]
    cb0, cr0 = np.median(cb[y0:y1, x0:x1][face]), np.median(cr[y0:y1, x0:x1][face])
    own_tone = skin & (np.abs(cb - cb0) < 9) & (np.abs(cr - cr0) < 9)  # orange stripes are not this person
    pad = (x1 - x0) // 2
    region = np.zeros_like(skin)
    region[y0:y1, max(0, x0 - pad): x1 + pad] = True
    dull = (arr.max(axis=-1) - arr.min(axis=-1)) < 60
    return own_tone | (region & fg & ~skin & (y < 110) & dull)


def _shadow_like(arr: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """Pixels that are the backdrop's colour, only darker (0.5-0.9 of its brightness): a soft shadow, maybe."""
    ratio = (arr @ LUMA) / np.maximum(surface @ LUMA, 1.0)
    chroma = np.abs(arr - surface * ratio[..., None]).max(axis=-1)
    return (chroma < 10) & (ratio > 0.5) & (ratio < 0.9)


def pseudo_label(image: np.ndarray, colour: str | None = None, cfg: BackdropConfig | None = None):
    """Soft targets (h, w, 3) over background / product / person and a loss weight (h, w), or None.

    image: uint8 (h, w, 3). None when the photo is not on a light studio backdrop (no label can be trusted).
    """
    arr = image.astype(np.float32)
    cfg = cfg or BackdropConfig()
    bd = find_backdrop(arr, cfg)
    if not is_light(bd, cfg):
        return None
    bg = np.clip(bd.alpha, 0.0, 1.0)
    fg = bg < 0.5
    person = person_prior(arr, fg)
    weight = np.ones(bg.shape, np.float32)
    weight[dilate(bg >= 0.5, 2) & fg & _shadow_like(arr, bd.surface)] = 0.0  # a shadow or a grey sole: unsure
    if skin_like(colour):
        weight[dilate(person, 1)] = 0.0  # can't tell the product's own colour from skin: teach neither
        person = np.zeros_like(person)
    person = person.astype(np.float32) * (1 - bg)
    target = np.stack([bg, (1 - bg) - person, person], axis=-1).astype(np.float32)
    return target, weight


def label_catalogue(images: np.ndarray, colours: list[str] | None = None, size: tuple[int, int] | None = None):
    """Pseudo-label a stack of uint8 (n, H, W, 3) photos; resized to size (h, w) for training.

    Returns (images (m, h, w, 3) uint8, targets (m, h, w, 3) float32, weights (m, h, w) float32, kept indices).
    """
    keep, xs, ts, ws = [], [], [], []
    for i, image in enumerate(images):
        labelled = pseudo_label(image, colours[i] if colours else None)
        if labelled is None:
            continue
        keep.append(i)
        xs.append(image)
        ts.append(labelled[0])
        ws.append(labelled[1])
    if not keep:
        raise ValueError("no photo on a light studio backdrop to learn the product mask from")
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float()
    t = torch.from_numpy(np.stack(ts)).permute(0, 3, 1, 2)
    w = torch.from_numpy(np.stack(ws))[:, None]
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        x, t, w = (F.interpolate(v, size=size, mode="area") for v in (x, t, w))
    return (x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy(), t.permute(0, 2, 3, 1).numpy(),
            w[:, 0].numpy(), keep)


# ---- composites --------------------------------------------------------------------------------------------

def random_backdrops(b: int, h: int, w: int, gen: torch.Generator) -> torch.Tensor:
    """(b, 3, h, w) in [0, 1]: flat colours, grey sweeps, two-colour gradients, smooth noise and stripes."""
    def rand(*shape):
        return torch.rand(shape, generator=gen)

    c1, c2 = rand(b, 3, 1, 1), rand(b, 3, 1, 1)
    grey = rand(b, 1, 1, 1) * 0.5 + 0.45
    c1 = torch.where(rand(b, 1, 1, 1) < 0.35, grey.expand(-1, 3, -1, -1), c1)  # a third: grey studio sweeps
    c2 = torch.where(rand(b, 1, 1, 1) < 0.5, c1 * (0.75 + 0.3 * rand(b, 1, 1, 1)), c2)
    ramp = torch.linspace(0, 1, h).view(1, 1, h, 1).expand(b, 1, h, w)
    out = c1 + (c2 - c1) * ramp * (rand(b, 1, 1, 1) < 0.7)
    noise = F.interpolate(rand(b, 3, 4, 3) - 0.5, size=(h, w), mode="bicubic", align_corners=False)
    out = out + noise * 0.5 * (rand(b, 1, 1, 1) < 0.4)
    period = 2 + (rand(b, 1, 1, 1) * 10).floor()
    stripes = ((torch.arange(w).view(1, 1, 1, w) / period).floor() % 2) * 0.25 - 0.125
    out = out + stripes * (rand(b, 1, 1, 1) < 0.15)
    return out.clamp(0, 1)


def composite(x: torch.Tensor, target: torch.Tensor, gen: torch.Generator, p_keep: float = 0.25,
              p_empty: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """Put each foreground of x (b, 3, h, w) in [0, 1] on a random backdrop (kept as is with p_keep; a backdrop
    alone, target all background, with p_empty). The foreground's colour is decontaminated of the white it was
    shot on first, so no white fringe is taught as product."""
    b, _, h, w = x.shape
    alpha = 1 - target[:, :1]  # (b, 1, h, w)
    shot_on = x.amax(dim=(2, 3), keepdim=True).clamp(min=0.5)  # the studio white, roughly
    fore = ((x - (1 - alpha) * shot_on) / alpha.clamp(min=0.05)).clamp(0, 1)
    fore = torch.where(alpha > 0.05, fore, x)
    backdrop = random_backdrops(b, h, w, gen)
    mixed = alpha * fore + (1 - alpha) * backdrop
    keep = (torch.rand(b, 1, 1, 1, generator=gen) < p_keep).float()
    out = keep * x + (1 - keep) * mixed
    empty = torch.rand(b, 1, 1, 1, generator=gen) < p_empty
    out = torch.where(empty, backdrop, out)
    t = torch.where(empty, torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1).expand_as(target), target)
    return out, t


def jitter(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Exposure and contrast jitter of a (b, 3, h, w) batch in [0, 1] (photos come over- and under-exposed)."""
    b = x.shape[0]
    gain = 0.75 + 0.5 * torch.rand(b, 1, 1, 1, generator=gen)
    gamma = 0.8 + 0.4 * torch.rand(b, 1, 1, 1, generator=gen)
    return (x.clamp(1e-4, 1) ** gamma * gain).clamp(0, 1)
