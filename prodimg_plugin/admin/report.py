"""The admin's "Personalisation report": the learned image choice against the holdout, per product and overall."""
from __future__ import annotations

import math

from django.contrib import admin
from django.template.response import TemplateResponse

from prodimg_plugin.evaluation.lift_report import build_report
from prodimg_plugin.models import PersonalisationReport

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

    def changelist_view(self, request, extra_context=None):
        days = _days(request.GET.get("days"))
        report = build_report(days)
        context = {**self.admin_site.each_context(request), "title": "Personalisation report", "report": report,
                   "days": days, "rows": _rows(report), "plot": _plot(report["daily"]), "opts": self.model._meta,
                   "holdout_pct": f"{100 * float(report['holdout_share'] or 0):.0f} %"}
        return TemplateResponse(request, "prodimg_plugin/admin/personalisation_report.html", context)


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
