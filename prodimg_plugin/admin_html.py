"""Small HTML fragments shared by prodimg's admin pages (thumbnails, status badges, review buttons)."""
from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join

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


def review_buttons(generated, next_url: str):
    """Approve / reject buttons that work inside another admin form (formaction, no nested <form>)."""
    if generated.status != "pending":
        return badge(generated.status, generated.get_status_display())
    return format_html_join(" ", '<button type="submit" class="button" formmethod="post" formnovalidate '
                            'formaction="{}?next={}" name="prodimg_review" value="{}">{}</button>', [
        (reverse("admin:prodimg_plugin_generatedimage_review", args=[generated.pk, action]), next_url, action, label)
        for action, label in (("approve", "Approve"), ("reject", "Reject"))
    ])


def generated_card(generated, next_url: str):
    return format_html(
        '<div style="display:inline-block;margin:4px;padding:6px;border:1px solid #eee;text-align:center;'
        'vertical-align:top;width:130px">{}<div style="font-size:11px;margin:3px 0">{} · {}</div>{}</div>',
        thumb(generated.image, 120, str(generated.params)), generated.get_kind_display(),
        generated.params.get("colour") or generated.params.get("mode", ""), review_buttons(generated, next_url),
    )


def job_line(job):
    url = reverse("admin:prodimg_plugin_imagejob_change", args=[job.pk])
    error = format_html(' — <span style="color:#a61b1b">{}</span>', job.error) if job.error else ""
    return format_html('<div><a href="{}">{} job #{}</a> {} {}%{}</div>', url, job.get_kind_display(), job.pk,
                       badge(job.status), int(job.progress * 100), error)
