"""prodimg's actions and panels on the host shop's own admin pages.

The host registers its product and product-image admins as usual; `extend_host_admins()` (called from the
app's ready(), after admin autodiscovery) adds the actions and a panel of generated images to them. A host with
its own admin site can instead subclass `ProdimgImageAdminMixin` / `ProdimgProductAdminMixin`.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.html import format_html, format_html_join

from prodimg_plugin.admin.edits import edit_attributes
from prodimg_plugin.admin.quality import enhance_images, extend_image_admin, remove_background
from prodimg_plugin.admin.html import generated_card, job_line
from prodimg_plugin.admin.forms import VariantOptionsForm
from prodimg_plugin.host import get_image_model, get_product_model, images_of_products
from prodimg_plugin.models import GeneratedImage, ImageJob
from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.limits import RateLimited
from prodimg_plugin.generation.variants import variant_params

ACTION_PERMS = {"generate_variants": "prodimg_plugin.generate_variants"}


def _queue(modeladmin, request, images, kind: str, params: dict, perm: str) -> list[ImageJob]:
    if not request.user.has_perm(perm):
        raise PermissionDenied
    images = list(images)
    if not images:
        modeladmin.message_user(request, "No product images selected.", messages.WARNING)
        return []
    try:
        with transaction.atomic():
            created = jobs.create_jobs(kind, images, params, request.user)
    except RateLimited as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return []
    modeladmin.message_user(
        request,
        f"Queued {len(created)} {ImageJob.Kind(kind).label.lower()} job(s) (#{', #'.join(str(j.pk) for j in created)}). "
        "Results appear on the product's page for review.",
        messages.SUCCESS,
    )
    return created


@admin.action(description="Generate variants (AI)", permissions=["prodimg_generate"])
def generate_variants(modeladmin, request, queryset):
    """One job per selected image with the default settings (4 colourways)."""
    images = queryset if queryset.model is get_image_model() else images_of_products(queryset)
    _queue(modeladmin, request, images, ImageJob.Kind.VARIANTS, variant_params(), ACTION_PERMS["generate_variants"])


@admin.action(description="Generate variants with options… (AI)", permissions=["prodimg_generate"])
def generate_variants_with_options(modeladmin, request, queryset):
    """Intermediate page: kind (colourways / design variations), count, colours; then one job per image."""
    images = queryset if queryset.model is get_image_model() else images_of_products(queryset)
    colours, error = model_vocabulary("gan", "colour")
    form = VariantOptionsForm(request.POST if request.POST.get("prodimg_confirm") else None, colours=colours)
    if form.is_bound and form.is_valid():
        params = variant_params(**form.cleaned_data)
        _queue(modeladmin, request, images, ImageJob.Kind.VARIANTS, params, ACTION_PERMS["generate_variants"])
        return None
    return action_page(modeladmin, request, queryset, form, "generate_variants_with_options",
                       title="Generate variants", submit_label="Generate variants", error=error,
                       intro="Choose what to generate for each selected product image. "
                             "Results wait for review on the product's page.")


def model_vocabulary(kind: str, attribute: str) -> tuple[list[str], str]:
    """Allowed values of an attribute in the active model of a kind, or ([], why not)."""
    from prodimg_plugin import weights

    try:
        _, model = weights.get_model(kind)
    except Exception as exc:  # no model, damaged weights: say so on the form instead of a 500
        return [], f"No usable {kind} model: {exc}"
    vocab = model.vocab
    name = next((a for a in vocab.attributes if attribute in a.lower() or "color" in a.lower()), None)
    return (vocab.allowed(name) if name else []), ""


def action_page(modeladmin, request, queryset, form, action: str, **context):
    """The intermediate page of an action that needs a form (re-posts the selection and the action)."""
    from django.template.response import TemplateResponse

    return TemplateResponse(request, "prodimg_plugin/admin/action_form.html", {
        **modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "objects": list(queryset),
        "form": form, "action": action, **context,
    })


def _has_perm(codename: str):
    def check(self, request) -> bool:
        return request.user.has_perm(f"prodimg_plugin.{codename}")

    return check


def generated_panel(image_ids, next_url: str):
    generated = GeneratedImage.objects.filter(source_id__in=image_ids).select_related("source").order_by("-created_at")[:60]
    recent = ImageJob.objects.filter(source_id__in=image_ids).order_by("-created_at")[:10]
    cards = format_html_join("", "{}", ((generated_card(g, next_url),) for g in generated))
    lines = format_html_join("", "{}", ((job_line(j),) for j in recent))
    if not generated and not recent:
        return format_html('<p class="help">{}</p>', "No AI images yet. Use the “Generate variants” action.")
    return format_html('<div>{}</div><div style="margin-top:8px">{}</div>', cards, lines)


class GeneratedForImageInline(admin.TabularInline):
    """Generated images of one host image, on that image's admin page."""

    model = GeneratedImage
    fk_name = "source"
    fields = ("preview", "kind", "status", "params", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "AI-generated images"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="Image")
    def preview(self, obj):
        from prodimg_plugin.admin.html import thumb

        return thumb(obj.image, 96)


class ProdimgImageAdminMixin:
    """For the host's product-image admin: the actions and an inline of generated images."""

    prodimg_actions = [generate_variants, generate_variants_with_options, edit_attributes, enhance_images,
                       remove_background]

    @admin.display(description="AI images")
    def prodimg_panel(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return generated_panel([obj.pk], self._prodimg_next(obj))

    def _prodimg_next(self, obj) -> str:
        from django.urls import reverse

        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


class ProdimgProductAdminMixin(ProdimgImageAdminMixin):
    """For the host's product admin: the actions and a panel of its images' generated images and jobs."""

    @admin.display(description="AI images")
    def prodimg_panel(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        ids = list(images_of_products([obj]).values_list("pk", flat=True))
        return generated_panel(ids, self._prodimg_next(obj))


def _extend(model_admin, mixin, add_inline: bool) -> None:
    model_admin.actions = list(model_admin.actions or []) + [a for a in mixin.prodimg_actions if a not in (model_admin.actions or [])]
    model_admin.has_prodimg_generate_permission = _has_perm("generate_variants").__get__(model_admin)
    model_admin.has_prodimg_edit_permission = _has_perm("edit_attributes").__get__(model_admin)
    model_admin.has_prodimg_enhance_permission = _has_perm("enhance_images").__get__(model_admin)
    if mixin is ProdimgImageAdminMixin:
        extend_image_admin(model_admin)  # quality column and filters
    panel = mixin.prodimg_panel.__get__(model_admin)
    model_admin.prodimg_panel = panel
    model_admin._prodimg_next = ProdimgImageAdminMixin._prodimg_next.__get__(model_admin)
    model_admin.readonly_fields = tuple(model_admin.readonly_fields) + ("prodimg_panel",)
    if model_admin.fieldsets:
        model_admin.fieldsets = tuple(model_admin.fieldsets) + (("AI images", {"fields": ("prodimg_panel",)}),)
    elif model_admin.fields:
        model_admin.fields = tuple(model_admin.fields) + ("prodimg_panel",)
    if add_inline and GeneratedForImageInline not in model_admin.inlines:
        model_admin.inlines = list(model_admin.inlines) + [GeneratedForImageInline]


def extend_host_admins(site=None) -> None:
    """Add prodimg's actions and panels to the host's registered image and product admins."""
    site = site or admin.site
    try:
        image_model, product_model = get_image_model(), get_product_model()
    except Exception:  # misconfiguration is reported by the system checks
        return
    if image_model in site._registry and not getattr(site._registry[image_model], "_prodimg_extended", False):
        _extend(site._registry[image_model], ProdimgImageAdminMixin, add_inline=False)
        site._registry[image_model]._prodimg_extended = True
    if product_model in site._registry and not getattr(site._registry[product_model], "_prodimg_extended", False):
        _extend(site._registry[product_model], ProdimgProductAdminMixin, add_inline=False)
        site._registry[product_model]._prodimg_extended = True
