"""Product masks of any photo from an exported mask net: the product, the person wearing it, and why not to trust it.

`ProductMasker` runs `ml.mask.MaskNet` and carries its soft mask to the photo's own resolution with a guided
filter (He et al. 2010: the photo's edges shape the alpha, so hair-thin straps and soft edges survive the
upsampling), and reports per-image problems instead of a wrong mask: no product found, a product that fills the
frame, a product it cannot separate cleanly. A source with real transparency is its own mask. What is done with
a mask lives elsewhere: cut-outs in `ml.cutout`, recolouring in `ml.recolour`.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import checkpoint
from .backdrop import LUMA, BackdropConfig, find_backdrop, is_light, resize_array, working_copy
from .guided import box_mean, sharpen
from .images import pad_to_aspect
from .mask import KIND, MaskConfig, MaskNet
from .mask_choice import Evidence, MaskChooser, gather, overlap
from .mask_refine import RefineNet, refine_alpha
from .palette import ColourPalette


@dataclass
class ProductMask:
    """A photo's mask at its own size. alpha: the product; person: skin and hair; problems: why not to trust it."""

    alpha: np.ndarray  # (H, W) float32 in [0, 1]
    person: np.ndarray  # (H, W) float32 in [0, 1]
    problems: list[str] = field(default_factory=list)
    source: str = "model"  # "model" (the net), "cleanup" (the backdrop estimate), "refined" (the full-resolution
    # refinement), or "transparency" when the photo's own alpha channel was used
    predicted_iou: float | None = None  # the chooser's estimate of this cut-out's overlap with the truth

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

    def __init__(self, net: MaskNet, palette: ColourPalette, device: str = "cpu", chooser: MaskChooser | None = None,
                 refiner: RefineNet | None = None):
        self.device = torch.device(device)
        self.net = net.to(self.device).eval().requires_grad_(False)
        self.palette = palette
        self.chooser = chooser  # None (an export from before the chooser): the fixed studio rule below
        self.refiner = refiner.eval().requires_grad_(False) if refiner is not None else None
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
        refiner = None
        if meta.get("refiner"):
            refiner = RefineNet(**meta["refiner"])
            checkpoint.load_prefixed(refiner, "refiner", tensors)
        return cls(net, ColourPalette.from_dict(meta.get("palette", {})), device,
                   MaskChooser.from_dict(meta.get("chooser")), refiner)

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
        if self.chooser is not None:
            fg, source, predicted, problems = self._chosen(image, guide, probs)
        else:
            fg = sharpen(refine(guide, 1 - probs[..., 0]))
            studio = studio_foreground(image)
            trusted = studio is not None and overlap(studio, fg) > AGREEMENT
            if trusted:
                fg = studio  # a light studio sweep: its own estimate has pixel-exact edges, and the net agrees
            source, predicted, problems = ("cleanup" if trusted else "model"), None, None
        person_share = probs[..., 2] / np.maximum(probs[..., 1] + probs[..., 2], 1e-6)
        person = (fg * person_share).astype(np.float32)
        alpha = np.clip(fg - person, 0, 1).astype(np.float32)
        if problems is None:
            problems = problems_of(alpha, None if source == "cleanup" else probs)
        else:
            problems = problems_of(alpha, None) + problems
        return ProductMask(alpha, person, problems, source=source, predicted_iou=predicted)

    def _chosen(self, image: Image.Image, guide: np.ndarray, probs: np.ndarray):
        """The chooser's pick of the candidate foregrounds (the net's, the backdrop estimate's, their mean, the
        refinement's), carried to full size: (foreground, source, predicted IoU, problems). The candidates are
        made and compared on the working copy; only the one chosen is carried up, by one guided filter with the
        photo's own edges."""
        evidence = self._evidence(image, probs)
        name, predicted = self.chooser.choose(evidence)
        small = evidence.candidates[name]
        fg = small if small.shape == guide.shape else sharpen(refine(guide, resize_array(small, image.size)))
        problems = []
        if predicted < self.chooser.deliver_at:
            problems.append(f"the cut-out is probably wrong: neither the mask net nor the backdrop estimate "
                            f"separates this product cleanly from its background (expected overlap with the "
                            f"product {predicted:.0%}; {self.chooser.deliver_at:.0%} is needed)")
        return fg.astype(np.float32), SOURCES[name], predicted, problems

    def evidence(self, image: Image.Image) -> Evidence:
        """What the chooser sees of a photo: its candidate foregrounds at the working size and their
        measurements (`ml.mask_choice`). For fitting the chooser; `mask` is what to call for a cut-out."""
        image = image.convert("RGB")
        return self._evidence(image, self.probabilities(image))

    def refinement_inputs(self, image: Image.Image, probs: np.ndarray | None = None):
        """(photo, coarse foreground, backdrop estimate's foreground or None, its Backdrop) at the working size:
        what `ml.mask_refine.RefineNet` reads, here and when it is trained."""
        cfg = BackdropConfig()
        arr = working_copy(image.convert("RGB"), WORK_SIDE)
        size = (arr.shape[1], arr.shape[0])
        probs = self.probabilities(image) if probs is None else probs
        bd = find_backdrop(arr, cfg)
        uniform = bd.border_share >= cfg.min_border_share  # any colour: a pink paper is as good as a white sweep
        cleanup = (1 - np.clip(bd.alpha, 0, 1)).astype(np.float32) if uniform else None
        return arr, resize_array(1 - probs[..., 0], size), cleanup, (bd if uniform else None)

    def _evidence(self, image: Image.Image, probs: np.ndarray) -> Evidence:
        arr, coarse, cleanup, bd = self.refinement_inputs(image, probs)
        net_fg = sharpen(refine(arr @ LUMA / 255, coarse))  # the net's candidate: its edge on the photo's edges
        refined = refine_alpha(self.refiner, arr, coarse, cleanup) if self.refiner is not None else None
        return gather(arr, net_fg, 1 - coarse, cleanup, bd, refined)


SOURCES = {"net": "model", "cleanup": "cleanup", "refined": "refined"}
WORK_SIDE = 320  # the backdrop estimate and the chooser's measurements work on a copy at most this size


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


def studio_foreground(image: Image.Image, side: int = WORK_SIDE) -> np.ndarray | None:
    """1 - the backdrop share from `ml.backdrop` (H, W) when the photo is on a light studio sweep, else None."""
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
