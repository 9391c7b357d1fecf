"""The `edit_attributes` admin action: pick target attributes on an intermediate page, one edit job per image.

Registered on the host's admins by `admin_host` (listed in `ProdimgImageAdminMixin.prodimg_actions`).
"""
from __future__ import annotations

from django.contrib import admin

from prodimg_plugin.admin.forms_edits import EditAttributesForm
from prodimg_plugin.host import get_image_model, images_of_products
from prodimg_plugin.models import ImageJob
from prodimg_plugin.generation import edits

PERM = "prodimg_plugin.edit_attributes"


@admin.action(description="Edit attributes… (AI)", permissions=["prodimg_edit"])
def edit_attributes(modeladmin, request, queryset):
    """Intermediate page listing the active CVAE's attributes and values; then one edit job per image."""
    from prodimg_plugin.admin import host as admin_host  # admin_host imports this module to list the action

    images = queryset if queryset.model is get_image_model() else images_of_products(queryset)
    editable, error = editable_or_reason()
    form = EditAttributesForm(request.POST if request.POST.get("prodimg_confirm") else None, editable=editable)
    if editable and form.is_bound and form.is_valid() and queue_edits(modeladmin, request, images, form):
        return None
    return admin_host.action_page(modeladmin, request, queryset, form, "edit_attributes",
                                  title="Edit attributes", submit_label="Edit attributes", error=error,
                                  intro="Choose the attributes to change; the rest of each photo is kept. "
                                        "Edits wait for review on the product's page.")


def editable_or_reason() -> tuple[dict[str, list[str]], str]:
    """The active model's editable attributes, or ({}, why there are none and how to train a model)."""
    try:
        return edits.editable_attributes(), ""
    except Exception as exc:  # no model, damaged weights: say so on the page instead of a 500
        return {}, f"No usable attribute-edit model: {exc}"


def queue_edits(modeladmin, request, images, form: EditAttributesForm) -> bool:
    """Queue the edits the form asks for; False (with the reasons on the form) when the target is refused."""
    from prodimg_plugin.admin import host as admin_host

    try:
        params = edits.edit_params(form.target())
    except edits.InvalidEditTarget as exc:
        for name, message in exc.errors.items():
            form.add_error(name if name in form.fields else None, message)
        return False
    admin_host._queue(modeladmin, request, images, ImageJob.Kind.EDITS, params, PERM)
    return True
