"""Small HTML fragments shared by prodimg's admin pages (thumbnails, status badges, review buttons)."""
from __future__ import annotations

from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ml.vocab import display_name
from prodimg_plugin.evaluation.base import num, pct

STATUS_COLOURS = {"pending": "#b26a00", "approved": "#1b7f3a", "rejected": "#a61b1b",
                  "queued": "#555", "running": "#1f5fa8", "succeeded": "#1b7f3a", "failed": "#a61b1b"}


def thumb(file, height: int = 96, title: str = ""):
    if not file or not file.name:
        return "—"
    return format_html('<a href="{}" target="_blank"><img src="{}" alt="{}" title="{}" style="height:{}px;'
                       'border:1px solid #ddd;background:#fff"></a>', file.url, file.url, title, title, height)


def badge(status: str, label: str | None = None):
    return format_html('<span style="color:#fff;background:{};padding:1px 6px;border-radius:8px;font-size:11px">{}</span>',
                       STATUS_COLOURS.get(status, "#555"), label or status)


def review_buttons(generated, next_url: str, can_review: bool = True):
    """Approve / reject buttons that work inside another admin form (formaction, no nested <form>); the status
    alone for users who may not review."""
    if generated.status != "pending" or not can_review:
        return badge(generated.status, generated.get_status_display())
    return format_html_join(" ", '<button type="submit" class="button" formmethod="post" formnovalidate '
                            'formaction="{}?next={}" name="prodimg_review" value="{}">{}</button>', [
        (reverse("admin:prodimg_plugin_generatedimage_review", args=[generated.pk, action]), next_url, action, label)
        for action, label in (("approve", "Approve"), ("reject", "Reject"))
    ])


def generated_card(generated, next_url: str, can_review: bool = True):
    return format_html(
        '<div style="display:inline-block;margin:4px;padding:6px;border:1px solid #eee;text-align:center;'
        'vertical-align:top;width:130px">{}<div style="font-size:11px;margin:3px 0">{} · {}</div>'
        '<div style="font-size:11px;margin:3px 0" title="{}">{} {}</div>{}</div>',
        thumb(generated.image, 120, str(generated.params)), generated.get_kind_display(),
        generated.params.get("colour") or generated.params.get("mode", ""), "; ".join(generated.review_notes or []),
        confidence_label(generated), format_html("{}{}", needs_look_badge(generated), idea_badge(generated)),
        review_buttons(generated, next_url, can_review),
    )


def idea_badge(generated):
    """A "Low-resolution idea" badge for a design variation (never shown in the shop); nothing otherwise."""
    if not generated.low_resolution_idea:
        return ""
    return format_html('<span title="{}" style="color:#fff;background:#555;padding:1px 6px;border-radius:8px;'
                       'font-size:11px">Low-resolution idea · not shown in the shop</span>', IDEA)


IDEA = ("A design variation is the model's low-resolution drawing stretched to the photo's size: an idea for the "
        "shop's designers. Approving it keeps it; the storefront never shows it.")


def confidence_label(generated) -> str:
    """The evaluator's confidence in what was asked for, by the value it is about: "Navy Blue: 93 %"; a dash when
    it was not measured."""
    if generated.confidence is None:
        return "—"
    checked = (generated.params or {}).get("checked") or {}
    weakest = min(checked.values(), key=lambda c: c.get("probability", 1.0), default=None)
    return f"{display_name(weakest['value']) if weakest else 'Confidence'}: {pct(generated.confidence)}"


def needs_look_badge(generated):
    """A "Needs a look" badge for a flagged image, its notes as the tooltip; nothing otherwise."""
    if not generated.needs_look:
        return ""
    return format_html('<span title="{}" style="color:#fff;background:#b26a00;padding:1px 6px;border-radius:8px;'
                       'font-size:11px;font-weight:bold">⚠ Needs a look</span>', "; ".join(generated.review_notes or []))


def confidence_report(generated):
    """The review page's figures: confidence per asked-for value, how much of the product changed, ΔE00 outside
    it, and why the image needs a look."""
    checked = (generated.params or {}).get("checked") or {}
    rows = [(f"{a}: {display_name(c['value'])}", f"{pct(c['probability'])} (evaluator)")
            for a, c in checked.items()]
    rows += [("Confidence (lowest)", pct(generated.confidence)),
             ("Share of the product changed", pct(generated.mask_changed)),
             ("ΔE00 outside the product (median / p95)",
              f"{num(generated.delta_e_outside_median, 1)} / {num(generated.delta_e_outside, 1)}")]
    rows += target_rows(generated)
    table = format_html_join("", "<tr><th style='text-align:left;padding-right:12px'>{}</th><td>{}</td></tr>", rows)
    notes = format_html_join("", "<li>{}</li>", ((n,) for n in generated.review_notes or []))
    return format_html('<div>{}</div><table>{}</table><ul style="margin:4px 0 0 16px">{}</ul>',
                       needs_look_badge(generated), table, notes)


def target_rows(generated) -> list[tuple]:
    """An exact colour target's rows: what was asked, the parts changed, and ΔE00 between it and the result."""
    target = (generated.params or {}).get("target")
    if not target:
        return []
    swatch = format_html('<span style="display:inline-block;width:1em;height:1em;vertical-align:middle;'
                         'border:1px solid #888;background:{}"></span> {} ({})', target["colour"], target["asked"],
                         target["colour"])
    parts = ", ".join(str(p) for p in generated.params.get("parts") or []) or "main colour"
    return [("Target colour", swatch), ("Colour parts changed", parts),
            ("ΔE00 to the target", num(generated.delta_e_target, 1))]


def evaluation_line(report: dict | None) -> str:
    """One line for the model version list: what `prodimg_eval` found, or a dash."""
    if not report:
        return "—"
    parts = [f"{name} {pct(acc.get('generated'))}" for name, acc in (report.get("accuracy") or {}).items()]
    if report.get("fid") is not None:
        parts.append(f"FID {num(report['fid'], 2)} (floor {num(report.get('fid_floor'), 2)})")
    if report.get("success") is not None:
        parts.append(f"edit success {pct(report['success'])}")
    return ", ".join(parts) or "—"


def evaluation_report(report: dict | None):
    """A model version's `prodimg_eval` report as a small table, with its grids (GAN) as images."""
    if not report:
        return format_html("Not evaluated yet: run <code>manage.py prodimg_eval {}</code>.", "<kind>")
    rows = []
    for name, acc in (report.get("accuracy") or {}).items():  # GAN: per attribute, generated vs real
        rows.append((f"{name} accuracy", f"{pct(acc.get('generated'))} of samples "
                                         f"(evaluator on real images {pct(acc.get('real'))}, ratio {num(acc.get('ratio'))})"))
    if report.get("fid") is not None:
        rows.append(("evaluator-FID", f"{num(report['fid'])} at N={report.get('n')}; real floor "
                                      f"{num(report.get('fid_floor'))} (ratio {num(report.get('fid_ratio_to_floor'))})"))
    div = report.get("diversity") or {}
    if div:
        rows.append(("diversity", f"generated {num(div.get('generated'), 3)}, real {num(div.get('real'), 3)}"))
    for key, label in (("success", "edit success"), ("ssim_lum", "luminance SSIM"), ("category_kept", "category kept"),
                       ("null_psnr_median", "null-edit PSNR (dB)")):  # CVAE
        if report.get(key) is not None:
            rows.append((label, pct(report[key]) if key in ("success", "category_kept") else num(report[key], 3)))
    rows += [("split", report.get("split", "—")), ("evaluated", report.get("evaluated_at", "—"))]
    table = format_html_join("", "<tr><th style='text-align:left;padding-right:12px'>{}</th><td>{}</td></tr>", rows)
    grids = format_html_join("", '<figure style="display:inline-block;margin:4px 8px 4px 0">'
                                 '<a href="{}" target="_blank"><img src="{}" alt="{}" style="max-height:260px;'
                                 'border:1px solid #ddd"></a><figcaption>{}</figcaption></figure>',
                             [(default_storage.url(name), default_storage.url(name), f"grid {value}", value)
                              for value, name in (report.get("grids") or {}).items() if default_storage.exists(name)])
    return format_html("<table>{}</table><div>{}</div>", table, grids)
