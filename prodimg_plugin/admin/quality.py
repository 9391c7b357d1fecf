"""Host-photo quality on the host's product-image admin: a column (score in its band's colour and the reasons, each
part's score in the tooltip) and two filters (score band; reason). `host.extended_class` adds them."""
from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist
from django.utils.html import format_html

from prodimg_plugin.upkeep import quality

BAND_COLOURS = {"poor": "#a61b1b", "fair": "#b26a00", "good": "#1b7f3a"}


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
