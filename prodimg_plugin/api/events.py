"""Shoppers' API: their storefront events, and the image chosen for them (for headless shops).

A shopper is a signed-in user (session or token) or an anonymous visitor with a session; never an IP
address. A shopper reads and writes only their own events. Requests that rely on the session cookie (signed
in or anonymous) must carry the CSRF token; token-authenticated requests need none.
"""
from __future__ import annotations

import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from prodimg_plugin.api.fields import KeyPathSchema, generated_key, image_key, product_key
from prodimg_plugin.api.pagination import PAGE_PARAMETERS, Pages, page_of
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.host import clean_key, get_product_model
from prodimg_plugin.models import ImageEvent
from prodimg_plugin.storefront import events, personalize, rejections, shoppers
from prodimg_plugin.storefront.shopper_context import is_bot


class EventSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ImageEvent.Type.choices)
    product = product_key(help_text="The product's id (its data-prodimg-product).")
    decision_id = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                        help_text="The image's data-prodimg-decision: links a click to its impression.")
    source = image_key(required=False, allow_null=True,
                       help_text="An original photo's id (the image's data-prodimg-source).")
    generated = generated_key(required=False, allow_null=True,
                              help_text="An approved generated image's id (its data-prodimg-generated).")
    position = serializers.IntegerField(min_value=0, max_value=100_000, required=False, allow_null=True)
    page = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_product(self, pk) -> str:
        return str(pk)  # as ImageEvent.product_id and the decisions store it


class EventBatchSerializer(serializers.Serializer):
    events = EventSerializer(many=True, allow_empty=False)

    def to_internal_value(self, data):
        cap = prodimg_settings.EVENTS_MAX_BATCH
        if isinstance(data, dict) and isinstance(data.get("events"), list) and len(data["events"]) > cap:
            raise ValidationError({"events": [f"At most {cap} events per request."]})  # before checking each
        return super().to_internal_value(data)


class StoredEventSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product_id")

    class Meta:
        model = ImageEvent
        fields = ["id", "type", "product", "source", "generated", "decision_id", "position", "page", "propensity",
                  "created_at"]
        read_only_fields = fields


class ChosenImageSerializer(serializers.Serializer):
    product = serializers.CharField()
    decision_id = serializers.CharField()
    propensity = serializers.FloatField()
    recommender = serializers.CharField()
    exploring = serializers.BooleanField()
    image = serializers.DictField(help_text="url, key, kind, source, generated, width, height")


class ShopperView(APIView):
    """Base of the shoppers' views: AllowAny, since a shopper may be anonymous; `get_shopper` decides."""

    permission_classes = [AllowAny]
    create_session = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE_METHODS and request.successful_authenticator is None:
            SessionAuthentication().enforce_csrf(request)  # DRF skips CSRF for anonymous sessions; we do not

    def get_shopper(self, request) -> tuple[int | None, str]:
        """(user id, session key) of the caller; override to identify shoppers another way (never by IP)."""
        who = shoppers.identify(request, create=self.create_session)
        if who is None:
            raise PermissionDenied("Sign in, or send the session cookie of the shop.")
        return who


class EventsView(ShopperView):
    """GET: your own events, newest first, a page at a time. POST: a batch of your events (all stored, or none)."""

    @extend_schema(operation_id="events_list", parameters=[OpenApiParameter("type", str),
                                                          OpenApiParameter("decision_id", str), *PAGE_PARAMETERS],
                   responses=page_of("PaginatedStoredEventList", StoredEventSerializer))
    def get(self, request):
        user_id, session_key = self.get_shopper(request)
        qs = shoppers.events_of(user_id, session_key).order_by("-created_at", "-id")
        for name in ("type", "decision_id"):
            if request.query_params.get(name):
                qs = qs.filter(**{name: request.query_params[name]})
        pages = Pages()
        rows = pages.paginate_queryset(qs, request, view=self)
        return pages.get_paginated_response(StoredEventSerializer(rows, many=True).data)

    @extend_schema(request=EventBatchSerializer, responses={201: StoredEventSerializer(many=True)})
    def post(self, request):
        user_id, session_key = self.get_shopper(request)
        if is_bot(request):  # accepted and ignored: a crawler learns nothing from an error, and teaches nothing
            rejections.count("bot")
            return Response([], status=status.HTTP_201_CREATED)
        batch = EventBatchSerializer(data=_payload(request.data))
        batch.is_valid(raise_exception=True)
        try:
            created = events.submit(user_id, session_key, batch.validated_data["events"])
        except events.InvalidEvents as exc:
            return Response({"events": {str(i): e for i, e in exc.errors.items()}}, status=status.HTTP_400_BAD_REQUEST)
        return Response(StoredEventSerializer(created, many=True).data, status=status.HTTP_201_CREATED)


@extend_schema(methods=["GET"], parameters=[OpenApiParameter("position", int), OpenApiParameter("page", str)],
               responses=ChosenImageSerializer)
class PersonalizedView(ShopperView):
    """GET: the image of a product chosen for you, with its decision_id and propensity (logs the impression)."""

    create_session = True
    schema = KeyPathSchema.of(product_id=get_product_model)  # the product's id type, in the schema

    def get(self, request, product_id: str):
        self.get_shopper(request)
        product = self.get_product(product_id)
        position = _integer(request.query_params.get("position"), "position", default=None, cap=100_000)
        decision = personalize.show(request, product, position, request.query_params.get("page", ""),
                                    buffered=False)
        if decision is None:
            raise Http404("This product has no images.")
        image = decision.candidate
        return Response({
            "product": decision.product_id, "decision_id": decision.decision_id, "propensity": decision.propensity,
            "recommender": decision.recommender, "exploring": decision.exploring,
            "image": {"url": request.build_absolute_uri(image.url), "key": image.key, "kind": image.kind,
                      "source": image.source_id, "generated": image.generated_id, "width": image.width,
                      "height": image.height},
        })

    def get_product(self, product_id: str):
        """The product; override to hide some (e.g. unpublished ones) from headless shops."""
        model = get_product_model()
        try:  # parsed and bounded by the product's key field: a malformed or out-of-range id is no product
            pk = clean_key(model, product_id)
        except DjangoValidationError:
            raise Http404("No such product.") from None
        return get_object_or_404(model._default_manager, pk=pk)


def _payload(data):
    """The batch from JSON ({"events": [...]} or a bare list) or from a form (sendBeacon: events=<JSON>)."""
    if isinstance(data, list):
        return {"events": data}
    if isinstance(data, QueryDict):
        try:
            return {"events": json.loads(data.get("events") or "null")}
        except ValueError as exc:
            raise ValidationError({"events": ["Not valid JSON."]}) from exc
    return data


def _integer(value, name: str, default: int | None = 100, cap: int = 500) -> int | None:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ValidationError({name: ["Must be an integer."]}) from exc
    return max(0, min(number, cap))
