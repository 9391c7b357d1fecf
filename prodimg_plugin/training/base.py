"""What every model kind's training implements, so that `runs.train` drives them all the same way.

A kind provides a `KindTraining` (registered on its `kinds.ModelKind`): it loads the kind's data and builds, or
resumes from a checkpoint, a `Trainer`: the run itself, which trains under a budget (steps, wall minutes or CPU
minutes), saves its full state for --resume, exports the weights its loader reads, and says what it measured.
Nothing is probed with getattr: a kind that has nothing to say returns the base class's answer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from ml.vocab import AttributeVocab
from prodimg_plugin.training import datasets


@dataclass
class TrainOptions:
    kind: str
    seed: int = 0
    minutes: float | None = None
    cpu_minutes: float | None = None  # process CPU time: a fair budget on a shared machine
    epochs: int | None = None
    steps: int | None = None
    batch_size: int = 32
    height: int = 64
    width: int = 48
    channels: int = 3
    checkpoint_dir: Path = Path("checkpoints")
    checkpoint_minutes: float = 3.0
    resume: bool = False
    activate: bool = True
    export_to: Path | None = None  # also write the sampling weights + info here (bundled defaults)
    command: str = ""
    extra: dict = field(default_factory=dict)
    # where the data comes from: the catalogue, or (benchmarks) a folder of images named in a labels CSV
    from_folder: Path | None = None
    labels: Path | None = None
    image_column: str = "original"
    attributes: list[str] = field(default_factory=lambda: ["articleType", "baseColour"])
    split: str | None = "train"
    limit: int | None = None


Callback = Callable[[int, dict], None]  # (step, losses) after each step


class Trainer(Protocol):
    """One training run of a kind, as `runs.train` drives it."""

    history: list[dict[str, float]]  # one row of figures per step ("step" and the losses)
    vocab: AttributeVocab | None  # the conditions it learns (None: an unconditional kind)
    notes: list[str]  # how this run was configured for the catalogue, one "value: why" line each

    @property
    def step_count(self) -> int: ...

    @property
    def batch_size(self) -> int: ...

    def train(self, steps: int | None = None, minutes: float | None = None, cpu_minutes: float | None = None,
              callback: Callback | None = None) -> None:
        """Train `steps` more steps, or until `minutes` of wall time or `cpu_minutes` of this process's CPU time."""

    def save(self, path: Path) -> str:
        """The full training state, for --resume; returns the file's sha256."""

    def export(self, path: Path) -> str:
        """The weights (with config and vocabulary) the kind's loader reads; returns the file's sha256."""

    def metrics(self) -> dict:
        """Figures this run measured, recorded on the ModelVersion (images seen, CPU time, held-out scores)."""

    def config(self) -> dict:
        """The model and training configuration, recorded on the ModelVersion."""


class KindTraining:
    """How `prodimg_train <kind>` loads a kind's data and builds or resumes its `Trainer`. Subclass per kind."""

    kind: str = ""
    default_size: tuple[int, int] = (64, 48)  # (height, width) of the model when --size is not given
    data_scale: int = 1  # photos are loaded at this multiple of the model's size (mask: labels made at 2x)

    def load_data(self, opts: TrainOptions):
        """The training data: the catalogue's images at the model's size (times data_scale), or a folder's."""
        height, width = opts.height * self.data_scale, opts.width * self.data_scale
        if opts.from_folder:
            return datasets.from_folder(opts.from_folder, opts.labels, opts.attributes, height, width, opts.channels,
                                        opts.image_column, opts.split, opts.limit)
        return datasets.from_catalogue(height, width, opts.channels, opts.limit)

    def build(self, data, vocab: AttributeVocab, opts: TrainOptions) -> Trainer:
        raise NotImplementedError

    def resume(self, path: Path, data, vocab: AttributeVocab, opts: TrainOptions) -> Trainer:
        raise NotImplementedError


class RunBase:
    """A `Trainer` over an `ml` trainer: what a kind's run delegates to it unless the kind says otherwise."""

    notes: list[str] = []

    def __init__(self, trainer):
        self.trainer = trainer  # an ml trainer: step_count, train_config, save(path), export(path)

    @property
    def step_count(self) -> int:
        return self.trainer.step_count

    @property
    def batch_size(self) -> int:
        return self.trainer.train_config.batch_size

    @property
    def vocab(self) -> AttributeVocab | None:
        return self.trainer.vocab

    def save(self, path: Path) -> str:
        return self.trainer.save(path)

    def export(self, path: Path) -> str:
        return self.trainer.export(path)

    def metrics(self) -> dict:
        return {}


def total_steps(opts: TrainOptions, n_images: int, batch_size: int | None = None) -> int | None:
    """The run's length in steps when it is given in steps or epochs (of `batch_size`, default the option's)."""
    if opts.steps:
        return opts.steps
    if opts.epochs:
        return opts.epochs * max(1, math.ceil(n_images / (batch_size or opts.batch_size)))
    return None
