"""Training runs behind `manage.py prodimg_train`: data, trainer, checkpoints, loss curves, ModelVersion.

Every kind is driven the same way, through its `base.KindTraining` (registered on the kind in
`prodimg_plugin.kinds`) and the `base.Trainer` it builds.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from ml.vocab import AttributeVocab
from prodimg_plugin import weights
from prodimg_plugin.kinds import model_kinds
from prodimg_plugin.training.base import KindTraining, Trainer, TrainOptions, total_steps


def training_for(kind: str) -> KindTraining:
    """The kind's training (NotRegistered for an unknown kind; ValueError for one prodimg_train cannot train)."""
    cls = model_kinds.get(kind).training_class()
    if cls is None:
        raise ValueError(f"{kind} models are not trained by prodimg_train")
    return cls()


def train(opts: TrainOptions, data, on_step: Callable[[int, dict], None] | None = None, vocab=None,
          report: Callable[[str], None] | None = None):
    """Train (or resume), checkpoint every few minutes, save loss curves, export and register the weights.

    report(line) receives the configuration a kind chose for this catalogue, one line per value, with its reason.
    """
    if len(data.images) == 0:
        raise ValueError("no training images: the catalogue (or folder) has no readable images")
    kind = training_for(opts.kind)
    ckpt_dir = Path(opts.checkpoint_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    ckpt = ckpt_dir / "train.safetensors"
    vocab = vocab or AttributeVocab.build(data.labels, min_count=2, max_values=48)
    if opts.resume and ckpt.exists():
        trainer = kind.resume(ckpt, data, vocab, opts)
        vocab = trainer.vocab
    else:
        trainer = kind.build(data, vocab, opts)
        if trainer.notes and report:
            report("Configuration for this catalogue (value: why):")
            for line in trainer.notes:
                report(f"  {line}")
    steps = total_steps(opts, len(data.images), trainer.batch_size)
    if steps is not None:
        steps = max(0, steps - trainer.step_count) if opts.resume else steps
    last = [time.monotonic()]

    def callback(step: int, losses: dict):
        if on_step:
            on_step(step, losses)
        if time.monotonic() - last[0] > opts.checkpoint_minutes * 60:
            trainer.save(ckpt)
            last[0] = time.monotonic()

    started, cpu_started, first_step = time.monotonic(), time.process_time(), trainer.step_count
    trainer.train(steps=steps, minutes=opts.minutes, cpu_minutes=opts.cpu_minutes, callback=callback)
    trainer.save(ckpt)
    spent = {"wall_seconds": time.monotonic() - started, "cpu_seconds": time.process_time() - cpu_started,
             "run_steps": trainer.step_count - first_step}
    return finish(trainer, opts, data, ckpt_dir, spent)


def run_figures(trainer, opts: TrainOptions, spent: dict) -> dict:
    """Steps, images seen and the CPU / wall seconds of this run (resumed runs: `steps`, `images_seen` count the
    whole training, `cpu_seconds`, `wall_seconds`, `run_steps` this run only)."""
    figures = {"steps": trainer.step_count, "images_seen": trainer.step_count * trainer.batch_size,
               "run_steps": spent.get("run_steps"), "cpu_seconds": round(spent.get("cpu_seconds", 0.0), 3),
               "wall_seconds": round(spent.get("wall_seconds", 0.0), 1)}
    return {**figures, **trainer.metrics()}  # a kind that counts images or CPU time itself says so


def finish(trainer: Trainer, opts: TrainOptions, data, ckpt_dir: Path, spent: dict):
    """Export the weights, register them as a ModelVersion with the run's figures, and bundle them if asked."""
    from ml.training import plot_losses

    if trainer.history:
        plot_losses(trainer.history, ckpt_dir / "losses.png")
    weights_path = ckpt_dir / f"{opts.kind}.safetensors"
    trainer.export(weights_path)
    last = trainer.history[-1] if trainer.history else {}
    metrics = {**run_figures(trainer, opts, spent), "images": len(data.images),
               **{f"final_{k}": round(float(v), 4) for k, v in last.items() if k != "step"}}
    budget = {k: getattr(opts, k) for k in ("steps", "epochs", "minutes", "cpu_minutes") if getattr(opts, k)}
    config = {**trainer.config(), "seed": opts.seed, "budget": budget}
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
