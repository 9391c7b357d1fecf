"""prodimg's actions and panels on the host shop's own admin pages.

The host registers its product and product-image admins as usual; `extend_host_admins()` (called from the app's
ready(), after admin autodiscovery) registers each again as a subclass of the host's own class with prodimg's
mixin on top: the actions of `actions.HOST_ACTIONS`, their permission checks, an "AI images" panel and, on the
image admin, the photo-quality column and filters. A host with its own admin site can instead subclass
`ProdimgImageAdminMixin` / `ProdimgProductAdminMixin` itself.
"""
from __future__ import annotations

from contextvars import ContextVar

from django.contrib import admin
from django.urls import reverse

from prodimg_plugin.admin.actions import HOST_ACTIONS, permission_check
from prodimg_plugin.admin.panel import generated_panel
from prodimg_plugin.admin.quality import QualityBandFilter, QualityReasonFilter, quality_column
from prodimg_plugin.host import get_image_model, get_product_model, images_of_products

_request: ContextVar = ContextVar("prodimg_admin_request", default=None)  # the page being rendered


class ProdimgImageAdminMixin:
    """For the host's product-image admin: prodimg's actions and a panel of each image's generated images."""

    actions = HOST_ACTIONS  # each needs a has_<permission>_permission method: added below, one per permission

    def changeform_view(self, request, *args, **kwargs):
        """Render the page here, with the request at hand: the panel shows review buttons to reviewers only."""
        token = _request.set(request)
        try:
            response = super().changeform_view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            return response
        finally:
            _request.reset(token)

    def get_readonly_fields(self, request, obj=None):
        return self._without_panel(request, super().get_readonly_fields(request, obj))

    def get_fields(self, request, obj=None):
        return self._without_panel(request, super().get_fields(request, obj))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self._sees_panel(request):
            return fieldsets
        return [(name, {**opts, "fields": self._without_panel(request, opts.get("fields", ()))})
                for name, opts in fieldsets if tuple(opts.get("fields", ())) != ("prodimg_panel",)]

    @staticmethod
    def _sees_panel(request) -> bool:
        """Unpublished images are shown only to users who may view generated images."""
        return request.user.has_perm("prodimg_plugin.view_generatedimage")

    def _without_panel(self, request, fields):
        return fields if self._sees_panel(request) else tuple(f for f in fields if f != "prodimg_panel")

    @admin.display(description="AI images")
    def prodimg_panel(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return generated_panel([obj.pk], self.prodimg_next(obj), _request.get())

    def prodimg_next(self, obj) -> str:
        """Where a review button on this page returns to: the page itself."""
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


for _action in HOST_ACTIONS:
    setattr(ProdimgImageAdminMixin, f"has_{_action.permission}_permission", permission_check(_action.permission))


class ProdimgProductAdminMixin(ProdimgImageAdminMixin):
    """For the host's product admin: the actions and a panel of its images' generated images and jobs."""

    @admin.display(description="AI images")
    def prodimg_panel(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        ids = list(images_of_products([obj]).values_list("pk", flat=True))
        return generated_panel(ids, self.prodimg_next(obj), _request.get())


def extended_class(cls: type, mixin: type, photos: bool) -> type:
    """The host's ModelAdmin class with prodimg's mixin on top, and its actions, panel (and, for `photos`, the
    quality column and filters) added to what the host lists."""
    added = {"actions": list(cls.actions or []) + [a for a in mixin.actions if a not in (cls.actions or [])],
             "readonly_fields": tuple(cls.readonly_fields) + ("prodimg_panel",), "__module__": cls.__module__}
    if cls.fieldsets:
        added["fieldsets"] = tuple(cls.fieldsets) + (("AI images", {"fields": ("prodimg_panel",)}),)
    elif cls.fields:
        added["fields"] = tuple(cls.fields) + ("prodimg_panel",)
    if photos:
        added["list_display"] = tuple(cls.list_display) + (quality_column,)
        added["list_filter"] = tuple(cls.list_filter) + (QualityBandFilter, QualityReasonFilter)
        if isinstance(cls.list_select_related, (list, tuple)):
            added["list_select_related"] = tuple(cls.list_select_related) + ("prodimg_quality",)
    return type(cls.__name__, (mixin, cls), added)


def extend_host_admins(site=None) -> None:
    """Register the host's image and product admins again, as their classes extended by prodimg (once)."""
    site = site or admin.site
    try:
        targets = [(get_image_model(), ProdimgImageAdminMixin, True), (get_product_model(), ProdimgProductAdminMixin, False)]
    except Exception:  # misconfiguration is reported by the system checks
        return
    for model, mixin, photos in targets:
        if not site.is_registered(model) or isinstance(site._registry[model], mixin):
            continue  # not in this admin, or the host already uses the mixin
        cls = type(site._registry[model])
        site.unregister(model)
        site.register(model, extended_class(cls, mixin, photos))
