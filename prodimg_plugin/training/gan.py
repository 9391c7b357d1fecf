"""How `prodimg_train gan` builds, resumes and exports the variant GAN (`ml.gan_train.GANTrainer`)."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ml.vocab import AttributeVocab
from prodimg_plugin.training.base import Callback, KindTraining, RunBase, TrainOptions
from prodimg_plugin.training.datasets import Dataset


class GanRun(RunBase):
    """A GANTrainer as `runs.train` drives it; `notes` and `reasons` say why each value of its configuration was
    chosen for this catalogue (by `ml.gan_auto`) or that the operator gave it."""

    def __init__(self, trainer, notes: list[str] | None = None, reasons: dict | None = None):
        super().__init__(trainer)
        self.notes, self.reasons = notes or [], reasons or {}

    @property
    def history(self) -> list[dict[str, float]]:
        return self.trainer.history

    def train(self, steps: int | None = None, minutes: float | None = None, cpu_minutes: float | None = None,
              callback: Callback | None = None) -> None:
        self.trainer.train(steps=steps, minutes=minutes, cpu_minutes=cpu_minutes, callback=callback)

    def metrics(self) -> dict:
        """Images drawn and CPU seconds over the whole training (resumed runs included)."""
        return {"images_seen": int(self.trainer.images_seen), "cpu_seconds_total": round(self.trainer.cpu_seconds, 3)}

    def config(self) -> dict:
        trainer = self.trainer
        config = {"model": asdict(trainer.config), "train": asdict(trainer.train_config),
                  "vocab": trainer.vocab.to_dict()}
        if self.reasons:
            config["auto"] = self.reasons  # why each value was chosen (or that the operator gave it)
        return config


class GanTraining(KindTraining):
    kind = "gan"

    def build(self, data: Dataset, vocab: AttributeVocab, opts: TrainOptions) -> GanRun:
        """A trainer configured for this catalogue by `ml.gan_auto` (size, channels, images, conditions), with the
        operator's --model-config / --train-config / --batch-size on top."""
        from ml.gan import GANConfig
        from ml.gan_auto import auto_config
        from ml.gan_train import GANTrainer

        plan = auto_config(len(data.images), opts.height, opts.width, opts.channels, vocab.sizes())
        plan = plan.apply(opts.extra.get("model", {}), opts.extra.get("train", {}))
        trainer = GANTrainer(GANConfig(**plan.model), data.images, vocab.encode_many(data.labels), vocab,
                             seed=opts.seed, **plan.train)
        return GanRun(trainer, plan.lines(), plan.reasons)

    def resume(self, path: Path, data: Dataset, vocab: AttributeVocab, opts: TrainOptions) -> GanRun:
        from ml.gan_train import GANTrainer

        return GanRun(GANTrainer.load(path, data.images, vocab.encode_many(data.labels)))
