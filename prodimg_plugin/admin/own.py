"""Admin pages of prodimg's own models: generated images (review), jobs, model versions."""
from __future__ import annotations

import mimetypes

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from prodimg_plugin import weights
from prodimg_plugin.admin.actions import permission_check
from prodimg_plugin.admin.html import (
    badge,
    confidence_label,
    confidence_report,
    evaluation_line,
    evaluation_report,
    idea_badge,
    needs_look_badge,
    thumb,
)
from prodimg_plugin.admin.panel import PANEL_SCRIPT, generated_panel, job_pending
from prodimg_plugin.generation import review
from prodimg_plugin.generation.jobs import job_state
from prodimg_plugin.host import get_image_model
from prodimg_plugin.models import GeneratedImage, ImageJob, ModelVersion


@admin.register(GeneratedImage)
class GeneratedImageAdmin(admin.ModelAdmin):
    list_display = ("preview", "source_preview", "kind", "status_badge", "summary", "confidence_column",
                    "model_version", "created_at")
    list_filter = ("status", "needs_look", "kind", "created_at")
    list_select_related = ("source", "model_version")
    readonly_fields = ("side_by_side", "confidence_and_changes", "source", "job", "slot", "kind", "status", "params", "seed", "model_version",
                       "width", "height", "reviewed_by", "reviewed_at", "created_at")
    fields = readonly_fields
    actions = ["approve", "reject"]
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    has_review_permission = permission_check("review_generatedimage")

    @admin.display(description="Generated")
    def preview(self, obj):
        return thumb(obj.image, 96)

    @admin.display(description="Original")
    def source_preview(self, obj):
        from prodimg_plugin.host import image_file

        return thumb(image_file(obj.source), 96)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="What")
    def summary(self, obj):
        return ", ".join(f"{k}: {v}" for k, v in obj.params.items() if k in ("mode", "colour", "target", "steps"))

    @admin.display(description="Confidence", ordering="confidence")
    def confidence_column(self, obj):
        return format_html("{} {} {}", confidence_label(obj), needs_look_badge(obj), idea_badge(obj))

    @admin.display(description="Confidence and changes")
    def confidence_and_changes(self, obj):
        if obj.kind == GeneratedImage.Kind.ENHANCED:
            return "Not measured for enhanced images."
        return confidence_report(obj)

    @admin.display(description="Original and generated, side by side")
    def side_by_side(self, obj):
        from prodimg_plugin.host import image_file

        return format_html("{} {}", thumb(image_file(obj.source), 320), thumb(obj.image, 320))

    @admin.action(description="Approve selected images", permissions=["review"])
    def approve(self, request, queryset):
        for generated in queryset:
            review.approve(generated, request.user)
        self.message_user(request, f"Approved {queryset.count()} image(s).", messages.SUCCESS)

    @admin.action(description="Reject selected images", permissions=["review"])
    def reject(self, request, queryset):
        for generated in queryset:
            review.reject(generated, request.user)
        self.message_user(request, f"Rejected {queryset.count()} image(s).", messages.SUCCESS)

    def get_urls(self):
        review = self.admin_site.admin_view(require_POST(self.review_view))
        panel = self.admin_site.admin_view(self.panel_view)
        return [path("<int:pk>/review/<str:action>/", review, name="prodimg_plugin_generatedimage_review"),
                path("panel/", panel, name="prodimg_plugin_generatedimage_panel"),
                path("file/<path:name>", self.admin_site.admin_view(self.file_view),
                     name="prodimg_plugin_generatedimage_file")] + super().get_urls()

    def file_view(self, request, name: str):
        """An unpublished generated file (image or rendition), for users who may view generated images only."""
        if not request.user.has_perm("prodimg_plugin.view_generatedimage"):
            raise PermissionDenied
        known = GeneratedImage.objects.filter(Q(image=name) | Q(renditions__icontains=f'"{name}"')).exists()
        storage = GeneratedImage._meta.get_field("image").storage
        if not known or not storage.exists(name):
            raise Http404("No such generated file.")
        response = FileResponse(storage.open(name, "rb"), content_type=mimetypes.guess_type(name)[0])
        response["Cache-Control"] = "private, max-age=300"
        return response

    def panel_view(self, request):
        """The "AI images" panel of some host images (`?images=<pk>,<pk>&next=<url>`), for the refresh script of
        the page that shows it; only for users who may view generated images."""
        if not request.user.has_perm("prodimg_plugin.view_generatedimage"):
            raise PermissionDenied
        pk_field, ids = get_image_model()._meta.pk, []
        for text in request.GET.get("images", "").split(",")[:200]:
            try:
                ids.append(pk_field.to_python(text))
            except ValidationError:
                continue
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            next_url = ""
        return HttpResponse(generated_panel(ids, next_url, request))

    def review_view(self, request, pk: int, action: str):
        """POST from the review buttons on the product and image pages (CSRF-checked by admin_view)."""
        if not self.has_review_permission(request) or action not in ("approve", "reject"):
            raise PermissionDenied
        generated = get_object_or_404(GeneratedImage, pk=pk)
        getattr(review, action)(generated, request.user)
        self.message_user(request, f"{generated.get_kind_display()} #{pk} {action}d.", messages.SUCCESS)
        target = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = reverse("admin:prodimg_plugin_generatedimage_changelist")
        return HttpResponseRedirect(target)


class ResultInline(admin.TabularInline):
    model = GeneratedImage
    fk_name = "job"
    fields = ("preview", "kind", "status", "params")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Image")
    def preview(self, obj):
        return thumb(obj.image, 96)


@admin.register(ImageJob)
class ImageJobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status_badge", "state", "source", "attempts", "short_error", "created_by", "created_at")
    list_filter = ("status", "kind", "created_at")
    readonly_fields = ("kind", "status", "source", "params", "progress", "error", "attempts", "max_attempts",
                       "created_by", "created_at", "enqueued_at", "started_at", "heartbeat_at", "finished_at", "worker")
    fields = readonly_fields
    inlines = [ResultInline]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    class Media:
        js = [PANEL_SCRIPT]  # reloads the list while a job on it is unfinished

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        return format_html('<span data-prodimg-pending="{}">{}</span>', int(job_pending(obj)),
                           badge(obj.status, obj.get_status_display()))

    @admin.display(description="Progress")
    def state(self, obj):
        """Progress, a retry's time, or that the worker was lost and when the job will be retried."""
        return job_state(obj)

    @admin.display(description="Error")
    def short_error(self, obj):
        return (obj.error[:120] + "…") if len(obj.error) > 120 else obj.error

    @admin.action(description="Retry selected failed jobs", permissions=["change"])
    def retry(self, request, queryset):
        from django.db import transaction

        from prodimg_plugin.generation.jobs import enqueue

        failed = list(queryset.filter(status=ImageJob.Status.FAILED).values_list("pk", flat=True))
        ImageJob.objects.filter(pk__in=failed).update(status=ImageJob.Status.QUEUED, attempts=0, error="", not_before=None)
        for pk in failed:
            transaction.on_commit(lambda pk=pk: enqueue(pk))
        self.message_user(request, f"Re-queued {len(failed)} failed job(s).", messages.SUCCESS)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "name", "active", "short_sha", "evaluation_summary", "metrics_summary", "created_at")
    list_filter = ("kind", "active")
    readonly_fields = ("kind", "weights", "sha256", "evaluation", "config", "metrics", "command", "created_at",
                       "active")
    fields = ("name",) + readonly_fields
    actions = ["make_active"]

    def has_add_permission(self, request):
        return False

    has_train_permission = permission_check("train_models")

    @admin.display(description="sha256")
    def short_sha(self, obj):
        return obj.sha256[:12]

    @admin.display(description="Evaluation")
    def evaluation(self, obj):
        return evaluation_report((obj.metrics or {}).get("eval"))

    @admin.display(description="Metrics")
    def metrics_summary(self, obj):
        flat = {k: v for k, v in (obj.metrics or {}).items() if isinstance(v, (int, float))}
        return ", ".join(f"{k}={v:.3g}" for k, v in list(flat.items())[:4])

    @admin.display(description="Evaluation")
    def evaluation_summary(self, obj):
        return evaluation_line((obj.metrics or {}).get("eval"))

    @admin.action(description="Make the selected version active (roll out / roll back)", permissions=["train"])
    def make_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = queryset.get()
        weights.activate(version)
        self.message_user(request, f"{version} is now active for new jobs.", messages.SUCCESS)
