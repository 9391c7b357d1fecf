"""`prodimg_train mask`: the product-mask net (background removal, recolouring), trained on the catalogue itself.

The net learns from pseudo-labels that `ml.mask_labels` makes from the catalogue's studio backdrops, so the
photos are loaded at twice the model's size (`data_scale`): the labels are made there and then reduced, which
keeps their edges soft and right. The catalogue's colour and category attributes label the colour palette that
the export carries (what recolouring reads).
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ml.vocab import category_attribute, colour_attribute
from prodimg_plugin import weights
from prodimg_plugin.training.base import Callback, KindTraining, RunBase
from prodimg_plugin.training.datasets import Dataset


def palette_labels(data: Dataset) -> tuple[list[str] | None, list[str] | None]:
    """(colours, categories), one per image, for the palette; None where the catalogue has no such attribute."""
    colour, category = colour_attribute(sorted(data.labels)), category_attribute(sorted(data.labels))
    return (data.labels[colour] if colour else None), (data.labels[category] if category else None)


class MaskRun(RunBase):
    """A MaskTrainer as `runs.train` drives it: callback(step, losses), its loss history, save / export.

    The history travels inside the training checkpoint, so a resumed run's loss curves start from the beginning.
    """

    vocab = None  # no conditions: the palette's labels are read from the data, not from a vocabulary

    @property
    def history(self) -> list[dict]:
        return self.trainer.history

    def metrics(self) -> dict:
        """How much of the catalogue could be pseudo-labelled, and how many colours the palette learnt."""
        t = self.trainer
        return {"labelled_images": t.labelled, "offered_images": t.offered, "palette_colours": len(t.palette.colours())}

    def train(self, steps: int | None = None, minutes: float | None = None, cpu_minutes: float | None = None,
              callback: Callback | None = None) -> None:
        """Train `steps` more steps and/or for `minutes` (wall) or `cpu_minutes` (this process's CPU time);
        callback(step, losses) after each step."""
        def each(figures: dict) -> None:
            if callback:
                callback(figures["step"], {k: v for k, v in figures.items() if k != "step"})

        self.trainer.train(steps=steps, minutes=minutes, callback=each, cpu_minutes=cpu_minutes)

    def config(self) -> dict:
        trainer = self.trainer
        return {"model": asdict(trainer.config), "train": asdict(trainer.train_config)}



class MaskTraining(KindTraining):
    """How `prodimg_train mask` builds, resumes and describes a mask training run."""

    kind = "mask"
    default_size = (96, 72)  # MaskConfig's: 2x the generators' 64x48, since edges are what a mask is for
    data_scale = 2  # photos are loaded at 2x the model's size: pseudo-labels are made there, then reduced

    def build(self, data: Dataset, vocab, opts) -> MaskRun:
        from ml.mask import MaskConfig
        from ml.mask_train import MaskTrainConfig

        config = MaskConfig(height=opts.height, width=opts.width, **opts.extra.get("model", {}))
        train_config = MaskTrainConfig(**{"batch_size": opts.batch_size, **opts.extra.get("train", {})})
        return self._run(config, train_config, data, opts.seed)

    def resume(self, path: Path, data: Dataset, vocab, opts) -> MaskRun:
        """Rebuild the run from its checkpoint: model and training settings come from the file."""
        from ml import checkpoint
        from ml.mask import MaskConfig
        from ml.mask_train import TRAIN_KIND, MaskTrainConfig

        _, meta = checkpoint.load(path)
        if meta.get("kind") != TRAIN_KIND:
            raise checkpoint.CheckpointError(f"{path} is not a resumable mask training checkpoint")
        run = self._run(MaskConfig(**meta["config"]), MaskTrainConfig(**meta["train_config"]), data, opts.seed)
        run.trainer.load(path)
        return run

    @staticmethod
    def _run(config, train_config, data: Dataset, seed: int) -> MaskRun:
        from ml.mask_train import MaskTrainer

        colours, categories = palette_labels(data)
        return MaskRun(MaskTrainer(config, data.images, colours, categories, seed=seed,
                                        train_config=train_config, device=weights.device()))
