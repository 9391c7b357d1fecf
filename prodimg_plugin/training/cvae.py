"""`prodimg_train cvae`: builds, resumes and exports the attribute-edit CVAE for `training.train`."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from ml.vocab import AttributeVocab

from prodimg_plugin import weights
from prodimg_plugin.training.datasets import Dataset


class CvaeTraining:
    """A CVAETrainer as `training.train` drives it: callback(step, losses), a loss history, save / export.

    The history travels beside the checkpoint (`<checkpoint>.history.json`) so a resumed run's loss curves
    start from the beginning.
    """

    def __init__(self, trainer):
        self.trainer = trainer
        self.history: list[dict[str, float]] = []

    @property
    def step_count(self) -> int:
        return self.trainer.step_count

    @property
    def vocab(self) -> AttributeVocab:
        return self.trainer.vocab

    def train(self, steps: int | None = None, minutes: float | None = None,
              callback: Callable[[int, dict], None] | None = None) -> list[dict[str, float]]:
        """Train `steps` more steps and/or for `minutes`; callback(step, losses) after each step."""
        def each(figures: dict) -> None:
            self.history.append({k: float(v) for k, v in figures.items()})
            if callback:
                callback(self.trainer.step_count, {k: v for k, v in figures.items() if k != "step"})

        if steps == 0:  # a resumed run that has already done its steps
            return self.history
        self.trainer.train(steps=steps, minutes=minutes, callback=each)
        return self.history

    def save(self, path: Path) -> str:
        """The full training state (for --resume) and the loss history; returns the checkpoint's sha256."""
        sha = self.trainer.save(path)
        _history_path(path).write_text(json.dumps(self.history))
        return sha

    def load_history(self, path: Path) -> None:
        where = _history_path(path)
        rows = json.loads(where.read_text()) if where.exists() else []
        self.history = [r for r in rows if r.get("step", 0) <= self.step_count]

    def export(self, path: Path) -> str:
        """The EMA weights with config and vocabulary, as `ml.edits.AttributeEditor` loads them."""
        return self.trainer.export(path)


def _history_path(path: Path) -> Path:
    return Path(path).with_suffix(".history.json")


class CvaeAdapter:
    """How `prodimg_train cvae` builds, resumes and describes a CVAE training run."""

    kind = "cvae"

    def build(self, data: Dataset, vocab: AttributeVocab, opts) -> CvaeTraining:
        from ml.cvae import CVAEConfig
        from ml.cvae_train import CVAETrainConfig, CVAETrainer

        config = CVAEConfig(height=opts.height, width=opts.width, channels=opts.channels, attr_sizes=vocab.sizes(),
                            **opts.extra.get("model", {}))
        train_config = CVAETrainConfig(**{"batch_size": opts.batch_size, **opts.extra.get("train", {})})
        trainer = CVAETrainer(config, data.images, vocab.encode_many(data.labels), vocab, seed=opts.seed,
                              train_config=train_config, device=weights.device())
        return CvaeTraining(trainer)

    def resume(self, path: Path, data: Dataset, vocab: AttributeVocab, opts) -> CvaeTraining:
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
        run = CvaeTraining(trainer)
        run.load_history(path)
        return run

    def config_of(self, run: CvaeTraining) -> dict:
        trainer = run.trainer
        return {"model": asdict(trainer.config), "train": asdict(trainer.tc), "vocab": trainer.vocab.to_dict()}


from prodimg_plugin.training import runs as training  # noqa: E402  (training imports this module at its bottom)

training.register_adapter("cvae", CvaeAdapter)
