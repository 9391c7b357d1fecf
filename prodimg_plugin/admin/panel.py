"""The "AI images" panel on the host's product and image pages: the generated images with their review buttons and
the recent jobs, which the page fetches again while a job is unfinished (static/prodimg/admin-refresh.js)."""
from __future__ import annotations

from urllib.parse import urlencode

from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from prodimg_plugin.admin.html import badge, generated_card
from prodimg_plugin.generation.jobs import job_state
from prodimg_plugin.models import GeneratedImage, ImageJob


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
