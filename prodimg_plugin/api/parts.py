"""`GET /api/prodimg/parts/?image=<id>`: a product image's colour parts, for choosing which ones a colourway changes
(`"parts"` of a target in `POST variants/`)."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ml.checkpoint import CheckpointError
from prodimg_plugin.api.answers import unavailable
from prodimg_plugin.api.fields import image_key
from prodimg_plugin.api.permissions import StaffWithPerm
from prodimg_plugin.generation.params import image_parts
from prodimg_plugin.host import get_image_model
from prodimg_plugin.weights import ModelUnavailable


class PartsQuerySerializer(serializers.Serializer):
    image = image_key(help_text="Id of the host's product image.")


PART_FIELDS = {
    "index": serializers.IntegerField(help_text="What a target's parts name (largest part first)."),
    "colour": serializers.CharField(help_text="The part's typical colour, #rrggbb."),
    "share": serializers.FloatField(help_text="Its share of the product."),
    "main": serializers.BooleanField(help_text="The product's main colour: what changes when no part is chosen."),
}


class PartsView(APIView):
    """GET: the colour parts of one product image's product (through the mask model), largest first."""

    permission_classes = [StaffWithPerm]
    required_perm = "prodimg_plugin.generate_variants"

    @extend_schema(parameters=[PartsQuerySerializer], responses=inline_serializer(
        "ColourParts", {"image": serializers.CharField(),
                        "parts": inline_serializer("ColourPart", PART_FIELDS, many=True)}))
    def get(self, request):
        query = PartsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)  # 400 naming a bad id
        pk = query.validated_data["image"]
        image = get_image_model()._default_manager.filter(pk=pk).first()
        if image is None:
            return Response({"image": [f"Unknown product image id: {pk}."]}, status=404)
        try:
            parts = image_parts(image)
        except (ModelUnavailable, CheckpointError) as exc:
            return unavailable(exc)
        return Response({"image": pk, "parts": [p.as_dict() for p in parts]})
