"""`POST /api/prodimg/edits/`: change a product image's attributes (colour, category, pattern) with the CVAE."""
from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ml.checkpoint import CheckpointError
from prodimg_plugin.api.answers import rate_limited, unavailable
from prodimg_plugin.api.fields import image_key
from prodimg_plugin.api.permissions import StaffWithPerm
from prodimg_plugin.api.serializers import ImageJobSerializer
from prodimg_plugin.generation import jobs
from prodimg_plugin.generation import params as job_params
from prodimg_plugin.generation.limits import RateLimited
from prodimg_plugin.host import get_image_model
from prodimg_plugin.models import ImageJob
from prodimg_plugin.weights import ModelUnavailable


class EditRequestSerializer(serializers.Serializer):
    image = image_key(help_text="Id of the host's product image.")
    target = serializers.DictField(child=serializers.CharField(max_length=100), allow_empty=False,
                                   help_text='Attributes to change and their new values, e.g. {"colour": "navy-blue"}.')

    def validate_image(self, pk):
        if not get_image_model()._default_manager.filter(pk=pk).exists():
            raise serializers.ValidationError(f"Unknown product image id: {pk}.")
        return pk


class EditsView(APIView):
    """POST: queue an attribute edit of one image. Answers 202 with the job; poll `jobs/<id>/` for the result."""

    permission_classes = [StaffWithPerm]
    required_perm = "prodimg_plugin.edit_attributes"

    @extend_schema(request=EditRequestSerializer,
                   responses={202: inline_serializer("EditAccepted", {"job": ImageJobSerializer()})})
    def post(self, request):
        data = EditRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            params = job_params.edit_params(data.validated_data["target"])
        except job_params.InvalidEditTarget as exc:
            return Response({"target": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        except (ModelUnavailable, CheckpointError) as exc:  # nothing trained yet, or damaged weights
            return unavailable(exc)
        image = get_image_model()._default_manager.get(pk=data.validated_data["image"])
        try:
            with transaction.atomic():
                job = jobs.create_jobs(ImageJob.Kind.EDITS, [image], params, request.user)[0]
        except RateLimited as exc:
            return rate_limited(exc)
        return Response({"job": ImageJobSerializer(job, context={"request": request}).data},
                        status=status.HTTP_202_ACCEPTED)
