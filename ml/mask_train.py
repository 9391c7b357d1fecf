"""Training the product-mask net on the shop's own catalogue, with resumable save/load and export.

`MaskTrainer` pseudo-labels the catalogue once (`ml.mask_labels`: labels from studio backdrops, composited onto
new backdrops) and trains `ml.mask.MaskNet` on the composites, with no downloaded weights; the export also
carries the catalogue's colour palette (`ml.palette`), which recolouring reads.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint
from .mask import KIND, MaskConfig, MaskNet
from .mask_choice import MaskChooser, fit_chooser
from .mask_labels import composite, composite_backdrops, jitter, label_catalogue, place_on, pseudo_label
from .mask_refine import RefineTrainer, inputs
from .palette import ColourPalette
from .training import load_optim, optim_tensors, run_steps

TRAIN_KIND = "mask-train"


@dataclass
class MaskTrainConfig:
    batch_size: int = 32
    lr: float = 3e-3  # Adam; cosine-free: the run length is a time budget, not a schedule
    weight_decay: float = 1e-4
    p_keep: float = 0.25  # share of samples left on their own studio backdrop
    p_empty: float = 0.05  # share replaced by a backdrop alone (teaches "no product here")
    p_texture: float = 0.25  # share of new backdrops that are photographed textures (another photo, enlarged)
    chooser_photos: int = 240  # studio photos put on other backdrops to fit the cut-out chooser at export
    refine_photos: int = 400  # ... and to train the full-resolution refinement, twice each on new backdrops
    refine_steps: int = 500  # the refinement's training steps (fewer on a small catalogue: 4 per photo at most)


class MaskTrainer:
    """Pseudo-labels the catalogue once, then trains MaskNet on composites; save/load resume, export for use."""

    def __init__(self, config: MaskConfig, images: np.ndarray, colours: list[str] | None = None,
                 categories: list[str] | None = None, seed: int = 0, train_config: MaskTrainConfig | None = None,
                 device: str = "cpu"):
        self.config, self.train_config, self.device = config, train_config or MaskTrainConfig(), torch.device(device)
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed)
        x, t, w, keep = label_catalogue(images, colours, (config.height, config.width))
        self.x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()  # uint8 (n, 3, h, w)
        self.t = torch.from_numpy(t).permute(0, 3, 1, 2).contiguous()  # (n, 3, h, w) soft targets
        self.w = torch.from_numpy(w)[:, None].contiguous()  # (n, 1, h, w)
        self.palette = ColourPalette.build(x, t, [colours[i] for i in keep] if colours else None,
                                           [categories[i] for i in keep] if categories else None)
        self.labelled, self.offered = len(keep), len(images)
        most = max(self.train_config.chooser_photos, self.train_config.refine_photos)
        sample = np.sort(np.random.default_rng(seed).permutation(keep)[:most])
        self.photos = images[sample]  # at the loaded size: the refinement's and the chooser's composites
        self.photo_colours = [colours[i] for i in sample] if colours else None
        self.seed, self.refiner, self.chooser, self.chooser_note, self.fitted_step = seed, None, None, "", -1
        self.net = MaskNet(config).to(self.device)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=self.train_config.lr, weight_decay=self.train_config.weight_decay)
        self.step_count, self.history = 0, []

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, len(self.x), (min(self.train_config.batch_size, len(self.x)),), generator=self.gen)
        x, t, w = self.x[idx].float() / 255, self.t[idx], self.w[idx]
        flip = torch.rand(len(idx), generator=self.gen) < 0.5
        x, t, w = (torch.where(flip.view(-1, 1, 1, 1), v.flip(-1), v) for v in (x, t, w))
        c = self.train_config
        x, t = composite(x, t, self.gen, c.p_keep, c.p_empty, c.p_texture)
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
        """The net's weights, config and the catalogue's palette, and, fitted for this very net, the
        full-resolution refinement and the cut-out chooser: what `ProductMasker.from_checkpoint` loads."""
        if self.fitted_step != self.step_count:
            self.fit_refinement_and_chooser()
        meta = {**self._meta(), "chooser": self.chooser.to_dict() if self.chooser else None,
                "refiner": {"width": self.refiner.width} if self.refiner else None}
        tensors = checkpoint.state_dict_with_prefix("net", self.net)
        if self.refiner is not None:
            tensors.update(checkpoint.state_dict_with_prefix("refiner", self.refiner))
        if self.chooser_note:
            meta["chooser_note"] = self.chooser_note
        return checkpoint.save(path, tensors, meta)

    def fit_refinement_and_chooser(self) -> None:
        """`fit_refinement_and_chooser` for the net as it is now (once per step count)."""
        from .masker import ProductMasker

        masker = ProductMasker(copy.deepcopy(self.net), self.palette)
        self.fitted_step = self.step_count
        self.refiner, self.chooser, self.chooser_note = fit_refinement_and_chooser(
            masker, self.photos, self.photo_colours, self.seed, self.train_config)

    def save(self, path) -> str:
        """The full training state, for resuming."""
        opt_tensors, groups = optim_tensors("opt", self.opt)
        tensors = {**checkpoint.state_dict_with_prefix("net", self.net), **opt_tensors, "rng": self.gen.get_state()}
        meta = {**self._meta(), "kind": TRAIN_KIND, "train_config": asdict(self.train_config), "optim": groups,
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


def labelled_photos(photos: np.ndarray, colours: list[str] | None = None) -> list[tuple]:
    """(photo, pseudo-label target (h, w, 3), loss weight (h, w)) for each studio photo of `photos` (uint8
    (n, h, w, 3)) that can be pseudo-labelled and shows a product of at least 2 % of the frame."""
    out = []
    for i, photo in enumerate(photos):
        label = pseudo_label(photo, colours[i] if colours else None)
        if label is not None and (1 - label[0][..., 0]).mean() >= 0.02:
            out.append((photo, *label))
    return out


def refinement_data(masker, labelled: list[tuple], seed: int = 0, per_photo: int = 2):
    """Composites for the refinement (`ml.mask_labels.composite`: random backdrops, tiles, photographed
    textures) with the masker's inputs for each: (inputs (n, 6, h, w) float16, truth (n, 1, h, w), weight)."""
    from PIL import Image

    gen = torch.Generator().manual_seed(seed)
    xs, truths, weights = [], [], []
    for start in range(0, len(labelled), 32):
        chunk = labelled[start: start + 32]
        photos = torch.from_numpy(np.stack([p for p, _, _ in chunk])).permute(0, 3, 1, 2).float() / 255
        targets = torch.from_numpy(np.stack([t for _, t, _ in chunk])).permute(0, 3, 1, 2)
        for _ in range(per_photo):
            mixed, target = composite(photos, targets, gen, p_keep=0.15, p_empty=0.03, p_texture=0.3)
            for i, rgb in enumerate((mixed * 255).round().byte().permute(0, 2, 3, 1).numpy()):
                arr, coarse, cleanup, _ = masker.refinement_inputs(Image.fromarray(rgb))
                xs.append(inputs(arr, coarse, cleanup)[0].half())
                truths.append(1 - target[i, :1])
                weights.append(torch.from_numpy(chunk[i][2])[None])
    return torch.stack(xs), torch.stack(truths), torch.stack(weights)


def fit_refinement_and_chooser(masker, photos: np.ndarray, colours: list[str] | None, seed: int = 0,
                               config: MaskTrainConfig | None = None):
    """Train the full-resolution refinement for `masker`'s net on composites of the studio photos, then fit the
    chooser with it: (refiner, chooser, note). On a catalogue too small for a chooser, chooser is None and the
    note says why (the masker then keeps its fixed rule)."""
    c = config or MaskTrainConfig()
    labelled = labelled_photos(photos, colours)
    if not labelled:
        return None, None, "no studio photo to learn the refinement and the chooser from"
    if masker.refiner is None:  # (an export that already has its refinement only refits the chooser)
        x, truth, weight = refinement_data(masker, labelled[: c.refine_photos], seed)
        masker.refiner = RefineTrainer(x, truth, weight, seed=seed).train(min(c.refine_steps, 4 * len(labelled)))
    try:
        return masker.refiner, fit_chooser_on(masker, labelled[: c.chooser_photos], seed), ""
    except ValueError as exc:
        return masker.refiner, None, str(exc)


def fit_chooser_on(masker, labelled: list[tuple], seed: int = 0) -> MaskChooser:
    """Fit the cut-out chooser for `masker` on composites: each labelled studio photo (`labelled_photos`) on its
    own backdrop and on each class of `ml.mask_labels.composite_backdrops`."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    fgs = [(photo, 1 - target[..., 0]) for photo, target, _ in labelled]
    cases = []
    for k, (photo, fg) in enumerate(fgs):
        other, other_fg = fgs[(k + 7) % len(fgs)]
        for backdrop in composite_backdrops(*photo.shape[:2], rng, other, other_fg).values():
            cases.append((masker.evidence(Image.fromarray(place_on(photo, fg, backdrop))), fg))
    return fit_chooser(cases)


def soft_iou(pred: torch.Tensor, target: torch.Tensor) -> float:
    """IoU of soft masks (b, 1, h, w): sum(min) / sum(max)."""
    return float(torch.minimum(pred, target).sum() / torch.maximum(pred, target).sum().clamp(min=1e-6))
