"""`prodimg_train cvae`: builds, resumes and exports the attribute-edit CVAE for `runs.train`."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ml.vocab import AttributeVocab
from prodimg_plugin import weights
from prodimg_plugin.training.base import Callback, KindTraining, RunBase
from prodimg_plugin.training.datasets import Dataset


class CvaeRun(RunBase):
    """A CVAETrainer as `runs.train` drives it: callback(step, losses), a loss history, save / export.

    The history travels beside the checkpoint (`<checkpoint>.history.json`) so a resumed run's loss curves
    start from the beginning.
    """

    def __init__(self, trainer):
        super().__init__(trainer)
        self.history: list[dict[str, float]] = []

    def train(self, steps: int | None = None, minutes: float | None = None, cpu_minutes: float | None = None,
              callback: Callback | None = None) -> None:
        """Train `steps` more steps, for `minutes` or `cpu_minutes`; callback(step, losses) after each step."""
        def each(figures: dict) -> None:
            self.history.append({k: float(v) for k, v in figures.items()})
            if callback:
                callback(self.trainer.step_count, {k: v for k, v in figures.items() if k != "step"})

        if steps == 0:  # a resumed run that has already done its steps
            return
        self.trainer.train(steps=steps, minutes=minutes, cpu_minutes=cpu_minutes, callback=each)

    def save(self, path: Path) -> str:
        """The full training state (for --resume) and the loss history; returns the checkpoint's sha256."""
        sha = self.trainer.save(path)
        _history_path(path).write_text(json.dumps(self.history))
        return sha

    def load_history(self, path: Path) -> None:
        where = _history_path(path)
        rows = json.loads(where.read_text()) if where.exists() else []
        self.history = [r for r in rows if r.get("step", 0) <= self.step_count]

    def config(self) -> dict:
        trainer = self.trainer
        return {"model": asdict(trainer.config), "train": asdict(trainer.train_config), "vocab": trainer.vocab.to_dict()}


def _history_path(path: Path) -> Path:
    return Path(path).with_suffix(".history.json")


class CvaeTraining(KindTraining):
    """How `prodimg_train cvae` builds and resumes a CVAE training run."""

    kind = "cvae"

    def build(self, data: Dataset, vocab: AttributeVocab, opts) -> CvaeRun:
        from ml.cvae import CVAEConfig
        from ml.cvae_train import CVAETrainConfig, CVAETrainer

        config = CVAEConfig(height=opts.height, width=opts.width, channels=opts.channels, attr_sizes=vocab.sizes(),
                            **opts.extra.get("model", {}))
        train_config = CVAETrainConfig(**{"batch_size": opts.batch_size, **opts.extra.get("train", {})})
        trainer = CVAETrainer(config, data.images, vocab.encode_many(data.labels), vocab, seed=opts.seed,
                              train_config=train_config, device=weights.device())
        return CvaeRun(trainer)

    def resume(self, path: Path, data: Dataset, vocab: AttributeVocab, opts) -> CvaeRun:
        """Rebuild the run from its checkpoint: config, vocabulary and training settings come from the file."""
        from ml import checkpoint
        from ml.cvae import CVAEConfig
        from ml.cvae_train import CVAETrainConfig, CVAETrainer

        _, meta = checkpoint.load(path)
        if meta.get("kind") != self.kind or "train_config" not in meta:
            raise checkpoint.CheckpointError(f"{path} is not a resumable CVAE training checkpoint")
        vocab = AttributeVocab.from_dict(meta["vocab"])
        trainer = CVAETrainer(CVAEConfig(**meta["config"]), data.images, vocab.encode_many(data.labels), vocab,
                              seed=opts.seed, train_config=CVAETrainConfig(**meta["train_config"]),
                              device=weights.device())
        trainer.load(path)
        run = CvaeRun(trainer)
        run.load_history(path)
        return run
