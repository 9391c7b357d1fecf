"""prodimg's REST API: what the admin does, for headless shops and scripts."""
from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from prodimg_plugin.api.permissions import StaffWithPerm
from prodimg_plugin.api.serializers import GeneratedImageSerializer, ImageJobSerializer, VariantRequestSerializer
from prodimg_plugin.generation import jobs, review
from prodimg_plugin.generation.limits import RateLimited
from prodimg_plugin.generation.params import variant_params
from prodimg_plugin.host import get_image_model
from prodimg_plugin.models import GeneratedImage, ImageJob


def rate_limited(exc: RateLimited) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(exc.retry_after)})


class VariantsView(APIView):
    """POST: queue one variants job per image. Answers 202 with the jobs."""

    permission_classes = [StaffWithPerm]
    required_perm = "prodimg_plugin.generate_variants"

    @extend_schema(request=VariantRequestSerializer, responses={202: ImageJobSerializer(many=True)})
    def post(self, request):
        data = VariantRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        params = variant_params(v.get("count"), v["mode"], v.get("colours"), v["strength"])
        images = get_image_model()._default_manager.filter(pk__in=v["images"]).order_by("pk")
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


class GeneratedListView(generics.ListAPIView):
    """GET: generated images, filtered by ?source=, ?kind=, ?status=, ?job=, ?needs_look=true|false."""

    permission_classes = [StaffWithPerm]
    required_perm = "prodimg_plugin.view_generatedimage"
    serializer_class = GeneratedImageSerializer

    def get_queryset(self):
        qs = GeneratedImage.objects.all().order_by("-created_at", "slot")
        params = self.request.query_params
        for name in ("source", "kind", "status", "job"):
            value = params.get(name)
            if value:
                qs = qs.filter(**{name: value})
        if params.get("needs_look"):
            qs = qs.filter(needs_look=params["needs_look"] == "true")
        return qs

    def list(self, request, *args, **kwargs):
        errors = self._validate_filters(request.query_params)
        if errors:
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        return super().list(request, *args, **kwargs)

    @staticmethod
    def _validate_filters(params) -> dict:
        errors = {}
        for name, choices in (("kind", GeneratedImage.Kind.values), ("status", GeneratedImage.Status.values)):
            if params.get(name) and params[name] not in choices:
                errors[name] = f"Must be one of: {', '.join(choices)}."
        for name in ("source", "job"):
            if params.get(name) and not params[name].isdigit():
                errors[name] = "Must be an integer id."
        if params.get("needs_look") and params["needs_look"] not in ("true", "false"):
            errors["needs_look"] = "Must be true or false."
        return errors


class ReviewView(APIView):
    """POST: approve or reject one generated image."""

    permission_classes = [StaffWithPerm]
    required_perm = "prodimg_plugin.review_generatedimage"
    action = "approve"

    @extend_schema(request=None, responses=GeneratedImageSerializer)
    def post(self, request, pk: int):
        generated = generics.get_object_or_404(GeneratedImage, pk=pk)
        getattr(review, self.action)(generated, request.user)
        return Response(GeneratedImageSerializer(generated, context={"request": request}).data)
