"""Training runs behind `manage.py prodimg_train`: data, trainer, checkpoints, loss curves, ModelVersion."""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ml.vocab import AttributeVocab

from prodimg_plugin import weights
from prodimg_plugin.training.datasets import Dataset


@dataclass
class TrainOptions:
    kind: str
    seed: int = 0
    minutes: float | None = None
    cpu_minutes: float | None = None  # process CPU time: a fair budget on a shared machine (kinds with cpu_budget)
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


class GanAdapter:
    """How `prodimg_train gan` builds, resumes and exports a GANTrainer."""

    kind = "gan"
    cpu_budget = True  # GANTrainer.train takes cpu_minutes

    def build(self, data: Dataset, vocab: AttributeVocab, opts: TrainOptions):
        """A trainer configured for this catalogue by `ml.gan_auto` (size, channels, images, conditions), with the
        operator's --model-config / --train-config / --batch-size on top; `trainer.config_notes` says why."""
        from ml.gan import GANConfig
        from ml.gan_auto import auto_config
        from ml.gan_train import GANTrainer

        plan = auto_config(len(data.images), opts.height, opts.width, opts.channels, vocab.sizes())
        plan = plan.apply(opts.extra.get("model", {}), opts.extra.get("train", {}))
        trainer = GANTrainer(GANConfig(**plan.model), data.images, vocab.encode_many(data.labels), vocab,
                             seed=opts.seed, **plan.train)
        trainer.config_notes, trainer.config_reasons = plan.lines(), plan.reasons
        return trainer

    def resume(self, path: Path, data: Dataset, vocab: AttributeVocab, opts: TrainOptions):
        from ml.gan_train import GANTrainer

        return GANTrainer.load(path, data.images, vocab.encode_many(data.labels))

    def config_of(self, trainer) -> dict:
        config = {"model": asdict(trainer.config), "train": asdict(trainer.train_config),
                  "vocab": trainer.vocab.to_dict()}
        if getattr(trainer, "config_reasons", None):
            config["auto"] = trainer.config_reasons  # why each value was chosen (or that the operator gave it)
        return config


ADAPTERS: dict[str, Callable[[], object]] = {"gan": GanAdapter}


def register_adapter(kind: str, adapter) -> None:
    ADAPTERS[kind] = adapter


def total_steps(opts: TrainOptions, n_images: int, batch_size: int | None = None) -> int | None:
    """The run's length in steps when it is given in steps or epochs (of `batch_size`, default the option's)."""
    if opts.steps:
        return opts.steps
    if opts.epochs:
        return opts.epochs * max(1, math.ceil(n_images / (batch_size or opts.batch_size)))
    return None


def supports_cpu_budget(kind: str) -> bool:
    return bool(getattr(ADAPTERS[kind], "cpu_budget", False))


def _batch_size(trainer, opts: TrainOptions) -> int:
    """The batch the trainer actually uses (a GAN's may come from its auto-configuration)."""
    train_config = getattr(trainer, "train_config", None)
    return getattr(train_config, "batch_size", None) or opts.batch_size


def train(opts: TrainOptions, data: Dataset, on_step: Callable[[int, dict], None] | None = None, vocab=None,
          report: Callable[[str], None] | None = None):
    """Train (or resume), checkpoint every few minutes, save loss curves, export and register the weights.

    report(line) receives the configuration a kind chose for this catalogue, one line per value, with its reason.
    """
    if len(data.images) == 0:
        raise ValueError("no training images: the catalogue (or folder) has no readable images")
    if opts.cpu_minutes is not None and not supports_cpu_budget(opts.kind):
        raise ValueError(f"--cpu-minutes is not available for {opts.kind} (its trainer has no CPU budget): "
                         "use --minutes")
    adapter = ADAPTERS[opts.kind]()
    ckpt_dir = Path(opts.checkpoint_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt = ckpt_dir / "train.safetensors"
    vocab = vocab or AttributeVocab.build(data.labels, min_count=2, max_values=48)
    if opts.resume and ckpt.exists():
        trainer = adapter.resume(ckpt, data, vocab, opts)
        vocab = trainer.vocab
    else:
        trainer = adapter.build(data, vocab, opts)
        notes = getattr(trainer, "config_notes", None) or []
        if notes and report:
            report("Configuration for this catalogue (value: why):")
            for line in notes:
                report(f"  {line}")
    steps = total_steps(opts, len(data.images), _batch_size(trainer, opts))
    if steps is not None:
        steps = max(0, steps - trainer.step_count) if opts.resume else steps
    last = [time.monotonic()]

    def callback(step: int, losses: dict):
        if on_step:
            on_step(step, losses)
        if time.monotonic() - last[0] > opts.checkpoint_minutes * 60:
            trainer.save(ckpt)
            last[0] = time.monotonic()

    limits = {"steps": steps, "minutes": opts.minutes}
    if opts.cpu_minutes is not None:
        limits["cpu_minutes"] = opts.cpu_minutes
    started, cpu_started, first_step = time.monotonic(), time.process_time(), trainer.step_count
    trainer.train(**limits, callback=callback)
    trainer.save(ckpt)
    spent = {"wall_seconds": time.monotonic() - started, "cpu_seconds": time.process_time() - cpu_started,
             "run_steps": trainer.step_count - first_step}
    return finish(adapter, trainer, opts, data, ckpt_dir, spent)


def run_figures(trainer, opts: TrainOptions, spent: dict) -> dict:
    """Steps, images seen and the CPU / wall seconds of this run (resumed runs: `steps`, `images_seen` count the
    whole training, `cpu_seconds`, `wall_seconds`, `run_steps` this run only)."""
    seen = getattr(trainer, "images_seen", None)
    if seen is None:
        seen = trainer.step_count * _batch_size(trainer, opts)
    figures = {"steps": trainer.step_count, "images_seen": int(seen), "run_steps": spent.get("run_steps"),
               "cpu_seconds": round(spent.get("cpu_seconds", 0.0), 3),
               "wall_seconds": round(spent.get("wall_seconds", 0.0), 1),
               "train_seconds": round(spent.get("wall_seconds", 0.0), 1)}  # the older name of wall_seconds
    if getattr(trainer, "cpu_seconds", None) is not None:
        figures["cpu_seconds_total"] = round(trainer.cpu_seconds, 3)
    return figures


def finish(adapter, trainer, opts: TrainOptions, data: Dataset, ckpt_dir: Path, spent: dict):
    from ml.training import plot_losses

    if trainer.history:
        plot_losses(trainer.history, ckpt_dir / "losses.png")
    weights_path = ckpt_dir / f"{opts.kind}.safetensors"
    trainer.export(weights_path)
    last = trainer.history[-1] if trainer.history else {}
    metrics = {**run_figures(trainer, opts, spent), "images": len(data.images),
               **{f"final_{k}": round(float(v), 4) for k, v in last.items() if k != "step"},
               **(getattr(trainer, "eval_metrics", None) or {})}  # figures a run measures on export (sr: held-out PSNR)
    budget = {k: getattr(opts, k) for k in ("steps", "epochs", "minutes", "cpu_minutes") if getattr(opts, k)}
    config = {**adapter.config_of(trainer), "seed": opts.seed, "budget": budget}
    data_bytes = weights_path.read_bytes()
    version = weights.register_weights(opts.kind, data_bytes, name=f"{opts.kind} step {trainer.step_count}",
                                        activate=opts.activate, config=config, metrics=metrics, command=opts.command)
    if opts.export_to:
        export_bundle(Path(opts.export_to), opts.kind, data_bytes, config, metrics, opts.command)
    return version


def export_bundle(folder: Path, kind: str, data: bytes, config: dict, metrics: dict, command: str) -> None:
    """Write <kind>.safetensors and <kind>.json (config, metrics, the command and seed) for shipping."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{kind}.safetensors").write_bytes(data)
    info = {"command": command, "seed": config.get("seed"), "config": config, "metrics": metrics,
            "sha256": weights.sha256_bytes(data)}
    (folder / f"{kind}.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


from prodimg_plugin.training import cvae as training_cvae  # noqa: E402,F401  (registers the "cvae" adapter)
from prodimg_plugin.training import sr as training_sr  # noqa: E402,F401  (registers the "sr" adapter)
from prodimg_plugin.training import mask as training_mask  # noqa: E402,F401  (registers the "mask" adapter)
