"""A new shop's first models: train every kind it needs on its own catalogue within one CPU budget, or install
the bundled starter models (trained on the demo's drawings) with a warning. Resumable: run it again after a kill."""
from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from prodimg_plugin import weights
from prodimg_plugin.conf import BUNDLED_STARTER_MODELS
from prodimg_plugin.evaluation.base import EvaluationError
from prodimg_plugin.evaluation.judged import train_evaluator
from prodimg_plugin.training import runs
from prodimg_plugin.training.base import TrainOptions

# kind -> (share of the CPU budget, what the shop gets from it), in the order they are trained: the evaluator
# last, so that it is there to score what the others make from the first job on.
PLAN = {
    "gan": (0.45, "colourways and design variations"),
    "cvae": (0.25, "attribute edits"),
    "mask": (0.15, "background removal; recolouring kept inside the product"),
    "evaluator": (0.15, "the confidence shown on every generated image"),
}
STARTER_WARNING = ("These starter models were trained on the demo shop's procedural drawings, not on photos: "
                   "expect weak variants and edits on a real catalogue until `manage.py prodimg_setup "
                   "--cpu-minutes N` has trained models on your own photos.")


class Command(BaseCommand):
    help = ("Give a new shop its first models: train gan, cvae, mask and the evaluator on the catalogue within "
            "--cpu-minutes (one progress bar; run it again to resume), or --bundled to install the starter models.")

    def add_arguments(self, parser):
        parser.add_argument("--cpu-minutes", type=float, default=60.0,
                            help="CPU time for all kinds together, shared as the plan shows (default 60)")
        parser.add_argument("--bundled", action="store_true",
                            help="install the bundled starter models instead of training (trained on demo drawings)")
        parser.add_argument("--kinds", default=",".join(PLAN), help=f"a subset of {','.join(PLAN)}")
        parser.add_argument("--checkpoint-dir", type=Path, default=Path("checkpoints/setup"))
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **o):
        kinds = [k.strip() for k in o["kinds"].split(",") if k.strip()]
        unknown = sorted(set(kinds) - set(PLAN))
        if unknown or not kinds:
            raise CommandError(f"unknown kinds {unknown}: choose from {', '.join(PLAN)}")
        if o["bundled"]:
            return self._install_starters(kinds)
        if o["cpu_minutes"] <= 0:
            raise CommandError("--cpu-minutes must be above 0")
        budget = self._plan(kinds, o["cpu_minutes"])
        state_path = o["checkpoint_dir"] / "setup.json"
        done = json.loads(state_path.read_text()) if state_path.exists() else {}
        bar = tqdm(total=round(sum(budget.values()) * 60), unit="cpu-s", file=self.stderr._out,
                   disable=o["verbosity"] == 0, dynamic_ncols=True)
        try:
            for kind in kinds:
                if kind in done:
                    self.stdout.write(f"{kind}: done earlier (model version #{done[kind]}), skipped.")
                    bar.update(round(budget[kind] * 60))
                    continue
                version = self._train(kind, budget[kind], o, bar)
                done[kind] = version.pk
                state_path.parent.mkdir(parents=True, exist_ok=True)
                state_path.write_text(json.dumps(done))
                self.stdout.write(f"{kind}: {version} is active.")
        finally:
            bar.close()
        self.stdout.write(self.style.SUCCESS(f"Set up {', '.join(kinds)}. Try it: select product images in the "
                                             "admin and choose “Generate variants (AI)”."))

    def _plan(self, kinds: list[str], cpu_minutes: float) -> dict[str, float]:
        total = sum(PLAN[k][0] for k in kinds)
        budget = {k: cpu_minutes * PLAN[k][0] / total for k in kinds}
        self.stdout.write(f"Training {len(kinds)} kinds on this catalogue, {cpu_minutes:g} CPU-minutes in all:")
        for n, kind in enumerate(kinds, 1):
            self.stdout.write(f"  {n}. {kind:<10} {budget[kind]:6.1f} CPU-min  ({PLAN[kind][1]})")
        return budget

    def _train(self, kind: str, cpu_minutes: float, o, bar):
        started = time.process_time()
        offset = bar.n

        def progress(*_):
            bar.n = min(bar.total, offset + round(time.process_time() - started))
            bar.refresh()

        folder = o["checkpoint_dir"] / kind
        try:
            if kind == "evaluator":
                folder.mkdir(parents=True, exist_ok=True)
                return train_evaluator(folder / "evaluator.safetensors", cpu_minutes, o["seed"], _command_line(),
                                       progress)
            training = runs.training_for(kind)
            height, width = training.default_size
            opts = TrainOptions(kind=kind, seed=o["seed"], cpu_minutes=cpu_minutes, height=height, width=width,
                                checkpoint_dir=folder, resume=True, command=_command_line())
            return runs.train(opts, training.load_data(opts), progress)
        except (ValueError, EvaluationError) as exc:
            raise CommandError(f"{kind}: {exc}") from exc

    def _install_starters(self, kinds: list[str]) -> None:
        self.stdout.write(self.style.WARNING(STARTER_WARNING))
        for kind in kinds:
            path = BUNDLED_STARTER_MODELS / f"{kind}.safetensors"
            info_path = path.with_suffix(".json")
            info = json.loads(info_path.read_text()) if info_path.exists() else {}
            version = weights.register_weights(kind, path.read_bytes(), name=f"starter {path.name} (demo drawings)",
                                               config=info.get("config", {}), metrics=info.get("metrics", {}),
                                               command=info.get("command", ""))
            self.stdout.write(f"{kind}: starter model installed as {version}.")


def _command_line() -> str:
    return "manage.py " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["prodimg_setup"] else "manage.py prodimg_setup"
