"""The admin's "Personalisation report": the learned image choice against the holdout, per product and overall, and
the variants shoppers' taste proposes (queued with one click: a POST checked for the generate_variants permission)."""
from __future__ import annotations

import json
import math

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from prodimg_plugin.evaluation import taste
from prodimg_plugin.evaluation.lift_report import build_report
from prodimg_plugin.models import PersonalisationReport

QUEUE_PERMISSION = "prodimg_plugin.generate_variants"  # what the admin's "Generate variants" action needs

PLOT_W, PLOT_H = 640, 160


@admin.register(PersonalisationReport)
class PersonalisationReportAdmin(admin.ModelAdmin):
    """One read-only page; `?days=N` narrows it to the last N days."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        make = path("make-variants/", self.admin_site.admin_view(self.make_variants_view),
                    name="prodimg_plugin_personalisationreport_make_variants")
        return [make] + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        days = _days(request.GET.get("days"))
        report = build_report(days)
        found = taste.find_proposals(days)
        context = {**self.admin_site.each_context(request), "title": "Personalisation report", "report": report,
                   "days": days, "rows": _rows(report), "plot": _plot(report["daily"]), "opts": self.model._meta,
                   "holdout_pct": f"{100 * float(report['holdout_share'] or 0):.0f} %",
                   "proposals": _proposal_rows(found), "no_proposals": _why_none(found),
                   "can_queue": request.user.has_perm(QUEUE_PERMISSION), "rule": _rule()}
        return TemplateResponse(request, "prodimg_plugin/admin/personalisation_report.html", context)

    def make_variants_view(self, request):
        """POST of the chosen proposals: each still proposed is queued as a variants job (pending review); the rest
        are named with why not. Nothing is queued for a user without the generate_variants permission."""
        days = _days(request.POST.get("days"))
        back = redirect(reverse("admin:prodimg_plugin_personalisationreport_changelist") + (f"?days={days:g}"
                                                                                           if days else ""))
        if request.method != "POST":
            return back
        if not request.user.has_perm(QUEUE_PERMISSION):
            messages.error(request, "You may not generate variants (it needs the permission "
                                    f"{QUEUE_PERMISSION}); nothing was queued.")
            return back
        pairs, unreadable = _chosen_pairs(request.POST.getlist("proposal"))
        if not pairs and not unreadable:
            messages.warning(request, "No proposal was chosen; nothing was queued.")
            return back
        chosen, problems = taste.chosen_from(pairs, taste.find_proposals(days))
        result = taste.queue(chosen, request.user)
        if result.jobs:
            numbers = ", #".join(str(j.pk) for j in result.jobs)
            messages.success(request, f"Queued {len(result.jobs)} variants job(s) (#{numbers}) for the chosen colours. "
                                      "Results wait for review on each product's page.")
        for problem in ["An unreadable choice was ignored."] * unreadable + problems + result.skipped:
            messages.warning(request, problem)
        return back


def _chosen_pairs(values: list[str]) -> tuple[list[tuple[str, str]], int]:
    """(product id, colour) pairs from the form's checkboxes (JSON ["<product id>", "<colour>"]), and how many
    could not be read."""
    pairs, unreadable = [], 0
    for value in values:
        try:
            product, colour = json.loads(value)
        except (ValueError, TypeError):
            unreadable += 1
            continue
        pairs.append((str(product), str(colour)))
    return pairs, unreadable


def _proposal_rows(found: taste.Found) -> list[dict]:
    """The proposals with their evidence as display strings, and the checkbox value that names each."""
    return [{"value": json.dumps([p.product, p.value]), "product": found.names.get(p.product, p.product),
             "colour": p.value, "segment": p.taste.segment, "lift": f"x{p.taste.lift:.2f}",
             "interval": f"[{p.taste.low:.2f}, {p.taste.high:.2f}]",
             "evidence": f"{p.taste.clicks} of {p.taste.impressions} vs {p.taste.clicks_other} of "
                         f"{p.taste.impressions_other}", "seen": p.seen} for p in found.proposals]


def _why_none(found: taste.Found) -> str:
    """Why nothing is proposed, in a sentence (empty when something is)."""
    if found.proposals:
        return ""
    if not found.decisions or found.attribute is None:
        return "No logged decisions with a colour yet."
    if not found.tastes:
        best = found.tested[0] if found.tested else None
        strongest = (f" The strongest: {best.segment} and {best.value}, x{best.lift:.2f} [{best.low:.2f}, "
                     f"{best.high:.2f}] from {best.clicks} outcomes." if best else "")
        return (f"No segment's preference passes the rule yet ({len(found.tested)} segment x colour pairs tested "
                f"on {found.decisions} decisions).{strongest}")
    return "Every product the segments saw already has the colours they prefer (or a job is making them)."


def _rule() -> str:
    c = taste.config()
    return (f"at least {c.min_clicks} clicks, add-to-carts or purchases on images of the colour in the segment, the "
            f"lift's {100 * (1 - c.alpha):.0f} % family-wise interval (Bonferroni over all segment x colour pairs "
            f"tested) above 1, and a lift of at least x{c.min_lift:g}")


def _days(value) -> float | None:
    try:
        days = float(value)
    except (TypeError, ValueError):
        return None
    return days if 0 < days < 10_000 else None


def _rows(report: dict) -> list[dict]:
    """Table rows with display strings: rates in per cent with their 95 % intervals."""
    if not report["overall"]:
        return []
    out = []
    for row in [{"product": "All products", **report["overall"]}] + report["products"]:
        off = row["offpolicy"]
        out.append({"product": row.get("name", row["product"]), "n_policy": row["n_policy"], "n_holdout": row["n_holdout"],
                    "ctr_policy": _pct(row["click"]["policy"]), "ctr_holdout": _pct(row["click"]["holdout"]),
                    "buy_policy": _pct(row["purchase"]["policy"]), "buy_holdout": _pct(row["purchase"]["holdout"]),
                    "ips": _pct(off["holdout"]["ips"]) if off else "-", "snips": _pct(off["holdout"]["snips"]) if off
                    else "-", "dr": _pct(off["holdout"]["dr"]) if off else "-",
                    "dr_policy": _pct(off["policy"]["dr"]) if off else "-", "ess": f"{row['ess']:.0f}",
                    "verdict": row["verdict"], "refused": row["verdict"].startswith("not enough")})
    return out


def _pct(cell: dict) -> str:
    if not math.isfinite(cell.get("value", float("nan"))):
        return "-"
    return f"{100 * cell['value']:.2f} % [{100 * cell['low']:.2f}, {100 * cell['high']:.2f}]"


def _plot(daily: list[dict]) -> dict | None:
    """Polyline points of the daily click-through of policy and holdout (an inline SVG)."""
    values = [v for d in daily for v in (d["policy"], d["holdout"]) if v is not None]
    if len(daily) < 2 or not values:
        return None
    top = max(values) * 1.15 or 1.0

    def points(key):
        step = PLOT_W / (len(daily) - 1)
        return " ".join(f"{i * step:.1f},{PLOT_H - PLOT_H * d[key] / top:.1f}" for i, d in enumerate(daily)
                        if d[key] is not None and math.isfinite(d[key]))

    return {"w": PLOT_W, "h": PLOT_H, "policy": points("policy"), "holdout": points("holdout"),
            "top": f"{100 * top:.2f} %", "first": daily[0]["day"], "last": daily[-1]["day"]}
