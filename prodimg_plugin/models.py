"""prodimg's tables: model versions, jobs, generated images and storefront events.

`GeneratedImage.source` and `ImageJob.source` point at the host's product-image model, named by
PRODIMG["IMAGE_MODEL"] (read here the way AUTH_USER_MODEL is).
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prodimg_plugin.conf import image_model_label, prodimg_settings
from prodimg_plugin.storage import review_storage


def weights_upload_to(instance: "ModelVersion", filename: str) -> str:
    return f"{prodimg_settings.WEIGHTS_UPLOAD_TO}{instance.kind}/{filename}"


def generated_upload_to(instance: "GeneratedImage", filename: str) -> str:
    """<upload_to><kind>/j<job id>/<random token>-<name>: one folder per job, so a retry can find and delete
    what a killed attempt wrote; the token keeps files of unapproved images unguessable."""
    return f"{job_folder(instance.kind, instance.job_id)}{secrets.token_hex(12)}-{filename}"


def job_folder(kind: str, job_id: int | None) -> str:
    return f"{prodimg_settings.GENERATED_UPLOAD_TO}{kind}/j{job_id or 0}/"


class ModelVersion(models.Model):
    """One trained model file. At most one version per kind is active; jobs use the active one."""

    class Kind(models.TextChoices):
        GAN = "gan", _("Variant GAN")
        CVAE = "cvae", _("Attribute-edit CVAE")
        EVALUATOR = "evaluator", _("Evaluator classifier")
        SR = "sr", _("Super-resolution")
        MASK = "mask", _("Product mask")

    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    weights = models.FileField(upload_to=weights_upload_to, max_length=300)
    sha256 = models.CharField(max_length=64)
    config = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    command = models.TextField(blank=True, help_text=_("The command that made these weights."))
    active = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("train_models", "Can train and activate prodimg models")]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=models.Q(active=True), name="prodimg_one_active_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}{' (active)' if self.active else ''}"


class ImageJob(models.Model):
    """A unit of work for a worker. The row is the truth; the queue is only a doorbell."""

    class Kind(models.TextChoices):
        VARIANTS = "variants", _("Generate variants")
        EDITS = "edits", _("Edit attributes")
        ENHANCE = "enhance", _("Enhance image")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    source = models.ForeignKey(image_model_label(), null=True, on_delete=models.SET_NULL, related_name="+")
    params = models.JSONField(default=dict, blank=True)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True, help_text=_("Retry backoff: not run before this."))
    worker = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    key = models.CharField(max_length=200, blank=True, default="",
                           help_text=_("Idempotency key (e.g. backfill:enhance:<image id>): one job per key."))

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~models.Q(key=""), name="prodimg_one_job_per_key")
        ]
        permissions = [
            ("generate_variants", "Can generate product image variants"),
            ("edit_attributes", "Can edit product image attributes"),
            ("enhance_images", "Can enhance product images"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} job #{self.pk} ({self.status})"

    @property
    def done(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class GeneratedImage(models.Model):
    """An AI-made image of a host product image. Shoppers see it only once approved."""

    class Kind(models.TextChoices):
        VARIANT = "variant", _("Variant")
        EDIT = "edit", _("Attribute edit")
        ENHANCED = "enhanced", _("Enhanced")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    source = models.ForeignKey(image_model_label(), on_delete=models.CASCADE, related_name="prodimg_generated")
    job = models.ForeignKey(ImageJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="results")
    slot = models.PositiveIntegerField(default=0, help_text=_("Position within its job; a job fills each slot once."))
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    image = models.ImageField(upload_to=generated_upload_to, max_length=300, width_field="width", height_field="height",
                              storage=review_storage)  # private until approved (prodimg_plugin.storage)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    params = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(default=0)
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    renditions = models.JSONField(default=dict, blank=True, help_text=_('e.g. {"800x1066.webp": "<storage name>"}'))
    # confidence (services.confidence): null where it was not measured (enhanced images, no model to measure with)
    confidence = models.FloatField(null=True, blank=True,
                                   help_text=_("The evaluator's probability that the image shows what was asked for "
                                               "(the lowest, when several attributes were asked for)."))
    mask_changed = models.FloatField(null=True, blank=True,
                                     help_text=_("Share of the product (its mask) visibly changed (ΔE00 > 5)."))
    delta_e_outside = models.FloatField(null=True, blank=True,
                                        help_text=_("ΔE00 between original and result outside the product, 95th percentile."))
    delta_e_outside_median = models.FloatField(null=True, blank=True,
                                               help_text=_("ΔE00 outside the product, median."))
    delta_e_target = models.FloatField(null=True, blank=True,
                                       help_text=_("ΔE00 between an exact colour target (hex, swatch) and the changed "
                                                   "region's shading-normalised colour."))
    needs_look = models.BooleanField(default=False, db_index=True,
                                     help_text=_("Flagged for a careful look; review_notes say why."))
    review_notes = models.JSONField(default=list, blank=True, help_text=_("Readable reasons to look twice."))
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "slot"]
        permissions = [("review_generatedimage", "Can approve or reject generated images")]
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="prodimg_one_result_per_job_slot")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} of image {self.source_id} ({self.status})"

    @property
    def low_resolution_idea(self) -> bool:
        """A design variation: the model's 64x48 drawing stretched to the photo's size (`ml.variants`), an idea for
        the shop's designers that the storefront never shows, approved or not."""
        return str((self.params or {}).get("delivery", "")).startswith("upscaled-from")


class ImageEvent(models.Model):
    """What a shopper was shown and did. The user, or for anonymous shoppers the session key; never the IP."""

    class Type(models.TextChoices):
        IMPRESSION = "impression", _("Impression")
        CLICK = "click", _("Click")
        ADD_TO_CART = "add_to_cart", _("Add to cart")
        PURCHASE = "purchase", _("Purchase")

    type = models.CharField(max_length=20, choices=Type.choices, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    product_id = models.CharField(max_length=64, db_index=True)
    source = models.ForeignKey(image_model_label(), null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    generated = models.ForeignKey(GeneratedImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    position = models.IntegerField(null=True, blank=True)
    page = models.CharField(max_length=200, blank=True)
    propensity = models.FloatField(null=True, blank=True)
    recommender = models.CharField(max_length=100, blank=True)
    decision_id = models.CharField(max_length=40, blank=True, db_index=True,
                                   help_text=_("Links a click to the impression (decision) it came from."))
    candidates = models.JSONField(default=list, blank=True, help_text=_("Candidates and propensities at decision time."))
    context = models.JSONField(default=dict, blank=True,
                               help_text=_("The coarse shopper context a decision was made for (device class, page "
                                           "type, campaign, hour of week, ...); no identifiers."))
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    @staticmethod
    def shown_attributes(candidates: list[dict] | None) -> dict[str, str]:
        """The shown image's attributes and kind from an impression's `candidates` log (only the shown one carries
        "attrs"); {} when none were logged."""
        return next((c["attrs"] for c in candidates or [] if c.get("attrs")), {})


class QualityScore(models.Model):
    """A host image's quality score (0-100) and its parts, so the admin can say why a score is low."""

    source = models.OneToOneField(image_model_label(), on_delete=models.CASCADE, related_name="prodimg_quality")
    score = models.FloatField(db_index=True)
    parts = models.JSONField(default=dict, blank=True)  # part -> {"score": 0-100, "value": raw measurement}
    reasons = models.JSONField(default=list, blank=True)  # ["dark", "blurry", ...]
    file_name = models.CharField(max_length=300, blank=True, help_text=_("The file that was assessed."))
    computed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"quality {self.score:.0f} of image {self.source_id}"


class ImageFeatures(models.Model):
    """An embedding of a host image or of a generated one, for the recommender."""

    source = models.ForeignKey(image_model_label(), null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    generated = models.OneToOneField(GeneratedImage, null=True, blank=True, on_delete=models.CASCADE, related_name="features")
    vector = models.JSONField(default=list)
    model_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source"], condition=models.Q(generated__isnull=True),
                                    name="prodimg_one_feature_row_per_original")
        ]


class RejectedEvent(models.Model):
    """How many storefront events of one kind were ignored (bots, duplicates, unknown ids, ...), shown on the
    personalisation report. Counts only: the events themselves are not kept."""

    reason = models.CharField(max_length=40, unique=True)
    count = models.BigIntegerField(default=0)
    last_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.reason}: {self.count}"


class PersonalisationReport(RejectedEvent):
    """The admin's "Personalisation report" page (no table of its own: the policy against the holdout)."""

    class Meta:
        proxy = True
        verbose_name = _("Personalisation report")
        verbose_name_plural = _("Personalisation report")


class RecommenderState(models.Model):
    """A recommender's learned state (e.g. a posterior), persisted; the cache holds the hot copy."""

    name = models.CharField(max_length=100, unique=True)
    state = models.JSONField(default=dict)
    events_seen = models.BigIntegerField(default=0)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name
