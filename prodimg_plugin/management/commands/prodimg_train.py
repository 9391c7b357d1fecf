"""Train a model on the shop's catalogue (or a folder + labels CSV) and register it as a ModelVersion."""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from prodimg_plugin.kinds import trainable
from prodimg_plugin.training import runs
from prodimg_plugin.training.base import TrainOptions, total_steps


class Command(BaseCommand):
    help = ("Train a prodimg model: gan (variants), cvae (attribute edits), sr (super-resolution), "
            "mask (background removal). Progress bar, checkpoints every few minutes, --resume after a kill.")

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=trainable())
        limit = parser.add_mutually_exclusive_group()
        limit.add_argument("--minutes", type=float, help="train for this long (wall-clock time)")
        limit.add_argument("--cpu-minutes", type=float,
                           help="train until this process has used this much CPU time (a fair budget on a shared "
                                "machine)")
        limit.add_argument("--epochs", type=int, help="passes over the training images")
        limit.add_argument("--steps", type=int, help="optimiser steps")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --checkpoint-dir")
        parser.add_argument("--batch-size", type=int,
                            help="default: chosen from the catalogue (gan), 32 (other kinds)")
        parser.add_argument("--size", help="HEIGHTxWIDTH of the model (default 64x48, 3:4; mask: 96x72)")
        parser.add_argument("--grayscale", action="store_true")
        parser.add_argument("--model-config", type=json.loads, default={},
                            help='JSON overriding the model config, e.g. \'{"g_width": 32}\'')
        parser.add_argument("--train-config", type=json.loads, default={},
                            help='JSON overriding the training config, e.g. \'{"lr": 3e-4}\'')
        parser.add_argument("--checkpoint-dir", type=Path, help="default: checkpoints/<kind>")
        parser.add_argument("--checkpoint-minutes", type=float, default=3.0)
        parser.add_argument("--from-folder", type=Path, help="train on images in this folder instead of the catalogue")
        parser.add_argument("--labels", type=Path, help="CSV naming the images (--image-column) and their attributes")
        parser.add_argument("--image-column", default="original")
        parser.add_argument("--attributes", default="articleType,baseColour", help="CSV columns used as conditions")
        parser.add_argument("--split", default="train", help="rows of this split only ('' for all)")
        parser.add_argument("--limit", type=int, help="at most this many images")
        parser.add_argument("--no-activate", action="store_true", help="register the version without activating it")
        parser.add_argument("--export-to", type=Path, help="also write <kind>.safetensors + <kind>.json here")
        parser.add_argument("--threads", type=int, help="torch threads (1 is fastest on a busy machine)")
        parser.add_argument("--queue", action="store_true",
                            help="run on the long-work cluster (PRODIMG['LONG_CLUSTER']) instead of here")

    def handle(self, *args, **o):
        if not (o["minutes"] or o["cpu_minutes"] or o["epochs"] or o["steps"]):
            raise CommandError("say how long to train: --minutes N, --cpu-minutes N, --epochs N or --steps N")
        kind = runs.training_for(o["kind"])
        height, width = _size(o["size"]) if o["size"] else kind.default_size
        if o["queue"]:
            return self._queue()
        if o["threads"]:
            import torch

            torch.set_num_threads(o["threads"])
        opts = _options(o, height, width)
        if opts.from_folder and not opts.labels:
            raise CommandError("--from-folder needs --labels CSV")
        data = kind.load_data(opts)
        self.stdout.write(f"Training {opts.kind} on {len(data.images)} images"
                          f"{f' ({len(data.skipped)} unreadable, skipped)' if data.skipped else ''}.")
        bar = tqdm(total=total_steps(opts, len(data.images)), unit="step", file=self.stderr._out,
                   disable=o["verbosity"] == 0, dynamic_ncols=True)

        def on_step(step, losses):
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items() if k != "step"}, refresh=False)

        try:
            version = runs.train(opts, data, on_step, report=self.stdout.write)
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.stdout.write(self.style.SUCCESS(
            f"Saved {version} ({version.weights.name}, sha256 {version.sha256[:12]}); "
            f"loss curves in {opts.checkpoint_dir / 'losses.png'}."))

    def _queue(self) -> None:
        from django_q.tasks import async_task

        from prodimg_plugin.conf import prodimg_settings

        argv = [a for a in sys.argv[2:] if a != "--queue"]
        task = async_task("prodimg_plugin.tasks.train_model", argv, cluster=prodimg_settings.LONG_CLUSTER)
        self.stdout.write(f"Queued training task {task} on the {prodimg_settings.LONG_CLUSTER} cluster "
                          f"(run it with: Q_CLUSTER_NAME={prodimg_settings.LONG_CLUSTER} manage.py qcluster).")



def _options(o, height: int, width: int) -> TrainOptions:
    return TrainOptions(
        kind=o["kind"], seed=o["seed"], minutes=o["minutes"], cpu_minutes=o["cpu_minutes"], epochs=o["epochs"],
        steps=o["steps"], batch_size=o["batch_size"] or 32, height=height, width=width,
        channels=1 if o["grayscale"] else 3, checkpoint_dir=o["checkpoint_dir"] or Path("checkpoints") / o["kind"],
        checkpoint_minutes=o["checkpoint_minutes"], resume=o["resume"], activate=not o["no_activate"],
        export_to=o["export_to"], extra={"model": o["model_config"], "train": _train_overrides(o)},
        command=_command_line(o["kind"]), from_folder=o["from_folder"], labels=o["labels"],
        image_column=o["image_column"], attributes=[a.strip() for a in o["attributes"].split(",") if a.strip()],
        split=o["split"] or None, limit=o["limit"])


def _command_line(kind: str) -> str:
    """The command as typed (for the ModelVersion and bundled weights), or its gist when called from code."""
    if sys.argv[1:2] == ["prodimg_train"]:
        return "manage.py " + shlex.join(sys.argv[1:])
    return f"manage.py prodimg_train {kind}"


def _train_overrides(o) -> dict:
    """Training settings the operator gave (the rest are the kind's defaults or its auto-configuration)."""
    return {**o["train_config"], **({"batch_size": o["batch_size"]} if o["batch_size"] else {})}


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CommandError(f"--size must look like 64x48 (HEIGHTxWIDTH), not {text!r}") from None
    return h, w
