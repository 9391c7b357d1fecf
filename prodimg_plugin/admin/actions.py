"""prodimg's actions on the host's product and product-image admins: each queues one job per selected image.

Every action is a small `JobAction`: its name, description, the permission it needs (a codename of
`prodimg_plugin`), the job kind, and, for an action that asks first, a form on an intermediate page. To add one,
subclass `JobAction`, then list an instance in `HOST_ACTIONS`:

    class Watermark(JobAction):
        name, description = "watermark", "Add the shop's watermark (AI)"
        permission, job_kind = "enhance_images", ImageJob.Kind.ENHANCE

        def params(self, form) -> dict:
            return {"watermark": True}
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.response import TemplateResponse

from ml.vocab import colour_attribute
from prodimg_plugin import weights
from prodimg_plugin.admin.forms import BackgroundForm, EditAttributesForm, VariantOptionsForm
from prodimg_plugin.generation import jobs
from prodimg_plugin.generation import params as job_params
from prodimg_plugin.generation.enhance import mask_unavailable
from prodimg_plugin.generation.limits import RateLimited
from prodimg_plugin.generation.params import image_parts, variant_params
from prodimg_plugin.host import images_of
from prodimg_plugin.models import ImageJob


def permission_check(codename: str):
    """A ModelAdmin `has_<name>_permission` method: does the user hold prodimg_plugin.<codename>? (Django shows an
    action only to users its `allowed_permissions` checks allow.)"""
    def check(self, request) -> bool:
        return request.user.has_perm(f"prodimg_plugin.{codename}")

    return check


class JobAction:
    """An admin action queueing one `job_kind` job per selected image (or per image of each selected product)."""

    name = ""  # the action's name in the admin's action menu and its POSTs
    description = ""
    permission = ""  # codename in prodimg_plugin ("generate_variants"): the action shows only to users with it
    job_kind = ""
    form_class: type[forms.Form] | None = None  # ask on an intermediate page first; None: queue at once
    title = submit_label = intro = ""  # the intermediate page's words

    def __init__(self):
        # what Django's admin reads off an action callable
        self.__name__ = self.name
        self.short_description = self.description
        self.allowed_permissions = (self.permission,)

    def __call__(self, modeladmin, request, queryset):
        images = images_of(queryset)
        if self.form_class is None:
            self.queue(modeladmin, request, images, self.params(None))
            return None
        form_kwargs, error = self.prepare_for(images)
        form = self.form_class(request.POST if request.POST.get("prodimg_confirm") else None, **form_kwargs)
        if not error and form.is_bound and form.is_valid():
            params = self.params(form)
            if params is not None:
                self.queue(modeladmin, request, images, params)
                return None
        return TemplateResponse(request, "prodimg_plugin/admin/action_form.html", {
            **modeladmin.admin_site.each_context(request), "opts": modeladmin.model._meta, "objects": list(queryset),
            "form": form, "action": self.name, "title": self.title, "submit_label": self.submit_label,
            "intro": self.intro, "error": error,
        })

    def prepare(self) -> tuple[dict, str]:
        """(keyword arguments of the form, why the action cannot run now or "")."""
        return {}, ""

    def prepare_for(self, images) -> tuple[dict, str]:
        """`prepare()` for these selected images; override when the form depends on them."""
        return self.prepare()

    def params(self, form: forms.Form | None) -> dict | None:
        """The jobs' params from the confirmed form (None after adding the form's errors: the page shows again)."""
        return {}

    @staticmethod
    def checked(form: forms.Form, check) -> dict | None:
        """check() -> the jobs' params; the errors of its InvalidParams go on the form, and None shows it again."""
        try:
            return check()
        except job_params.InvalidParams as exc:
            for name, message in exc.errors.items():
                form.add_error(name if name in form.fields else None, message)
            return None
        except weights.ModelUnavailable as exc:  # e.g. exact colours asked for, and no mask model trained
            form.add_error(None, str(exc))
            return None

    def queue(self, modeladmin, request, images, params: dict) -> list[ImageJob]:
        if not permission_check(self.permission)(modeladmin, request):
            raise PermissionDenied
        images = list(images)
        if not images:
            modeladmin.message_user(request, "No product images selected.", messages.WARNING)
            return []
        try:
            with transaction.atomic():
                created = jobs.create_jobs(self.job_kind, images, params, request.user)
        except RateLimited as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return []
        modeladmin.message_user(
            request,
            f"Queued {len(created)} {ImageJob.Kind(self.job_kind).label.lower()} job(s) "
            f"(#{', #'.join(str(j.pk) for j in created)}). Results appear on the product's page for review.",
            messages.SUCCESS,
        )
        return created


class GenerateVariants(JobAction):
    """One job per selected image with the default settings (4 colourways)."""

    name, description = "generate_variants", "Generate variants (AI)"
    permission, job_kind = "generate_variants", ImageJob.Kind.VARIANTS

    def params(self, form) -> dict:
        return variant_params()


class GenerateVariantsWithOptions(GenerateVariants):
    """Kind (colourways / design variations), count and colours on an intermediate page."""

    name, description = "generate_variants_with_options", "Generate variants with options… (AI)"
    form_class = VariantOptionsForm
    title = submit_label = "Generate variants"
    intro = "Choose what to generate for each selected product image. Results wait for review on the product's page."

    PARTS_SHOWN = 8  # images whose colour parts the page shows (each costs one mask)

    def prepare_for(self, images) -> tuple[dict, str]:
        images = list(images)
        colours, error = model_colours("gan")
        masker = weights.optional_model("mask")
        parts = [(image, image_parts(image, masker)) for image in images[: self.PARTS_SHOWN]] if masker else None
        if error and masker is not None:  # exact colour targets need only the mask model
            error = ""
        return {"colours": colours, "parts": parts, "images": images}, error

    def params(self, form) -> dict | None:
        # InvalidParams: e.g. a colour unknown to a GAN activated since the page showed, a part an image lacks
        return self.checked(form, lambda: variant_params(**form.job_arguments()))


class EditAttributes(JobAction):
    """The active CVAE's attributes and values on an intermediate page; then one edit job per image."""

    name, description = "edit_attributes", "Edit attributes… (AI)"
    permission, job_kind = "edit_attributes", ImageJob.Kind.EDITS
    form_class = EditAttributesForm
    title = submit_label = "Edit attributes"
    intro = "Choose the attributes to change; the rest of each photo is kept. Edits wait for review on the product's page."

    def prepare(self) -> tuple[dict, str]:
        try:
            return {"editable": job_params.editable_attributes()}, ""
        except Exception as exc:  # no model, damaged weights: say so on the page instead of a 500
            return {"editable": {}}, f"No usable attribute-edit model: {exc}"

    def params(self, form) -> dict | None:
        return self.checked(form, lambda: job_params.edit_params(form.target()))


class EnhanceImages(JobAction):
    """Cleaned, centred, white background, target size; pending review."""

    name, description = "enhance_images", "Enhance images (AI)"
    permission, job_kind = "enhance_images", ImageJob.Kind.ENHANCE


class RemoveBackground(JobAction):
    """The product cut out with the mask model onto the background chosen on an intermediate page."""

    name, description = "remove_background", "Remove background (AI)…"
    permission, job_kind = "enhance_images", ImageJob.Kind.ENHANCE
    form_class = BackgroundForm
    title = submit_label = "Remove background"
    intro = ("Each selected photo is enhanced, its product cut out and put on the background chosen here. "
             "Results wait for review on the product's page.")

    def prepare(self) -> tuple[dict, str]:
        return {}, mask_unavailable()

    def params(self, form) -> dict:
        return {"background": form.cleaned_data["value"]}


def model_colours(kind: str) -> tuple[list[str], str]:
    """The colours the active model of a kind knows, or ([], why not)."""
    try:
        _, model = weights.get_model(kind)
    except Exception as exc:  # no model, damaged weights: say so on the form instead of a 500
        return [], f"No usable {kind} model: {exc}"
    name = colour_attribute(model.vocab.attributes)
    return (model.vocab.allowed(name) if name else []), ""


generate_variants = GenerateVariants()
generate_variants_with_options = GenerateVariantsWithOptions()
edit_attributes = EditAttributes()
enhance_images = EnhanceImages()
remove_background = RemoveBackground()

HOST_ACTIONS = [generate_variants, generate_variants_with_options, edit_attributes, enhance_images, remove_background]
