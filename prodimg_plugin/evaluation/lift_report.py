"""The personalisation report: the learned policy against the holdout (always the seller's main image), per product
and overall, and whether the data can support a lift yet.

Per arm (policy / holdout) the observed click-through and purchase rate with bootstrap intervals; from the policy's
own log (its logged per-decision propensities) IPS, SNIPS and doubly-robust estimates of the policy and of the
holdout; the effective sample size; a verdict that refuses below PRODIMG["MIN_EFFECTIVE_SAMPLE"]; daily rates
for the plot; and the events ignored (bots, duplicates, ...).

    report = build_report(days=30)   # the admin's "Personalisation report", `prodimg_eval recommender --report`
"""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import numpy as np
from django.db.models import Min
from django.utils import timezone

from ml import lift
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.host import products_by_id
from prodimg_plugin.models import ImageEvent, RejectedEvent

HOLDOUT = "holdout"  # the `recommender` logged for holdout decisions (storefront.personalize.HOLDOUT)
OUTCOMES = ("click", "add_to_cart", "purchase")


def decisions(days: float | None = None, limit: int = 200_000) -> dict[str, np.ndarray]:
    """The first impression of each logged decision as arrays: arm, product, shown-is-main, propensity, main's
    propensity, click and purchase (within ATTRIBUTION_HOURS), day."""
    qs = ImageEvent.objects.filter(type=ImageEvent.Type.IMPRESSION, propensity__gt=0).exclude(decision_id="")
    if days:
        qs = qs.filter(created_at__gte=timezone.now() - timedelta(days=days))
    firsts = qs.order_by().values("decision_id").annotate(first=Min("id")).values_list("first", flat=True)
    rows = list(ImageEvent.objects.filter(id__in=list(firsts)).order_by("-id")
                .values("decision_id", "recommender", "product_id", "source_id", "generated_id", "propensity",
                        "candidates", "created_at")[:limit])
    got_by_decision = outcomes({r["decision_id"]: r["created_at"] for r in rows})
    out = defaultdict(list)
    for r in rows:
        logged = r["candidates"] or [{}]
        shown = f"g{r['generated_id']}" if r["generated_id"] else f"s{r['source_id']}"
        got = got_by_decision.get(r["decision_id"], set())
        out["holdout"].append(r["recommender"] == HOLDOUT)
        out["product"].append(r["product_id"])
        out["main"].append(shown == logged[0].get("key"))
        out["p"].append(float(r["propensity"]))
        out["p_main"].append(float(logged[0].get("p", 0.0)))
        out["click"].append(float(bool(got)))
        out["purchase"].append(float("purchase" in got))
        out["day"].append(r["created_at"].date().isoformat())
    return {k: np.array(v) for k, v in out.items()}


def outcomes(shown_at: dict) -> dict[str, set]:
    """decision id -> the outcome types (click, add_to_cart, purchase) it led to within ATTRIBUTION_HOURS."""
    window = float(prodimg_settings.ATTRIBUTION_HOURS) * 3600
    found = defaultdict(set)
    for decision, kind, at in (ImageEvent.objects.filter(type__in=OUTCOMES, decision_id__in=list(shown_at))
                               .values_list("decision_id", "type", "created_at")):
        if 0 <= (at - shown_at[decision]).total_seconds() <= window:
            found[decision].add(kind)
    return found


def compare(d: dict[str, np.ndarray], n_boot: int = 300, seed: int = 0) -> dict:
    """Policy vs holdout on one set of decisions (all, or one product's)."""
    hold, pol = d["holdout"], ~d["holdout"]
    min_ess = float(prodimg_settings.MIN_EFFECTIVE_SAMPLE)
    row = {"n_policy": int(pol.sum()), "n_holdout": int(hold.sum())}
    for metric in ("click", "purchase"):
        row[metric] = {"policy": lift.observed(d[metric][pol], n_boot, seed=seed),
                       "holdout": lift.observed(d[metric][hold], n_boot, seed=seed + 1),
                       "lift": lift.ratio(d[metric][pol], d[metric][hold], n_boot, seed=seed + 2)}
    row["offpolicy"] = _offpolicy(d, pol, n_boot, seed) if pol.any() else None
    ess = min(row["n_holdout"], row["offpolicy"]["holdout"]["ess"] if row["offpolicy"] else 0.0, row["n_policy"])
    row["ess"] = float(ess)
    row["verdict"] = lift.verdict(ess, row["click"]["lift"], min_ess)
    return row


def _offpolicy(d, pol, n_boot, seed) -> dict:
    """From the policy's own log: its value (weights 1) and the holdout's (target: the main image), IPS/SNIPS/DR;
    the DR reward model is each product's main-image and other-image click rate."""
    r, p, main = d["click"][pol], d["p"][pol], d["main"][pol]
    product = d["product"][pol]
    keys, arm = np.unique(product, return_inverse=True)
    arms = 2 * arm + main.astype(int)  # (product, is main)
    model = lift.arm_means(arms, r, 2 * len(keys))
    idx = lift.bootstrap_indices(len(r), n_boot, seed)
    policy = lift.policy_value(r, p, p, r_hat=model[arms], r_hat_target=model[arms], idx=idx)
    holdout = lift.policy_value(r, p, main.astype(float), r_hat=model[arms], r_hat_target=model[2 * arm + 1], idx=idx)
    return {"policy": policy, "holdout": holdout}


def build_report(days: float | None = None, n_boot: int = 300, seed: int = 0, max_products: int = 50) -> dict:
    """The whole report: overall, per product (most shown first), daily rates, ignored events."""
    d = decisions(days)
    report = {"made_at": timezone.now().isoformat(), "days": days, "n": int(len(d.get("p", []))),
              "min_ess": float(prodimg_settings.MIN_EFFECTIVE_SAMPLE), "holdout_share": prodimg_settings.HOLDOUT_SHARE,
              "rejected": dict(RejectedEvent.objects.order_by("reason").values_list("reason", "count")),
              "overall": None, "products": [], "daily": []}
    if not report["n"]:
        return report
    report["overall"] = compare(d, n_boot, seed)
    products, counts = np.unique(d["product"], return_counts=True)
    shown = [str(p) for p in products[np.argsort(-counts)][:max_products]]
    names = _names(shown)
    for product in shown:
        mask = d["product"] == product
        report["products"].append({"product": product, "name": names.get(product, product),
                                   **compare({k: v[mask] for k, v in d.items()}, n_boot, seed)})
    for day in sorted(set(d["day"])):
        m = d["day"] == day
        report["daily"].append({"day": day, "policy": _rate(d["click"][m & ~d["holdout"]]),
                                "holdout": _rate(d["click"][m & d["holdout"]])})
    return report


def _names(ids: list[str]) -> dict[str, str]:
    """product id -> the host's name for it (str(product)); ids that are gone or unparsable keep their id."""
    return {pk: str(product) for pk, product in products_by_id(ids).items()}


def _rate(x: np.ndarray) -> float | None:
    return float(x.mean()) if len(x) else None


def format_report(report: dict) -> str:
    """The report as plain text (the command's table)."""
    if not report["n"]:
        return "No logged decisions yet: let shoppers browse the personalised storefront."
    lines = [f"Personalisation report: {report['n']} decisions; holdout share {report['holdout_share']:.0%}; "
             f"a lift needs an effective sample size of {report['min_ess']:.0f}.", ""]
    head = f"{'product':<14} {'n policy':>9} {'n holdout':>9}  {'CTR policy':<24} {'CTR holdout':<24} verdict"
    lines.append(head)
    for row in [{"product": "ALL", **report["overall"]}] + report["products"]:
        c = row["click"]
        lines.append(f"{row['product'][:14]:<14} {row['n_policy']:>9} {row['n_holdout']:>9}  {_cell(c['policy']):<24} "
                     f"{_cell(c['holdout']):<24} {row['verdict']}")
    off = report["overall"]["offpolicy"]
    if off:
        lines += ["", "Off-policy, from the policy's own log (95 % bootstrap intervals):"]
        for name in ("policy", "holdout"):
            cells = "  ".join(f"{k.upper()} {_cell(off[name][k])}" for k in ("ips", "snips", "dr"))
            lines.append(f"  {name:<8} {cells}  ESS {off[name]['ess']:.0f}")
    if report["rejected"]:
        lines += ["", "Ignored events: " + ", ".join(f"{k} {v}" for k, v in report["rejected"].items())]
    return "\n".join(lines)


def _cell(cell: dict) -> str:
    if not np.isfinite(cell.get("value", np.nan)):
        return "-"
    return f"{cell['value']:.4f} [{cell['low']:.4f}, {cell['high']:.4f}]"


def logged_decisions(days: float | None, limit: int) -> list[ImageEvent]:
    """The first impression of each logged decision (the newest `limit`), oldest first."""
    qs = ImageEvent.objects.filter(type=ImageEvent.Type.IMPRESSION, propensity__gt=0).exclude(decision_id="")
    if days:
        qs = qs.filter(created_at__gte=timezone.now() - timedelta(days=days))
    firsts = qs.order_by().values("decision_id").annotate(first=Min("id")).values_list("first", flat=True)
    return list(reversed(ImageEvent.objects.filter(id__in=list(firsts)).order_by("-id")[:limit]))
