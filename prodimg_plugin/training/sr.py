"""`prodimg_train sr`: the 2x super-resolution net, trained on the catalogue's own photos at full size.

Unlike the GAN and the CVAE, which train on a stack of photos at the model's small size, SR learns from
(bicubic-downscaled, original) pairs of the photos as they are, so the adapter loads its own data
(`load_data`, which the command asks for). Every HELD_OUT_EVERY-th photo is kept out of training; when the
run is exported the net and bicubic are both scored on those photos, and the PSNRs land in the
ModelVersion's metrics (`psnr_model`, `psnr_bicubic`, `gain_db`, ...). Enhancement uses the model only
where `psnr_model` beats `psnr_bicubic`.
"""
from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ml.images import to_rgb
from prodimg_plugin import weights
from prodimg_plugin.host import get_image_model
from prodimg_plugin.images import BadSourceImage, open_source
from prodimg_plugin.training.base import Callback, KindTraining, RunBase, TrainOptions

HELD_OUT_EVERY = 10  # one photo in ten is held out to compare the net with bicubic
MAX_IMAGES = 1000  # without --limit, at most this many photos, spread evenly over the catalogue (memory)
MAX_SIDE = 512  # larger photos are reduced to this: the pairs are held in memory as uint8


@dataclass
class Photos:
    """What `training.train` takes as `data` for SR: photos of any size, unconditional."""

    images: list[np.ndarray]  # uint8 (h, w, 3) training photos
    held_out: list[np.ndarray]  # uint8 (h, w, 3) photos never trained on
    labels: dict = field(default_factory=dict)  # SR has no attributes
    skipped: list[str] = field(default_factory=list)  # why some photos were left out

    def add(self, picture: Image.Image, index: int) -> None:
        """Photo number `index` of the run: every HELD_OUT_EVERY-th one goes to the held-out set."""
        picture = to_rgb(picture)
        picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        (self.held_out if index % HELD_OUT_EVERY == HELD_OUT_EVERY - 1 else self.images).append(np.asarray(picture))


def load_data(folder: Path | None = None, labels: Path | None = None, image_column: str = "original",
              split: str | None = "train", limit: int | None = None) -> Photos:
    """The catalogue's photos (or those a labels CSV names under `folder`), at most `limit` of them."""
    if folder is not None:
        return from_folder(Path(folder), Path(labels), image_column, split, limit)
    return from_catalogue(limit)


def from_catalogue(limit: int | None = None) -> Photos:
    """Host product photos, evenly spaced over the catalogue when it has more than `limit` (or MAX_IMAGES)."""
    qs = get_image_model()._default_manager.order_by("pk")
    stride = max(1, math.ceil(qs.count() / (limit or MAX_IMAGES)))
    photos = Photos([], [])
    for n, image in enumerate(qs.iterator(chunk_size=200)):
        if n % stride:
            continue
        try:
            photos.add(open_source(image), len(photos.images) + len(photos.held_out))
        except BadSourceImage as exc:
            photos.skipped.append(str(exc))
    return photos


def from_folder(folder: Path, labels: Path, image_column: str, split: str | None, limit: int | None) -> Photos:
    """Photos named in a CSV column, relative to `folder`, rows of `split` only (benchmarks)."""
    photos = Photos([], [])
    with open(labels, newline="") as fh:
        for row in csv.DictReader(fh):
            path = folder / (row.get(image_column) or "")
            if (split and row.get("split", split) != split) or not path.is_file():
                continue
            try:
                with Image.open(path) as im:
                    photos.add(im, len(photos.images) + len(photos.held_out))
            except OSError as exc:
                photos.skipped.append(f"{path.name}: {exc}")
            if len(photos.images) + len(photos.held_out) >= (limit or MAX_IMAGES):
                break
    return photos


class SrRun(RunBase):
    """An SRTrainer as `runs.train` drives it: callback(step, losses), a loss history, held-out metrics."""

    vocab = None  # unconditional: no attributes

    def __init__(self, trainer, held_out: list[np.ndarray]):
        super().__init__(trainer)
        self.held_out = held_out
        self.history: list[dict[str, float]] = []
        self.held_out_figures: dict = {}  # measured when the weights are exported

    def train(self, steps: int | None = None, minutes: float | None = None, cpu_minutes: float | None = None,
              callback: Callback | None = None) -> None:
        def each(step: int, loss: float) -> None:
            self.history.append({"step": step, "l1": loss})
            if callback:
                callback(step, {"l1": loss})

        self.trainer.train(steps=steps, minutes=minutes, cpu_minutes=cpu_minutes, callback=each)

    def export(self, path: Path) -> str:
        """Score the net against bicubic on the held-out photos, then write the weights with those figures."""
        self.held_out_figures = held_out_metrics(self.trainer.upscaler(), self.held_out)
        return self.trainer.export(path, metrics=self.held_out_figures)

    def metrics(self) -> dict:
        """The net against bicubic on the held-out photos (after export)."""
        return self.held_out_figures

    def config(self) -> dict:
        return {"model": asdict(self.trainer.cfg)}


def held_out_metrics(upscaler, photos: list[np.ndarray]) -> dict:
    """PSNR of the net and of bicubic on photos never trained on (empty when there are none)."""
    from ml.upscale import evaluate

    if not photos:
        return {}
    figures = evaluate(upscaler, photos)
    return {"psnr_model": round(figures["psnr_model"], 3), "psnr_bicubic": round(figures["psnr_bicubic"], 3),
            "psnr_lanczos": round(figures["psnr_lanczos"], 3), "gain_db": round(figures["gain_db"], 3),
            "beats_bicubic": bool(figures["beats_bicubic"]), "held_out_images": figures["images"]}


class SrTraining(KindTraining):
    """How `prodimg_train sr` loads its photos and builds, resumes and describes an SR training run."""

    kind = "sr"

    def load_data(self, opts: TrainOptions) -> Photos:
        """Full-size photos, not a stack at the model's size: the net learns from their own pixels."""
        return load_data(opts.from_folder, opts.labels, opts.image_column, opts.split, opts.limit)

    def build(self, data: Photos, vocab, opts) -> SrRun:
        from ml.sr import SRConfig
        from ml.sr_train import SRTrainer

        config = SRConfig(**{"batch_size": opts.batch_size, **opts.extra.get("model", {})})
        return SrRun(SRTrainer(data.images, config, seed=opts.seed, device=weights.device()), data.held_out)

    def resume(self, path: Path, data: Photos, vocab, opts) -> SrRun:
        from ml.sr_train import SRTrainer

        return SrRun(SRTrainer.from_checkpoint(path, data.images, device=weights.device()), data.held_out)
