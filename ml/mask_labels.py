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
from PIL import Image, ImageFilter

from .backdrop import LUMA, BackdropConfig, dilate, find_backdrop, is_light, mask_box

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

def random_backdrops(b: int, h: int, w: int, gen: torch.Generator, photos: torch.Tensor | None = None,
                     p_texture: float = 0.0) -> torch.Tensor:
    """(b, 3, h, w) in [0, 1]: flat colours, grey sweeps, two-colour gradients, smooth noise, stripes and tiles;
    with `photos` (b, 3, h, w), a share p_texture are photographed textures instead: the middle of another photo
    of the batch, mirrored into a 2x2 tile (a knit, denim, leather, a print: what a garment lying on a bed or a
    sofa has around it)."""
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
    size = 6 + (rand(b, 1, 1, 1) * 14).floor()  # tiles: grout lines every 6-20 px, darker than the tile
    yy, xx = torch.arange(h).view(1, 1, h, 1), torch.arange(w).view(1, 1, 1, w)
    grout = (((yy % size) < 1) | ((xx % size) < 1)).float()
    out = torch.where(rand(b, 1, 1, 1) < 0.1, out * (1 - 0.35 * grout), out)
    if photos is not None and p_texture > 0:
        zoom = 2.0 + 1.0 * rand(1).item()  # the middle third or so of another photo: mostly its product
        ch, cw = max(2, round(h / zoom)), max(2, round(w / zoom))
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        patch = F.interpolate(photos.roll(1, 0)[:, :, y0: y0 + ch, x0: x0 + cw], size=(h // 2 + 1, w // 2 + 1),
                              mode="bilinear", align_corners=False)
        row = torch.cat([patch, patch.flip(-1)], -1)  # mirrored 2x2: a texture at about its own scale, no seams
        texture = torch.cat([row, row.flip(-2)], -2)[:, :, :h, :w]
        out = torch.where(rand(b, 1, 1, 1) < p_texture, texture, out)
    return out.clamp(0, 1)


def composite(x: torch.Tensor, target: torch.Tensor, gen: torch.Generator, p_keep: float = 0.25,
              p_empty: float = 0.05, p_texture: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Put each foreground of x (b, 3, h, w) in [0, 1] on a random backdrop (kept as is with p_keep; a backdrop
    alone, target all background, with p_empty). The foreground's colour is decontaminated of the white it was
    shot on first, so no white fringe is taught as product."""
    b, _, h, w = x.shape
    alpha = 1 - target[:, :1]  # (b, 1, h, w)
    shot_on = x.amax(dim=(2, 3), keepdim=True).clamp(min=0.5)  # the studio white, roughly
    fore = ((x - (1 - alpha) * shot_on) / alpha.clamp(min=0.05)).clamp(0, 1)
    fore = torch.where(alpha > 0.05, fore, x)
    backdrop = random_backdrops(b, h, w, gen, x, p_texture)
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


# ---- composites with a known truth, in NumPy at the photo's own size (fitting the chooser, benchmarks) ---------

PAPERS = {"pink": (236, 190, 200), "light blue": (185, 210, 235), "beige": (225, 210, 180), "mint": (190, 230, 205),
          "dark grey": (70, 72, 75), "black": (18, 18, 20)}


def grey_sweep(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A grey studio sweep: lighter towards the floor, a vignette, sensor noise. float (h, w, 3) 0-255."""
    top, bottom = rng.uniform(150, 200), rng.uniform(190, 235)
    ramp = np.linspace(top, bottom, h)[:, None, None]
    yy, xx = np.mgrid[0:h, 0:w]
    vignette = 1 - 0.18 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)[..., None]
    return np.clip(ramp * vignette + rng.normal(0, 2.0, (h, w, 1)), 0, 255) * np.ones(3)


def paper(h: int, w: int, rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """A flat coloured paper (one of PAPERS, light and dark), with a little noise: (its name, the backdrop)."""
    name = list(PAPERS)[rng.integers(len(PAPERS))]
    return name, np.clip(np.ones((h, w, 3)) * PAPERS[name] + rng.normal(0, 1.5, (h, w, 1)), 0, 255)


def wood(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A wood-like grain (a table top)."""
    xx = np.arange(w)[None, :] + 6 * np.sin(np.arange(h)[:, None] / 17.0)
    grain = 0.5 + 0.5 * np.sin(xx / rng.uniform(3, 7))
    base = np.array([150, 105, 70]) + rng.uniform(-20, 20, 3)
    return np.clip(base * (0.8 + 0.25 * grain[..., None]) + rng.normal(0, 4, (h, w, 1)), 0, 255)


def tiles(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A tiled floor: square tiles of a light or dark colour with grout lines, a little noise."""
    size = int(rng.integers(18, 48))
    colour = rng.uniform(60, 230, 3)
    grout = colour * rng.uniform(0.55, 0.8)
    yy, xx = np.mgrid[0:h, 0:w]
    line = ((yy % size) < 2) | ((xx % size) < 2)
    out = np.where(line[..., None], grout, colour * rng.uniform(0.93, 1.07, (h // size + 1, w // size + 1, 1))[
        yy // size, xx // size])
    return np.clip(out + rng.normal(0, 3, (h, w, 1)), 0, 255)


def blurred_scene(h: int, w: int, other: np.ndarray) -> np.ndarray:
    """Another photo enlarged and blurred: a busy, out-of-focus background."""
    im = Image.fromarray(other).resize((w * 2, h * 2)).crop((w // 2, h // 2, w // 2 + w, h // 2 + h))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(6)), np.float64)


def fabric(h: int, w: int, other: np.ndarray, other_fg: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A photographed texture: the inside of another photo's product (a knit, denim, leather, a print),
    enlarged to fill the frame, as a garment lying on a bed, a sofa or a rug would have around it. None when
    the other product is too small to cut a texture from."""
    box = mask_box(other_fg > 0.5)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    cx, cy, half = (x0 + x1) // 2, (y0 + y1) // 2, max(4, min(x1 - x0, y1 - y0) // 4)
    patch = other[cy - half: cy + half, cx - half: cx + half]
    inside = other_fg[cy - half: cy + half, cx - half: cx + half]
    if patch.shape[0] < 8 or patch.shape[1] < 8 or inside.mean() < 0.95:
        return None
    scale = rng.uniform(2.0, 4.0)
    big = Image.fromarray(patch).resize((max(w, int(patch.shape[1] * scale)), max(h, int(patch.shape[0] * scale))),
                                        Image.Resampling.BICUBIC)
    tiled = np.asarray(big, np.float64)
    reps = (h // tiled.shape[0] + 1, w // tiled.shape[1] + 1, 1)
    return np.tile(tiled, reps)[:h, :w]


def place_on(photo: np.ndarray, fg: np.ndarray, backdrop: np.ndarray | None) -> np.ndarray:
    """Put a studio photo's foreground (alpha fg) on a new backdrop, its edge decontaminated of the studio white
    it was shot on (solving the compositing equation with the border's colour). None keeps the photo."""
    if backdrop is None:
        return photo
    rgb = photo.astype(np.float64)
    shot_on = np.median(np.concatenate([rgb[0], rgb[-1]]), axis=0)
    a = fg[..., None]
    fore = np.where(a > 0.98, rgb, np.clip((rgb - (1 - a) * shot_on) / np.maximum(a, 0.05), 0, 255))
    return (a * fore + (1 - a) * backdrop + 0.5).clip(0, 255).astype(np.uint8)


def composite_backdrops(h: int, w: int, rng: np.random.Generator, other: np.ndarray,
                        other_fg: np.ndarray) -> dict[str, np.ndarray | None]:
    """One of each backdrop class for a case of size (h, w); `other` is another photo (with its foreground) to
    take a scene and a texture from. None: the photo's own backdrop."""
    name, flat = paper(h, w, rng)
    out = {"own white": None, "grey sweep": grey_sweep(h, w, rng), f"paper ({name})": flat, "wood": wood(h, w, rng),
           "tiles": tiles(h, w, rng), "blurred scene": blurred_scene(h, w, other)}
    texture = fabric(h, w, other, other_fg, rng)
    if texture is not None:
        out["fabric"] = texture
    return out
