"""Quality on the host's product-image admin: the "Enhance images" and "Remove background" actions, a quality
column and two filters.

`extend_image_admin(model_admin)` (called by admin_host's `_extend`) adds the column (score, band colour and
the reasons, with each part's score in the tooltip) and the filters (score band; reason) to the host's
registered image admin.
"""
from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.utils.html import format_html

from prodimg_plugin.admin.forms import BackgroundForm
from prodimg_plugin.host import get_image_model, images_of_products
from prodimg_plugin.models import ImageJob
from prodimg_plugin.upkeep import quality
from prodimg_plugin.generation.enhance import mask_unavailable

ENHANCE_PERM = "prodimg_plugin.enhance_images"
BAND_COLOURS = {"poor": "#a61b1b", "fair": "#b26a00", "good": "#1b7f3a"}


@admin.action(description="Enhance images (AI)", permissions=["prodimg_enhance"])
def enhance_images(modeladmin, request, queryset):
    """One enhancement job per selected image: cleaned, centred, white background, target size; pending review."""
    from prodimg_plugin.admin.host import _queue

    images = queryset if queryset.model is get_image_model() else images_of_products(queryset)
    _queue(modeladmin, request, images, ImageJob.Kind.ENHANCE, {}, ENHANCE_PERM)


@admin.action(description="Remove background (AI)…", permissions=["prodimg_enhance"])
def remove_background(modeladmin, request, queryset):
    """Intermediate page (transparent, white, a colour, a soft shadow); then one enhance job per image that cuts
    the product out with the mask model and puts it on that background, pending review."""
    from prodimg_plugin.admin.host import _queue, action_page

    images = queryset if queryset.model is get_image_model() else images_of_products(queryset)
    error = mask_unavailable()
    form = BackgroundForm(request.POST if request.POST.get("prodimg_confirm") else None)
    if not error and form.is_bound and form.is_valid():
        params = {"background": form.cleaned_data["value"]}
        _queue(modeladmin, request, images, ImageJob.Kind.ENHANCE, params, ENHANCE_PERM)
        return None
    return action_page(modeladmin, request, queryset, form, "remove_background", title="Remove background",
                       submit_label="Remove background", error=error,
                       intro="Each selected photo is enhanced, its product cut out and put on the background "
                             "chosen here. Results wait for review on the product's page.")


@admin.display(description="Quality", ordering="prodimg_quality__score")
def quality_column(obj):
    """The score in its band's colour and the reasons; the tooltip gives every part's score."""
    try:
        score = obj.prodimg_quality
    except ObjectDoesNotExist:
        return "—"
    colour = BAND_COLOURS[quality.band_of(score.score)]
    return format_html('<span title="{}"><b style="color:{}">{}</b> {}</span>', quality.explain(score), colour,
                       f"{score.score:.0f}", ", ".join(score.reasons))


class QualityBandFilter(admin.SimpleListFilter):
    """Poor (< 40), fair (40-70), good (> 70) or not scored yet."""

    title = "quality"
    parameter_name = "prodimg_quality"

    def lookups(self, request, model_admin):
        return [("poor", "Poor (< 40)"), ("fair", "Fair (40-70)"), ("good", "Good (> 70)"), ("none", "Not scored")]

    def queryset(self, request, queryset):
        band = self.value()
        if band == "none":
            return queryset.filter(prodimg_quality__isnull=True)
        if band in quality.BANDS:
            return queryset.filter(**{f"prodimg_quality__{k}": v for k, v in quality.BANDS[band].items()})
        return queryset


class QualityReasonFilter(admin.SimpleListFilter):
    """Images whose score names a given defect (dark, blurry, grey background, ...)."""

    title = "quality problem"
    parameter_name = "prodimg_reason"

    def lookups(self, request, model_admin):
        return [(reason, reason.capitalize()) for reason in quality.REASONS]

    def queryset(self, request, queryset):
        reason = self.value()
        if reason not in quality.REASONS:
            return queryset
        # the JSON text holds each reason in quotes: an exact element match on every database backend
        return queryset.filter(prodimg_quality__reasons__icontains=f'"{reason}"')


def extend_image_admin(model_admin) -> None:
    """Add the quality column and filters to the host's image admin (once)."""
    if quality_column not in model_admin.list_display:
        model_admin.list_display = tuple(model_admin.list_display) + (quality_column,)
    model_admin.list_filter = tuple(model_admin.list_filter) + tuple(
        f for f in (QualityBandFilter, QualityReasonFilter) if f not in model_admin.list_filter)
    if isinstance(model_admin.list_select_related, (list, tuple)):
        model_admin.list_select_related = tuple(model_admin.list_select_related) + ("prodimg_quality",)
