"""`POST /api/prodimg/enhance/`: enhance product images, optionally removing their background (mask model)."""
from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from prodimg_plugin.api.answers import rate_limited
from prodimg_plugin.api.fields import image_key
from prodimg_plugin.api.permissions import StaffWithPerm
from prodimg_plugin.api.serializers import ImageJobSerializer, VariantRequestSerializer
from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.backgrounds import BACKGROUNDS, KEEP, background_param
from prodimg_plugin.generation.enhance import mask_unavailable
from prodimg_plugin.generation.limits import RateLimited
from prodimg_plugin.host import get_image_model
from prodimg_plugin.models import ImageJob


class EnhanceRequestSerializer(serializers.Serializer):
    images = serializers.ListField(child=image_key(), min_length=1, max_length=100,
                                   help_text="Ids of the host's product images.")
    background = serializers.CharField(
        default=KEEP, max_length=40,
        help_text="The background: " + "; ".join(f'"{value}": {label}' for value, label in BACKGROUNDS.items())
                  + '. Anything but "keep" cuts the product out with the mask model.')

    validate_images = VariantRequestSerializer.validate_images  # known ids, duplicates dropped

    def validate_background(self, value: str) -> str:
        try:
            return background_param(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class EnhanceView(APIView):
    """POST: queue one enhance job per image. Answers 202 with the jobs; poll `jobs/<id>/` for the results."""

    permission_classes = [StaffWithPerm]
    required_perm = "prodimg_plugin.enhance_images"

    @extend_schema(request=EnhanceRequestSerializer,
                   responses={202: inline_serializer("EnhanceAccepted", {"jobs": ImageJobSerializer(many=True)})})
    def post(self, request):
        data = EnhanceRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        background = data.validated_data["background"]
        unavailable = mask_unavailable() if background != KEEP else ""
        if unavailable:  # nothing trained, nothing bundled
            return Response({"detail": unavailable}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        params = {} if background == KEEP else {"background": background}
        images = get_image_model()._default_manager.filter(pk__in=data.validated_data["images"]).order_by("pk")
        try:
            with transaction.atomic():
                created = jobs.create_jobs(ImageJob.Kind.ENHANCE, images, params, request.user)
        except RateLimited as exc:
            return rate_limited(exc)
        return Response({"jobs": ImageJobSerializer(created, many=True, context={"request": request}).data},
                        status=status.HTTP_202_ACCEPTED)
