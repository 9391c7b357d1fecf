"""Product masks: which pixels of a photo are the product, which are the person wearing it, which the backdrop.

A small U-Net (`MaskNet`) predicts three classes at 96x72 (3:4); `ProductMasker` carries its soft mask to the
photo's own resolution with a guided filter (He et al. 2010: the photo's edges shape the alpha, so hair-thin
straps and soft edges survive the upsampling), and reports per-image problems instead of a wrong mask: no
product found, a product that fills the frame, a product it cannot separate cleanly. A source with real
transparency is its own mask. The net is trained by `MaskTrainer` on the shop's own catalogue (`ml.mask_labels`:
pseudo-labels from studio backdrops, composited onto new backdrops), with no downloaded weights; the export also
carries the catalogue's colour palette (`ml.palette`), which recolouring reads.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from . import checkpoint
from .guided import box_mean
from .images import pad_to_aspect
from .mask_labels import composite, jitter, label_catalogue
from .palette import ColourPalette
from .training import load_optim, optim_tensors, run_steps

KIND = "mask"
TRAIN_KIND = "mask-train"


@dataclass
class MaskConfig:
    height: int = 96  # 3:4 like the catalogue; 2x the generators' 64x48, since edges are what a mask is for
    width: int = 72
    widths: list[int] = field(default_factory=lambda: [16, 32, 64])  # three scales; ~0.1 M parameters
    classes: int = 3  # background, product, person (skin and hair)


def _block(c_in: int, c_out: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class MaskNet(nn.Module):
    """U-Net: an encoder of `widths`, a dilated bottleneck for context, a decoder with skip connections."""

    def __init__(self, config: MaskConfig):
        super().__init__()
        self.config = config
        w = config.widths
        self.down = nn.ModuleList([_block(3, w[0])] + [_block(a, b) for a, b in zip(w, w[1:])])
        self.middle = _block(w[-1], w[-1], dilation=2)
        self.up = nn.ModuleList(_block(b + a, a) for a, b in zip(w[:-1], w[1:]))
        self.head = nn.Conv2d(w[0], config.classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (b, 3, h, w) in [-1, 1] -> logits (b, classes, h, w); h, w divisible by 2 ** (len(widths) - 1)."""
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = self.middle(x)
        for block, skip in zip(reversed(self.up), reversed(skips[:-1])):
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="nearest"), skip], dim=1))
        return self.head(x)


@dataclass
class MaskTrainConfig:
    batch_size: int = 32
    lr: float = 3e-3  # Adam; cosine-free: the run length is a time budget, not a schedule
    weight_decay: float = 1e-4
    p_keep: float = 0.25  # share of samples left on their own studio backdrop
    p_empty: float = 0.05  # share replaced by a backdrop alone (teaches "no product here")


class MaskTrainer:
    """Pseudo-labels the catalogue once, then trains MaskNet on composites; save/load resume, export for use."""

    def __init__(self, config: MaskConfig, images: np.ndarray, colours: list[str] | None = None,
                 categories: list[str] | None = None, seed: int = 0, train_config: MaskTrainConfig | None = None,
                 device: str = "cpu"):
        self.config, self.tc, self.device = config, train_config or MaskTrainConfig(), torch.device(device)
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed)
        x, t, w, keep = label_catalogue(images, colours, (config.height, config.width))
        self.x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()  # uint8 (n, 3, h, w)
        self.t = torch.from_numpy(t).permute(0, 3, 1, 2).contiguous()  # (n, 3, h, w) soft targets
        self.w = torch.from_numpy(w)[:, None].contiguous()  # (n, 1, h, w)
        self.palette = ColourPalette.build(x, t, [colours[i] for i in keep] if colours else None,
                                           [categories[i] for i in keep] if categories else None)
        self.labelled, self.offered = len(keep), len(images)
        self.net = MaskNet(config).to(self.device)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=self.tc.lr, weight_decay=self.tc.weight_decay)
        self.step_count, self.history = 0, []

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, len(self.x), (min(self.tc.batch_size, len(self.x)),), generator=self.gen)
        x, t, w = self.x[idx].float() / 255, self.t[idx], self.w[idx]
        flip = torch.rand(len(idx), generator=self.gen) < 0.5
        x, t, w = (torch.where(flip.view(-1, 1, 1, 1), v.flip(-1), v) for v in (x, t, w))
        x, t = composite(x, t, self.gen, self.tc.p_keep, self.tc.p_empty)
        return jitter(x, self.gen) * 2 - 1, t, w

    def step(self) -> dict[str, float]:
        self.net.train()
        x, t, w = (v.to(self.device) for v in self.batch())
        logits = self.net(x)
        loss = (-(t * F.log_softmax(logits, dim=1)).sum(1, keepdim=True) * w).sum() / w.sum().clamp(min=1)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step_count += 1
        with torch.no_grad():
            iou = soft_iou(logits.softmax(1)[:, 1:2], t[:, 1:2])
        figures = {"step": self.step_count, "loss": loss.item(), "iou": iou}
        self.history.append(figures)
        return figures

    def train(self, steps: int | None = None, minutes: float | None = None, callback=None,
              cpu_minutes: float | None = None) -> list[dict]:
        """Run `steps` more steps and/or for `minutes` (wall) / `cpu_minutes`; callback(figures) after each."""
        def one() -> dict:
            figures = self.step()
            if callback:
                callback(figures)
            return figures

        if steps == 0:
            return self.history
        run_steps(one, steps, minutes, None, cpu_minutes)
        return self.history

    def _meta(self) -> dict:
        return {"kind": KIND, "config": asdict(self.config), "palette": self.palette.to_dict(),
                "step": self.step_count, "labelled": self.labelled, "offered": self.offered}

    def export(self, path) -> str:
        """The net's weights, config and the catalogue's palette: what `ProductMasker.from_checkpoint` loads."""
        return checkpoint.save(path, checkpoint.state_dict_with_prefix("net", self.net), self._meta())

    def save(self, path) -> str:
        """The full training state, for resuming."""
        opt_tensors, groups = optim_tensors("opt", self.opt)
        tensors = {**checkpoint.state_dict_with_prefix("net", self.net), **opt_tensors, "rng": self.gen.get_state()}
        meta = {**self._meta(), "kind": TRAIN_KIND, "train_config": asdict(self.tc), "optim": groups,
                "history": self.history[-2000:]}
        return checkpoint.save(path, tensors, meta)

    def load(self, path) -> None:
        tensors, meta = checkpoint.load(path)
        if meta.get("kind") != TRAIN_KIND:
            raise checkpoint.CheckpointError(f"{path} is not a resumable mask training checkpoint")
        checkpoint.load_prefixed(self.net, "net", tensors)
        load_optim(self.opt, "opt", tensors, meta["optim"])
        self.gen.set_state(tensors["rng"])
        self.step_count, self.history = int(meta["step"]), list(meta.get("history", []))


def soft_iou(pred: torch.Tensor, target: torch.Tensor) -> float:
    """IoU of soft masks (b, 1, h, w): sum(min) / sum(max)."""
    return float(torch.minimum(pred, target).sum() / torch.maximum(pred, target).sum().clamp(min=1e-6))


# ---- inference ---------------------------------------------------------------------------------------------

@dataclass
class ProductMask:
    """A photo's mask at its own size. alpha: the product; person: skin and hair; problems: why not to trust it."""

    alpha: np.ndarray  # (H, W) float32 in [0, 1]
    person: np.ndarray  # (H, W) float32 in [0, 1]
    problems: list[str] = field(default_factory=list)
    source: str = "model"  # "model", or "transparency" when the photo's own alpha channel was used

    @property
    def share(self) -> float:
        return float(self.alpha.mean())

    @property
    def foreground(self) -> np.ndarray:
        """(H, W) what a cut-out keeps: the product and the person wearing it."""
        return np.clip(self.alpha + self.person, 0.0, 1.0)


MIN_SIDE = 24  # below this a photo is a thumbnail: nothing to separate reliably


class ProductMasker:
    """Loads an exported mask net; `mask(image)` for any photo. Load once per worker, call many times.

    The last few masks are remembered by the photo's pixels, so a job that masks its source for the recolouring
    and again for the confidence figures runs the net once. A returned ProductMask is shared: read it, don't
    write into its arrays.
    """

    REMEMBER = 4

    def __init__(self, net: MaskNet, palette: ColourPalette, device: str = "cpu"):
        self.device = torch.device(device)
        self.net = net.to(self.device).eval().requires_grad_(False)
        self.palette = palette
        self._recent: OrderedDict[bytes, ProductMask] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu", expected_sha256: str | None = None) -> "ProductMasker":
        tensors, meta = checkpoint.load(path, expected_sha256)
        if meta.get("kind") != KIND:
            raise checkpoint.CheckpointError(f"{path} is not a product-mask checkpoint (kind {meta.get('kind')!r})")
        try:
            net = MaskNet(MaskConfig(**meta["config"]))
            checkpoint.load_prefixed(net, "net", tensors)
        except (KeyError, TypeError, RuntimeError) as exc:
            raise checkpoint.CheckpointError(f"{path} does not match its recorded config: {exc}") from exc
        return cls(net, ColourPalette.from_dict(meta.get("palette", {})), device)

    @property
    def config(self) -> MaskConfig:
        return self.net.config

    @torch.no_grad()
    def probabilities(self, image: Image.Image) -> np.ndarray:
        """(H, W, 3) class probabilities at the image's size (before edge refinement)."""
        c = self.config
        rgb = image.convert("RGB")
        padded = pad_to_aspect(rgb, c.width / c.height)
        small = padded.resize((c.width, c.height), Image.Resampling.BOX)
        x = torch.from_numpy(np.asarray(small, np.float32) / 127.5 - 1).permute(2, 0, 1)[None].to(self.device)
        probs = self.net(x).softmax(1)
        probs = F.interpolate(probs, size=(padded.height, padded.width), mode="bilinear", align_corners=False)
        ox, oy = (padded.width - rgb.width) // 2, (padded.height - rgb.height) // 2
        return probs[0, :, oy: oy + rgb.height, ox: ox + rgb.width].permute(1, 2, 0).cpu().numpy()

    def mask(self, image: Image.Image) -> ProductMask:
        """The product's soft mask at the photo's own resolution, with any problems that make it untrustworthy."""
        key = hashlib.blake2b(image.tobytes(), digest_size=16,
                              person=f"{image.mode}{image.size}".encode()[:16]).digest()
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        mask = self._mask(image)
        with self._lock:
            self._recent[key] = mask
            while len(self._recent) > self.REMEMBER:
                self._recent.popitem(last=False)
        return mask

    def _mask(self, image: Image.Image) -> ProductMask:
        if min(image.size) < MIN_SIDE:
            size = f"{image.width}x{image.height}"
            return _empty(image, [f"the photo is too small ({size}) to find the product in; use one of at least "
                                  f"{MIN_SIDE} px a side"])
        own = transparency_alpha(image)
        if own is not None:
            return ProductMask(own, np.zeros_like(own), problems_of(own, None), source="transparency")
        probs = self.probabilities(image)
        guide = np.asarray(image.convert("L"), np.float32) / 255
        fg = sharpen(refine(guide, 1 - probs[..., 0]))
        studio = studio_foreground(image)
        trusted = studio is not None and agreement(studio, fg) > AGREEMENT
        if trusted:
            fg = studio  # a light studio sweep: its own estimate has pixel-exact edges, and the net agrees
        person_share = probs[..., 2] / np.maximum(probs[..., 1] + probs[..., 2], 1e-6)
        person = (fg * person_share).astype(np.float32)
        alpha = np.clip(fg - person, 0, 1).astype(np.float32)
        return ProductMask(alpha, person, problems_of(alpha, None if trusted else probs))

    def cutout(self, image: Image.Image, background: str = "transparent", mask: ProductMask | None = None) -> Image.Image:
        """The product (and whoever wears it) on a new background; see `ml.cutout.cutout`."""
        from .cutout import cutout

        return cutout(image, mask or self.mask(image), background)


def _empty(image: Image.Image, problems: list[str]) -> ProductMask:
    zeros = np.zeros((image.height, image.width), np.float32)
    return ProductMask(zeros, zeros.copy(), problems)


def transparency_alpha(image: Image.Image) -> np.ndarray | None:
    """The photo's own alpha (H, W) in [0, 1] when it really uses transparency, else None."""
    if image.mode not in ("RGBA", "LA", "PA") and not (image.mode == "P" and "transparency" in image.info):
        return None
    alpha = np.asarray(image.convert("RGBA").getchannel("A"), np.float32) / 255
    return alpha if alpha.min() < 0.9 else None


def refine(guide: np.ndarray, p: np.ndarray, eps: float = 2e-3) -> np.ndarray:
    """Guided filter (He et al. 2010) of a bilinearly upsampled probability p (H, W) by the grey photo (H, W):
    the output follows the photo's edges, so the mask's edge lands on the product's outline."""
    r = max(2, round(min(guide.shape) / 60))
    mean_i, mean_p = box_mean(guide, r), box_mean(p, r)
    cov = box_mean(guide * p, r) - mean_i * mean_p
    var = box_mean(guide * guide, r) - mean_i**2
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    q = box_mean(a, r) * guide + box_mean(b, r)
    return np.clip(q, 0.0, 1.0).astype(np.float32)


AGREEMENT = 0.8  # IoU between the net's foreground and the studio estimate above which the latter is used


def sharpen(alpha: np.ndarray, width: float = 0.3) -> np.ndarray:
    """Steepen a soft alpha around 0.5 (an upsampled low-resolution mask is blurrier than a real edge)."""
    t = np.clip((alpha - 0.5) / width + 0.5, 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two masks at 0.5."""
    x, y = a > 0.5, b > 0.5
    return float((x & y).sum() / max((x | y).sum(), 1))


def studio_foreground(image: Image.Image, side: int = 320) -> np.ndarray | None:
    """1 - the backdrop share from `ml.backdrop` (H, W) when the photo is on a light studio sweep, else None."""
    from .backdrop import BackdropConfig, find_backdrop, is_light, resize_array, working_copy

    cfg = BackdropConfig()
    work = working_copy(image.convert("RGB"), side)
    bd = find_backdrop(work, cfg)
    if not is_light(bd, cfg):
        return None
    fg = 1 - np.clip(bd.alpha, 0, 1).astype(np.float32)
    return resize_array(fg, image.size) if fg.shape != (image.height, image.width) else fg


def problems_of(alpha: np.ndarray, probs: np.ndarray | None) -> list[str]:
    """Readable reasons not to trust a mask: nothing found, the whole frame, or no clean separation."""
    share = float((alpha > 0.5).mean())
    if share < 0.01:
        return ["no product could be separated from the backdrop (the photo looks like a backdrop, a texture or "
                "a scene, not a product shot)"]
    if share > 0.9:
        return [f"the product fills {share:.0%} of the frame: there is no backdrop to separate it from"]
    if probs is not None:
        fg = 1 - probs[..., 0]
        unsure = float(((fg > 0.2) & (fg < 0.8)).sum() / max((fg > 0.5).sum(), 1))
        if unsure > 0.35:
            return [f"the product could not be separated cleanly from its backdrop ({unsure:.0%} of its outline "
                    f"area is uncertain)"]
    return []


def rendition_look(rendition: np.ndarray, mask: ProductMask):
    """The Appearance a model's low-resolution rendition (h, w, 3 floats in [0, 1], of the photo padded to its
    aspect) gives the product, read through the photo's mask; None when too little of the product is visible."""
    from .palette import appearance_of

    h, w = rendition.shape[:2]
    alpha = Image.fromarray((mask.alpha * 255).astype(np.uint8), "L")
    small = pad_to_aspect(alpha, w / h, fill=(0, 0, 0)).resize((w, h), Image.Resampling.BOX)
    return appearance_of(rendition[..., :3].reshape(-1, 3), np.asarray(small, np.float32).reshape(-1) / 255)


def recolour_with(masker: ProductMasker, image: Image.Image, colour: str, category: str | None = None,
                  source_colour: str | None = None, hint=None, hint_weight: float = 0.25,
                  mask: ProductMask | None = None):
    """`image` with its product recoloured to the catalogue's `colour` (on `category` products when known).

    hint: an `ml.palette.Appearance` a model rendered for this product (e.g. the GAN's colourway), blended into
    the catalogue's look with `hint_weight`. Returns (image, figures, mask). Raises UnknownAttributeValue when
    the catalogue never showed that colour and no hint is given.
    """
    from .recolour import recolour
    from .vocab import UnknownAttributeValue

    target = masker.palette.lookup(colour, category)
    if target is None and hint is None:
        raise UnknownAttributeValue("colour", colour, masker.palette.colours())
    target = hint if target is None else (target.mix(hint, hint_weight) if hint is not None else target)
    source = masker.palette.lookup(source_colour, category) if source_colour else None
    mask = mask or masker.mask(image)
    result, figures = recolour(image, mask, target, source)
    return result, figures, mask
