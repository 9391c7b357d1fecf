from rest_framework import serializers

from prodimg_plugin.api.fields import image_key, job_key
from prodimg_plugin.generation.params import STRENGTH_RANGE
from prodimg_plugin.host import get_image_model
from prodimg_plugin.models import GeneratedImage, ImageJob


class GeneratedImageSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField()
    review_notes = serializers.ListField(child=serializers.CharField(), read_only=True,
                                         help_text="Why the image needs a look (readable sentences).")

    class Meta:
        model = GeneratedImage
        fields = ["id", "source", "job", "slot", "kind", "status", "image", "width", "height", "params", "seed",
                  "model_version", "reviewed_at", "created_at", "confidence", "mask_changed", "delta_e_outside",
                  "delta_e_outside_median", "delta_e_target", "needs_look", "review_notes"]
        read_only_fields = fields

    def get_image(self, obj) -> str | None:
        if not obj.image:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(obj.image.url) if request else obj.image.url


class ImageJobSerializer(serializers.ModelSerializer):
    results = GeneratedImageSerializer(many=True, read_only=True)

    class Meta:
        model = ImageJob
        fields = ["id", "kind", "status", "source", "params", "progress", "error", "attempts", "created_at",
                  "started_at", "finished_at", "results"]
        read_only_fields = fields


class VariantRequestSerializer(serializers.Serializer):
    """The request's shape; its values are then checked by `generation.params.variant_params` (the job's own check)."""

    images = serializers.ListField(child=image_key(), min_length=1, max_length=100,
                                   help_text="Ids of the host's product images.")
    count = serializers.IntegerField(required=False, min_value=1,
                                     help_text='Variants per image (at most PRODIMG["VARIANTS_MAX_COUNT"]).')
    mode = serializers.ChoiceField(choices=["colourways", "design"], default="colourways")
    colours = serializers.ListField(child=serializers.CharField(max_length=50), required=False, max_length=12,
                                    help_text="Colourways in these colours (the active GAN's colours).")
    strength = serializers.FloatField(required=False, min_value=STRENGTH_RANGE[0], max_value=STRENGTH_RANGE[1],
                                      default=0.5)
    targets = serializers.ListField(
        child=serializers.JSONField(), required=False, max_length=50,
        help_text='Exact colours, one colourway each (at most 4): {"colour": "#1F3A5F"}, {"colour": "Navy Blue"} or '
                  '{"swatch": {"image": <product image id>, "box": [x, y, w, h]}}, each optionally with "parts": '
                  '[0, 2] (the product\'s colour parts to change; default its main colour). Needs the mask model.')

    def validate_images(self, ids):
        found = set(get_image_model()._default_manager.filter(pk__in=ids).values_list("pk", flat=True))
        missing = sorted({i for i in ids if i not in found}, key=str)
        if missing:
            raise serializers.ValidationError(f"Unknown product image id(s): {', '.join(map(str, missing))}.")
        return list(dict.fromkeys(ids))


class GeneratedFilterSerializer(serializers.Serializer):
    """The filters of `GET generated/` (query parameters)."""

    source = image_key(required=False, help_text="Only images made from this product image.")
    kind = serializers.ChoiceField(choices=GeneratedImage.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=GeneratedImage.Status.choices, required=False)
    job = job_key(required=False, help_text="Only the results of this job.")
    needs_look = serializers.BooleanField(required=False, allow_null=True, default=None,
                                          help_text="true: only images flagged for a careful look; false: the others.")
