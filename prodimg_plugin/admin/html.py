"""Small HTML fragments shared by prodimg's admin pages (thumbnails, status badges, review buttons)."""
from __future__ import annotations

from urllib.parse import urlencode

from django.core.files.storage import default_storage
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from prodimg_plugin.evaluation.base import num, pct
from prodimg_plugin.generation.jobs import job_state
from prodimg_plugin.models import GeneratedImage, ImageJob

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
        confidence_label(generated), needs_look_badge(generated), review_buttons(generated, next_url, can_review),
    )


def confidence_label(generated) -> str:
    """The evaluator's confidence in what was asked for, by the value it is about: "Navy Blue: 93 %"; a dash when
    it was not measured."""
    if generated.confidence is None:
        return "—"
    checked = (generated.params or {}).get("checked") or {}
    weakest = min(checked.values(), key=lambda c: c.get("probability", 1.0), default=None)
    return f"{shown_value(weakest['value']) if weakest else 'Confidence'}: {pct(generated.confidence)}"


def shown_value(value) -> str:
    """An attribute value as a reviewer reads it: "navy-blue" -> "Navy Blue"."""
    return str(value).replace("-", " ").replace("_", " ").title()


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
    rows = [(f"{a}: {shown_value(c['value'])}", f"{pct(c['probability'])} (evaluator)")
            for a, c in checked.items()]
    rows += [("Confidence (lowest)", pct(generated.confidence)),
             ("Share of the product changed", pct(generated.mask_changed)),
             ("ΔE00 outside the product (median / p95)",
              f"{num(generated.delta_e_outside_median, 1)} / {num(generated.delta_e_outside, 1)}")]
    table = format_html_join("", "<tr><th style='text-align:left;padding-right:12px'>{}</th><td>{}</td></tr>", rows)
    notes = format_html_join("", "<li>{}</li>", ((n,) for n in generated.review_notes or []))
    return format_html('<div>{}</div><table>{}</table><ul style="margin:4px 0 0 16px">{}</ul>',
                       needs_look_badge(generated), table, notes)


def job_line(job):
    """One job on a product's panel: its state in words; `data-prodimg-pending` tells the page to keep refreshing."""
    url = reverse("admin:prodimg_plugin_imagejob_change", args=[job.pk])
    error = format_html(' — <span style="color:#a61b1b">{}</span>', job.error) if job.error else ""
    return format_html('<div data-prodimg-job="{}" data-prodimg-pending="{}"><a href="{}">{} job #{}</a> {} {}{}</div>',
                       job.pk, int(job_pending(job)), url, job.get_kind_display(), job.pk, badge(job.status),
                       job_state(job), error)


def job_pending(job) -> bool:
    return job.status in ("queued", "running")


PANEL_SCRIPT = "prodimg/admin-refresh.js"  # refreshes panels and the jobs list while jobs are unfinished


def generated_panel(image_ids, next_url: str, request=None):
    """The "AI images" panel of a product or image page: generated images with their review buttons (for users
    who may review), and the recent jobs. It refreshes itself from `panel_url` while a job is unfinished."""
    generated = GeneratedImage.objects.filter(source_id__in=image_ids).select_related("source").order_by("-created_at")[:60]
    recent = ImageJob.objects.filter(source_id__in=image_ids).order_by("-created_at")[:10]
    can_review = bool(request and request.user.has_perm("prodimg_plugin.review_generatedimage"))
    cards = format_html_join("", "{}", ((generated_card(g, next_url, can_review),) for g in generated))
    lines = format_html_join("", "{}", ((job_line(j),) for j in recent))
    if not generated and not recent:
        body = format_html('<p class="help">{}</p>', "No AI images yet. Use the “Generate variants” action.")
    else:
        body = format_html('<div>{}</div><div style="margin-top:8px">{}</div>', cards, lines)
    url = reverse("admin:prodimg_plugin_generatedimage_panel") + "?" + urlencode(
        {"images": ",".join(str(pk) for pk in image_ids), "next": next_url})
    return format_html('<div data-prodimg-panel="{}">{}</div><script src="{}" defer></script>', url, body,
                       static(PANEL_SCRIPT))


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
