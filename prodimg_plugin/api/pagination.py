"""Pages of the API's lists: `?page=2&page_size=100`, answered as {"count", "next", "previous", "results"}."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination

from prodimg_plugin.conf import prodimg_settings


class Pages(PageNumberPagination):
    """PRODIMG["API_PAGE_SIZE"] rows a page; a client may ask for up to PRODIMG["API_MAX_PAGE_SIZE"]."""

    page_size_query_param = "page_size"

    @property
    def page_size(self) -> int:
        return prodimg_settings.API_PAGE_SIZE

    @property
    def max_page_size(self) -> int:
        return prodimg_settings.API_MAX_PAGE_SIZE


# for views that paginate by hand (one method of several lists): their schema's page parameters and answer
PAGE_PARAMETERS = [OpenApiParameter("page", int, description="A page number within the list."),
                   OpenApiParameter("page_size", int, description="Rows per page (at most API_MAX_PAGE_SIZE).")]


def page_of(name: str, serializer) -> serializers.Serializer:
    """The schema of one page of `serializer`'s rows."""
    return inline_serializer(name, {
        "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True), "results": serializer(many=True)})
