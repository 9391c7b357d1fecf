"""prodimg's REST API: what the admin does, for headless shops and scripts."""
from __future__ import annotations

from django.db import transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ml.checkpoint import CheckpointError
from prodimg_plugin.api.answers import rate_limited, refused, unavailable
from prodimg_plugin.api.fields import generated_key, job_key
from prodimg_plugin.api.pagination import Pages
from prodimg_plugin.api.permissions import StaffWithPerm
from prodimg_plugin.api.serializers import (
    GeneratedFilterSerializer,
    GeneratedImageSerializer,
    ImageJobSerializer,
    VariantRequestSerializer,
)
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation import jobs, review
from prodimg_plugin.generation.limits import RateLimited
from prodimg_plugin.generation.params import InvalidParams, variant_params
from prodimg_plugin.host import get_image_model
from prodimg_plugin.models import GeneratedImage, ImageJob
from prodimg_plugin.weights import ModelUnavailable


class VariantsView(APIView):
    """POST: queue one variants job per image. Answers 202 with the jobs."""

    permission_classes = [StaffWithPerm]
    required_perm = "prodimg_plugin.generate_variants"

    @extend_schema(request=VariantRequestSerializer, responses={202: ImageJobSerializer(many=True)})
    def post(self, request):
        data = VariantRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        images = get_image_model()._default_manager.filter(pk__in=v["images"]).order_by("pk")
        try:
            params = variant_params(v.get("count"), v["mode"], v.get("colours"), v["strength"], v.get("targets"),
                                    images)
        except InvalidParams as exc:
            return refused(exc)
        except (ModelUnavailable, CheckpointError) as exc:  # no usable GAN (colours) or mask model (targets)
            return unavailable(exc)
        try:
            with transaction.atomic():
                created = jobs.create_jobs(ImageJob.Kind.VARIANTS, images, params, request.user)
        except RateLimited as exc:
            return rate_limited(exc)
        return Response({"jobs": ImageJobSerializer(created, many=True, context={"request": request}).data},
                        status=status.HTTP_202_ACCEPTED)


class JobDetailView(generics.RetrieveAPIView):
    """GET: a job's status, progress, error and results."""

    permission_classes = [StaffWithPerm]
    required_perm = ("prodimg_plugin.generate_variants", "prodimg_plugin.edit_attributes", "prodimg_plugin.enhance_images")
    serializer_class = ImageJobSerializer

    def get_queryset(self):
        """Jobs of the kinds the user may run. Override to narrow further (e.g. to the user's own jobs)."""
        user = self.request.user
        kinds = [k for k, perm in (("variants", "generate_variants"), ("edits", "edit_attributes"),
                                   ("enhance", "enhance_images")) if user.has_perm(f"prodimg_plugin.{perm}")]
        return ImageJob.objects.filter(kind__in=kinds).prefetch_related("results")

    def get_object(self):
        try:  # an id beyond the column's range is no job, not a database error
            self.kwargs["pk"] = job_key().run_validation(self.kwargs["pk"])
        except ValidationError:
            raise Http404("No such job.") from None
        return super().get_object()


class GeneratedListView(generics.ListAPIView):
    """GET: generated images, newest first, a page at a time (?page=, ?page_size=), filtered by ?source=, ?kind=,
    ?status=, ?job=, ?needs_look=true|false."""

    permission_classes = [StaffWithPerm]
    required_perm = "prodimg_plugin.view_generatedimage"
    serializer_class = GeneratedImageSerializer
    pagination_class = Pages

    @extend_schema(parameters=[GeneratedFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = GeneratedImage.objects.all().order_by("-created_at", "slot", "-pk")
        given = {name: value for name, value in self.request.query_params.dict().items() if value != ""}
        filters = GeneratedFilterSerializer(data=given)
        filters.is_valid(raise_exception=True)  # 400 naming each bad filter
        for name, value in filters.validated_data.items():
            if value is not None:
                qs = qs.filter(**{name: value})
        return qs


class ReviewView(APIView):
    """POST: approve or reject one generated image."""

    permission_classes = [StaffWithPerm]
    required_perm = "prodimg_plugin.review_generatedimage"
    action = "approve"

    @extend_schema(request=None, responses=GeneratedImageSerializer)
    def post(self, request, pk: int):
        try:
            pk = generated_key().run_validation(pk)
        except ValidationError:
            raise Http404("No such generated image.") from None
        generated = generics.get_object_or_404(GeneratedImage, pk=pk)
        getattr(review, self.action)(generated, request.user)
        return Response(GeneratedImageSerializer(generated, context={"request": request}).data)


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: active staff only, unless PRODIMG["API_SCHEMA_PUBLIC"] is True."""

    def get_permissions(self):
        return [AllowAny() if prodimg_settings.API_SCHEMA_PUBLIC else StaffWithPerm()]
