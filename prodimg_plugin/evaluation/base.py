"""Offline evaluations, one per kind: `manage.py prodimg_eval <kind>` runs EVALUATIONS[kind].

To add a kind (gan, cvae, ...), write a function `options -> JSON-able report`, a formatter `report -> text`,
optionally a function adding its command-line options, and register them:

    EVALUATIONS["gan"] = Evaluation(run=evaluate_gan, format=format_gan, add_arguments=gan_arguments,
                                    help="...")
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Callable

import numpy as np
from django.db.models import Min
from django.utils import timezone

from ml import offpolicy

from prodimg_plugin.models import ImageEvent, RecommenderState
from prodimg_plugin.storefront.recommenders import Feedback, ThompsonRecommender
from prodimg_plugin.storefront import personalize
from prodimg_plugin.storefront.state import StateStore


NOTHING_LOGGED = "No logged decisions with propensities to evaluate: let shoppers browse the personalised storefront"


def pct(value) -> str:
    """A share as a whole percentage for reports; a dash when it could not be measured."""
    return "—" if value is None else f"{100 * value:.0f} %"


def num(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


class EvaluationError(Exception):
    """Nothing to evaluate, or bad options; the message says what to do."""


@dataclass
class JudgedEvalOptions:
    """What every evaluation judged by the evaluator classifier needs: the data, its split, the evaluator."""

    out_dir: Path = Path("artifacts/eval")
    from_folder: Path | None = None  # benchmark catalogue: images named in --labels, split column train / test
    labels: Path | None = None
    attributes: list[str] = field(default_factory=lambda: ["articleType", "baseColour"])
    image_column: str = "original"
    test_split: str = "test"
    evaluator: Path | None = None  # reuse this evaluator checkpoint when it exists; else train and write it
    evaluator_minutes: float = 1.0
    evaluator_size: tuple[int, int] = (64, 48)  # (height, width) the evaluator judges at, whatever the model's
    seed: int = 0


def judged_arguments(parser, defaults: JudgedEvalOptions, out_help: str, split_help: str) -> None:
    """The command-line options of JudgedEvalOptions' fields (a kind adds its own after these)."""
    d = defaults
    parser.add_argument("--out", type=Path, default=d.out_dir, help=f"{out_help} (default {d.out_dir})")
    parser.add_argument("--from-folder", type=Path,
                        help="a folder of images named in --labels (default: the catalogue)")
    parser.add_argument("--labels", type=Path, help="CSV with the image column, the attributes and a split column")
    parser.add_argument("--attributes", default=",".join(d.attributes), help="CSV columns the model was trained on")
    parser.add_argument("--image-column", default=d.image_column)
    parser.add_argument("--test-split", default=d.test_split, help=split_help)
    parser.add_argument("--evaluator", type=Path, help="reuse this evaluator checkpoint if it exists, else write it")
    parser.add_argument("--evaluator-minutes", type=float, default=d.evaluator_minutes)
    parser.add_argument("--seed", type=int, default=d.seed)


def judged_options(options: dict) -> dict:
    """Parsed command-line options -> JudgedEvalOptions' keyword arguments; bad combinations are refused."""
    if options.get("from_folder") and not options.get("labels"):
        raise EvaluationError("--from-folder needs --labels CSV")
    return dict(out_dir=options["out"], from_folder=options.get("from_folder"), labels=options.get("labels"),
                attributes=[a.strip() for a in options["attributes"].split(",") if a.strip()],
                image_column=options["image_column"], test_split=options["test_split"],
                evaluator=options.get("evaluator"), evaluator_minutes=options["evaluator_minutes"],
                seed=options["seed"])


@dataclass
class Evaluation:
    run: Callable[[dict], dict]  # options (parsed command-line) -> JSON-able report
    format: Callable[[dict], str]  # report -> a plain-text table
    add_arguments: Callable | None = None  # (argparse parser) -> None
    help: str = ""


# ----------------------------------------------------------------------------- recommender

def recommender_arguments(parser) -> None:
    parser.add_argument("--days", type=float, help="only decisions of the last N days")
    parser.add_argument("--limit", type=int, default=50_000, help="at most this many decisions, the newest")
    parser.add_argument("--train-fraction", type=float, default=0.5,
                        help="train the Thompson policy on this earlier share of the log and evaluate it on the "
                             "rest (default 0.5); 0: evaluate the live learned state on the whole log")
    parser.add_argument("--boot", type=int, default=500, help="bootstrap resamples for the intervals")
    parser.add_argument("--alpha", type=float, default=0.05, help="1 - confidence of the intervals")
    parser.add_argument("--seed", type=int, default=0)


def evaluate_recommender(options: dict) -> dict:
    """IPS, SNIPS, DM and DR estimates of the Thompson policy, always-the-original and uniform from the log."""
    feedback = personalize.feedback_for(logged_decisions(options.get("days"), options.get("limit") or 50_000))
    if not feedback:
        raise EvaluationError(NOTHING_LOGGED)
    fraction = float(options.get("train_fraction", 0.5))
    if not 0 <= fraction < 1:
        raise EvaluationError("--train-fraction must be at least 0 and below 1")
    split = int(len(feedback) * fraction)
    recommender = ThompsonRecommender(seed=options.get("seed", 0))
    _prepare(recommender, feedback[:split])
    if recommender.model is None:
        raise EvaluationError("None of the logged images could be read to train on.")
    logged = [row for row in (_logged(recommender, f) for f in feedback[split:]) if row]
    if not logged:
        raise EvaluationError(NOTHING_LOGGED + " (or lower --train-fraction)")
    policies = {"original": offpolicy.always_default, "uniform": offpolicy.uniform,
                "thompson": recommender.model.as_policy(options.get("seed", 0))}
    report = offpolicy.compare(logged, policies, n_boot=options.get("boot", 500), alpha=options.get("alpha", 0.05),
                               seed=options.get("seed", 0))
    report.update(recommender=recommender.name, space=recommender.space, trained_on=split,
                  clicks=int(sum(row["reward"] for row in logged)), alpha=options.get("alpha", 0.05),
                  made_at=timezone.now().isoformat())
    RecommenderState.objects.update_or_create(name=f"eval:{recommender.name}", defaults={"state": report})
    return report


def logged_decisions(days: float | None, limit: int) -> list[ImageEvent]:
    """The first impression of each logged decision (the newest `limit`), oldest first."""
    qs = ImageEvent.objects.filter(type=ImageEvent.Type.IMPRESSION, propensity__gt=0).exclude(decision_id="")
    if days:
        qs = qs.filter(created_at__gte=timezone.now() - timedelta(days=days))
    firsts = qs.order_by().values("decision_id").annotate(first=Min("id")).values_list("first", flat=True)
    return list(reversed(ImageEvent.objects.filter(id__in=list(firsts)).order_by("-id")[:limit]))


def _prepare(recommender: ThompsonRecommender, train: list[Feedback]) -> None:
    """Train on the earlier decisions, or (none) take the live learned state."""
    if train:
        recommender.update(train)
        return
    store = StateStore(recommender.name)
    version = store.latest_version()
    recommender.load_state(store.load(version) if version else {})
    if recommender.model is None:
        raise EvaluationError("The recommender has learnt nothing yet; use --train-fraction above 0.")


def _logged(recommender: ThompsonRecommender, f: Feedback) -> dict | None:
    """One decision as ml.offpolicy reads it: candidate features now, the choice, its propensity, the click."""
    model = recommender.model
    vectors = recommender.image_vectors(f.candidates)
    if not f.propensity or f.shown not in f.candidates or any(k not in vectors for k in f.candidates):
        return None
    if len(vectors[f.shown]) != model.config.image_dim:
        return None
    context = recommender.context_vector(f.shopper, model)
    x = model.candidate_features(np.stack([vectors[k] for k in f.candidates]), context)  # (k, d)
    return {"features": x, "chosen": f.candidates.index(f.shown), "propensity": f.propensity,
            "reward": float(f.clicked), "default": 0}


def format_recommender(report: dict) -> str:
    """The estimates as a table: one row per policy, IPS/SNIPS/DR with their intervals."""
    level = round(100 * (1 - report.get("alpha", 0.05)))
    trained = (f"the policy was trained on the {report['trained_on']} decisions before these"
               if report["trained_on"] else "the policy is the live learned state")
    lines = [f"Off-policy evaluation of the {report['recommender']!r} recommender on {report['n']} logged decisions "
             f"({report['clicks']} clicked); {trained}. Features: {report['space']}.",
             f"Logged click-through: {_cell(report['logged'])}   (values with {level}% bootstrap intervals)", "",
             f"{'policy':<10} {'IPS':<26} {'SNIPS':<26} {'DR':<26} {'ESS':>7}"]
    for name, row in report["policies"].items():
        lines.append(f"{name:<10} {_cell(row['ips']):<26} {_cell(row['snips']):<26} {_cell(row['dr']):<26} "
                     f"{row['ess']:>7.0f}")
    policies = report["policies"]
    if "thompson" in policies and "original" in policies:
        lift = policies["thompson"]["dr"]["value"] - policies["original"]["dr"]["value"]
        lines += ["", f"DR estimate, thompson minus always-the-original: {lift:+.4f} clicks per impression"]
    return "\n".join(lines)


def _cell(cell: dict) -> str:
    return f"{cell['value']:.4f} [{cell['low']:.4f}, {cell['high']:.4f}]"


EVALUATIONS: dict[str, Evaluation] = {
    "recommender": Evaluation(evaluate_recommender, format_recommender, recommender_arguments,
                              help="off-policy estimates (IPS, SNIPS, DR) of the recommender from logged events"),
}


from prodimg_plugin.evaluation import cvae as evaluation_cvae
from prodimg_plugin.evaluation import gan as evaluation_gan  # noqa: E402,F401  (register "cvae", "gan")
