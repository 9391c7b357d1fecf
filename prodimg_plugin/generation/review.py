"""Review of generated images: nothing AI-made reaches shoppers until approved."""
from __future__ import annotations

from django.utils import timezone

from prodimg_plugin import signals
from prodimg_plugin.models import GeneratedImage
from prodimg_plugin.storage import publish, unpublish


def approve(generated: GeneratedImage, user=None) -> GeneratedImage:
    return _set_status(generated, GeneratedImage.Status.APPROVED, user, signals.image_approved)


def reject(generated: GeneratedImage, user=None) -> GeneratedImage:
    return _set_status(generated, GeneratedImage.Status.REJECTED, user, signals.image_rejected)


def _set_status(generated, status, user, signal) -> GeneratedImage:
    """Idempotent: an image already in `status` is left as it is (no second review, no second signal)."""
    if generated.status == status:
        return generated
    files = [generated.image.name, *(generated.renditions or {}).values()]
    if status == GeneratedImage.Status.APPROVED:
        publish(files)  # shoppers may fetch it now
    elif generated.status == GeneratedImage.Status.APPROVED:
        unpublish(files)
    generated.status = status
    generated.reviewed_by = user if getattr(user, "is_authenticated", False) else None
    generated.reviewed_at = timezone.now()
    generated.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
    signal.send(sender=GeneratedImage, generated=generated, user=generated.reviewed_by)
    return generated
