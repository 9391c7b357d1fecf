"""What every offline evaluation shares: the `Evaluation` entry that `manage.py prodimg_eval <kind>` runs, its
error, and how reports write figures.

To add an evaluation, write a function `options -> JSON-able report`, a formatter `report -> text`, optionally a
function adding its command-line options, and register them in `prodimg_plugin.kinds`:

    evaluations.register("gan", "prodimg_plugin.evaluation.gan.GAN")   # GAN = Evaluation(run_gan, format_gan, ...)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


def pct(value) -> str:
    """A share as a whole percentage for reports; a dash when it could not be measured."""
    return "—" if value is None else f"{100 * value:.0f} %"


def num(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


class EvaluationError(Exception):
    """Nothing to evaluate, or bad options; the message says what to do."""


@dataclass
class Evaluation:
    run: Callable[[dict], dict]  # options (parsed command-line) -> JSON-able report
    format: Callable[[dict], str]  # report -> a plain-text table
    add_arguments: Callable | None = None  # (argparse parser) -> None
    help: str = ""
