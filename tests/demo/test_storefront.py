"""The storefront: product list with filters and pages, product detail, and the prodimg hook."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from shop_demo.catalog.models import Product
from shop_demo.catalog.prodimg_hooks import attributes

pytestmark = pytest.mark.django_db


def test_product_list_shows_products_with_their_photos(client, catalogue):
    response = client.get(reverse("catalog:product_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Demo Shop" in html
    for product in catalogue:  # each with one of its own photos: the one the recommender drew for this shopper
        assert product.name in html
        assert any(image.image.url in html for image in product.images.all())
    assert "6 products" in html


def test_product_list_filters_by_category_and_colour(client, catalogue):
    product = catalogue[0]
    response = client.get(reverse("catalog:product_list"), {"category": product.category})
    names = {p.name for p in response.context["products"]}
    assert product.name in names
    assert all(p.category == product.category for p in response.context["products"])
    response = client.get(reverse("catalog:product_list"), {"colour": product.colour, "category": "nonsense"})
    assert {p.colour for p in response.context["products"]} == {product.colour}
    html = response.content.decode()
    assert f'href="?colour={product.colour}&amp;category=' in html and "??" not in html


def test_product_list_is_paginated_by_24(client, db):
    for i in range(30):
        Product.objects.create(name=f"Plain Tee {i}", slug=f"plain-tee-{i}", category="tee", colour="white",
                               pattern="solid", price=Decimal("10.00"))
    first = client.get(reverse("catalog:product_list"))
    assert len(first.context["products"]) == 24 and first.context["is_paginated"]
    assert "Page 1 of 2" in first.content.decode() and "No photo yet" in first.content.decode()
    second = client.get(reverse("catalog:product_list"), {"page": 2})
    assert len(second.context["products"]) == 6
    assert client.get(reverse("catalog:product_list"), {"page": 9}).status_code == 404


def test_product_detail_shows_the_product(client, catalogue):
    product = catalogue[1]
    response = client.get(reverse("catalog:product_detail", args=[product.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert product.name in html and str(product.price) in html
    assert product.main_image().image.url in html
    assert client.get(reverse("catalog:product_detail", args=[99999])).status_code == 404


def test_detail_url_is_products_id():
    assert reverse("catalog:product_detail", args=[5]) == "/products/5/"
    assert reverse("catalog:product_list") == "/"


def test_prodimg_hook_returns_the_products_attributes(catalogue):
    product = catalogue[2]
    assert attributes(product.main_image()) == {
        "category": product.category, "colour": product.colour, "pattern": product.pattern,
    }
