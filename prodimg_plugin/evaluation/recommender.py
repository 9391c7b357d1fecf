"""`prodimg_eval recommender`: off-policy estimates (IPS, SNIPS, DM, DR) of the configured recommender's image choice
from the logged impressions and clicks, next to always-the-original and uniform. The recommender is trained on the
earlier share of the log with its own `update` and asked, through its own `rank`, what it would have shown."""
from __future__ import annotations

import inspect

import numpy as np
from django.utils import timezone

from ml import offpolicy
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.evaluation import lift_report
from prodimg_plugin.evaluation.base import Evaluation, EvaluationError
from prodimg_plugin.evaluation.lift_report import logged_decisions
from prodimg_plugin.host import products_by_id
from prodimg_plugin.models import RecommenderState
from prodimg_plugin.storefront import candidates as candidate_lists
from prodimg_plugin.storefront import features, personalize
from prodimg_plugin.storefront.context import Feedback
from prodimg_plugin.storefront.learning import recommender_name
from prodimg_plugin.storefront.state import StateStore

NOTHING_LOGGED = "No logged decisions with propensities to evaluate: let shoppers browse the personalised storefront"


def recommender_arguments(parser) -> None:
    parser.add_argument("--days", type=float, help="only decisions of the last N days")
    parser.add_argument("--limit", type=int, default=50_000, help="at most this many decisions, the newest")
    parser.add_argument("--train-fraction", type=float, default=0.5,
                        help="train the recommender on this earlier share of the log and evaluate it on the "
                             "rest (default 0.5); 0: evaluate the live learned state on the whole log")
    parser.add_argument("--boot", type=int, default=500, help="bootstrap resamples for the intervals")
    parser.add_argument("--alpha", type=float, default=0.05, help="1 - confidence of the intervals")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", action="store_true",
                        help="the personalisation report instead: the policy against the holdout (always the main "
                             "image), per product and overall, with IPS/SNIPS/DR, intervals and effective sample size")


def evaluate_recommender(options: dict) -> dict:
    """IPS, SNIPS, DM and DR estimates of the configured recommender (PRODIMG["RECOMMENDER"]), always-the-original
    and uniform from the log (with --report: the personalisation report of the live policy against the holdout)."""
    if options.get("report"):
        return {"lift_report": lift_report.build_report(options.get("days"), n_boot=options.get("boot") or 300,
                                                        seed=options.get("seed") or 0)}
    feedback = personalize.feedback_for(logged_decisions(options.get("days"), options.get("limit") or 50_000))
    if not feedback:
        raise EvaluationError(NOTHING_LOGGED)
    fraction = float(options.get("train_fraction", 0.5))
    if not 0 <= fraction < 1:
        raise EvaluationError("--train-fraction must be at least 0 and below 1")
    split = int(len(feedback) * fraction)
    seed = options.get("seed", 0)
    recommender = fresh_recommender(seed)
    _prepare(recommender, feedback[:split])
    logged = logged_events(feedback[split:])
    if not logged:
        raise EvaluationError(NOTHING_LOGGED + " (or lower --train-fraction)")
    name = recommender_name(recommender)
    policies = {"original": offpolicy.always_default, "uniform": offpolicy.uniform, name: policy_of(recommender)}
    report = offpolicy.compare(logged, policies, n_boot=options.get("boot", 500), alpha=options.get("alpha", 0.05),
                               seed=seed)
    report.update(recommender=name, space=features.current_space().name, trained_on=split,
                  clicks=int(sum(row["reward"] for row in logged)), alpha=options.get("alpha", 0.05),
                  made_at=timezone.now().isoformat())
    RecommenderState.objects.update_or_create(name=f"eval:{name}", defaults={"state": report})
    return report


def fresh_recommender(seed: int):
    """A new instance of the configured recommender class, seeded when its constructor takes a `seed`."""
    cls = prodimg_settings.RECOMMENDER
    return cls(seed=seed) if "seed" in inspect.signature(cls).parameters else cls()


def _prepare(recommender, train: list[Feedback]) -> None:
    """Train on the earlier decisions, or (none) take the live learned state."""
    if train:
        recommender.update(train)
        return
    if not hasattr(recommender, "load_state"):
        return  # nothing learnt to take: it is evaluated as it is
    store = StateStore(recommender_name(recommender))
    version = store.latest_version()
    if version is None:
        raise EvaluationError("The recommender has learnt nothing yet; use --train-fraction above 0.")
    recommender.load_state(store.load(version))


def logged_events(feedback: list[Feedback]) -> list[dict]:
    """The decisions as ml.offpolicy reads them, with what a recommender needs to rank them again: the shopper
    then, the product and its candidates now. A decision whose product or images are gone is left out."""
    products = products_by_id({f.product_id for f in feedback})
    candidates = {pk: {c.key: c for c in found} for pk, found in candidate_lists.candidates_for_many(
        products.values()).items()}
    vectors = features.vectors({k for f in feedback for k in f.candidates})
    out = []
    for f in feedback:
        product = products.get(f.product_id)
        now = candidates.get(product.pk, {}) if product is not None else {}
        if not f.propensity or f.shown not in f.candidates or any(k not in now or k not in vectors
                                                                 for k in f.candidates):
            continue
        out.append({"features": np.stack([vectors[k] for k in f.candidates]), "chosen": f.candidates.index(f.shown),
                    "propensity": f.propensity, "reward": float(f.clicked), "default": 0, "shopper": f.shopper,
                    "product": product, "candidates": [now[k] for k in f.candidates]})
    return out


def policy_of(recommender) -> offpolicy.Policy:
    """The recommender as an off-policy target: its probability of showing each of a logged decision's candidates
    to the shopper as they were then (from the propensities its `rank` returns)."""
    def policy(event: dict) -> np.ndarray:
        ranked = {r.candidate.key: r.propensity for r in recommender.rank(event["shopper"], event["product"],
                                                                          event["candidates"])}
        p = np.array([ranked.get(c.key, 0.0) for c in event["candidates"]], dtype=np.float64)
        return p / p.sum() if p.sum() > 0 else offpolicy.always_default(event)
    return policy


def format_recommender(report: dict) -> str:
    """The estimates as a table: one row per policy, IPS/SNIPS/DR with their intervals."""
    if "lift_report" in report:
        return lift_report.format_report(report["lift_report"])
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
    policies, name = report["policies"], report["recommender"]
    if name in policies and "original" in policies:
        lift = policies[name]["dr"]["value"] - policies["original"]["dr"]["value"]
        lines += ["", f"DR estimate, {name} minus always-the-original: {lift:+.4f} clicks per impression"]
    return "\n".join(lines)


def _cell(cell: dict) -> str:
    return f"{cell['value']:.4f} [{cell['low']:.4f}, {cell['high']:.4f}]"


RECOMMENDER = Evaluation(evaluate_recommender, format_recommender, recommender_arguments,
                         help="off-policy estimates (IPS, SNIPS, DR) of the recommender from logged events")
