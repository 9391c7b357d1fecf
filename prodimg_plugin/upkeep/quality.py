"""Quality scores of host product images: a 0-100 score, its parts and the reasons in words.

The score is kept in `QualityScore` with the name of the file that was assessed, so a photo whose file has
not changed is not assessed again (unless forced), and the admin can say *why* a score is low.
"""
from __future__ import annotations

from django.utils import timezone

from ml.enhance import EnhanceConfig
from ml.quality import QualityConfig, assess
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.host import image_file
from prodimg_plugin.images import open_source
from prodimg_plugin.models import QualityScore

# score bands of the admin filter, as lookups on QualityScore: poor < 40 <= fair <= 70 < good
BANDS = {"poor": {"score__lt": 40}, "fair": {"score__gte": 40, "score__lte": 70}, "good": {"score__gt": 70}}
# the reasons ml.quality names, as the admin lists them
REASONS = ("too small", "blurry", "dark", "overexposed", "grey background", "coloured background",
           "busy background", "product small in frame", "off-centre")


def quality_config() -> QualityConfig:
    """The yardstick: the storefront's target size is the enhancement's (PRODIMG["ENHANCE"]["target_size"])."""
    size = prodimg_settings.ENHANCE.get("target_size") or EnhanceConfig().target_size
    return QualityConfig(target_size=tuple(size))


def is_current(score: QualityScore | None, image) -> bool:
    """Whether a stored score was computed on the image's present file."""
    return score is not None and score.file_name == (image_file(image).name or "")


def assess_image(image, force: bool = False) -> QualityScore | None:
    """Score a host image and store it; None (nothing done) when its file is unchanged since the last score.

    Raises `BadSourceImage` (with a message for the admin) for a missing, damaged or oversized file.
    """
    if not force and is_current(QualityScore.objects.filter(source_id=image.pk).first(), image):
        return None
    report = assess(open_source(image), quality_config())
    parts = {name: {"score": part.score, "value": part.measured} for name, part in report.parts.items()}
    score, _ = QualityScore.objects.update_or_create(source_id=image.pk, defaults={
        "score": report.score, "parts": parts, "reasons": report.reasons,
        "file_name": image_file(image).name or "", "computed_at": timezone.now(),
    })
    return score


def band_of(score: float) -> str:
    """"poor", "fair" or "good" (the admin filter's bands)."""
    return "poor" if score < 40 else "fair" if score <= 70 else "good"


def explain(score: QualityScore) -> str:
    """One line saying why: the reasons, then each part's score, weakest first."""
    parts = sorted(score.parts.items(), key=lambda kv: kv[1].get("score", 100))
    detail = ", ".join(f"{name} {part.get('score', 0):.0f}" for name, part in parts)
    return f"{', '.join(score.reasons) or 'no defects found'} ({detail})"
