"""Who gets what: (anonymous, shopper, staff without prodimg permissions, staff with them, superuser)
x (every staff API endpoint, every admin action, the review view)."""
import pytest
from django.core.files.base import ContentFile
from django.urls import NoReverseMatch, reverse
from rest_framework.test import APIClient

from prodimg_plugin.models import GeneratedImage, ImageJob

from tests.factories import make_image, make_user, png_bytes

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "shopper", "staff_plain", "staff_perms", "superuser"]
ALLOWED = {"staff_perms", "superuser"}
PLUGIN_PERMS = ("prodimg_plugin.generate_variants", "prodimg_plugin.edit_attributes", "prodimg_plugin.enhance_images",
                "prodimg_plugin.review_generatedimage", "prodimg_plugin.train_models",
                "prodimg_plugin.view_generatedimage", "prodimg_plugin.view_imagejob", "prodimg_plugin.view_modelversion",
                "prodimg_plugin.change_imagejob", "prodimg_plugin.change_modelversion",
                "prodimg_plugin.change_generatedimage")
HOST_PERMS = ("catalog.view_productimage", "catalog.change_productimage", "catalog.view_product", "catalog.change_product")


@pytest.fixture
def users(db):
    return {
        "anonymous": None,
        "shopper": make_user("shopper"),
        "staff_plain": make_user("plain", staff=True, perms=HOST_PERMS),
        "staff_perms": make_user("perms", staff=True, perms=HOST_PERMS + PLUGIN_PERMS),
        "superuser": make_user("root", superuser=True),
    }


@pytest.fixture
def world(product_image, monkeypatch):
    from prodimg_plugin.generation import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda pk: None)
    job = ImageJob.objects.create(kind="variants", source=product_image, status="succeeded")
    generated = GeneratedImage(source=product_image, job=job, kind="variant")
    generated.image.save("x.png", ContentFile(png_bytes(make_image())), save=True)
    return {"image": product_image, "job": job, "generated": generated}


def api_calls(world):
    g, j, i = world["generated"], world["job"], world["image"]
    calls = [
        ("post", "/api/prodimg/variants/", {"images": [i.pk], "count": 1}),
        ("get", f"/api/prodimg/jobs/{j.pk}/", None),
        ("get", "/api/prodimg/generated/", None),
        ("post", f"/api/prodimg/generated/{g.pk}/approve/", None),
        ("post", f"/api/prodimg/generated/{g.pk}/reject/", None),
    ]
    try:
        reverse("prodimg_api:edits")
        calls.append(("post", "/api/prodimg/edits/", {"image": i.pk, "target": {"colour": "red"}}))
    except NoReverseMatch:
        pass
    return calls


@pytest.mark.parametrize("role", ROLES)
def test_staff_api_matrix(role, users, world):
    client = APIClient()
    if users[role]:
        client.force_authenticate(users[role])
    for method, url, data in api_calls(world):
        response = getattr(client, method)(url, data, format="json")
        if role in ALLOWED:
            # allowed: success, or a validation answer about the payload (e.g. no CVAE model yet) - never 401/403
            assert response.status_code not in (401, 403, 500), (role, url, response.status_code)
        else:
            assert response.status_code in (401, 403), (role, url, response.status_code)


def admin_actions():
    return [
        (reverse("admin:catalog_productimage_changelist"), "generate_variants", "image"),
        (reverse("admin:catalog_productimage_changelist"), "generate_variants_with_options", "image"),
        (reverse("admin:catalog_product_changelist"), "generate_variants", "product"),
        (reverse("admin:prodimg_plugin_generatedimage_changelist"), "approve", "generated"),
        (reverse("admin:prodimg_plugin_generatedimage_changelist"), "reject", "generated"),
        (reverse("admin:prodimg_plugin_imagejob_changelist"), "retry", "job"),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_admin_action_matrix(role, users, world, client):
    if users[role]:
        client.force_login(users[role])
    ids = {"image": world["image"].pk, "product": world["image"].product_id, "generated": world["generated"].pk,
           "job": world["job"].pk}
    for url, action, target in admin_actions():
        page = client.get(url)
        offered = page.status_code == 200 and f'value="{action}"' in page.content.decode()
        if role in ALLOWED:
            assert offered, (role, action)
        else:
            assert not offered, (role, action)
    jobs_before = ImageJob.objects.count()
    client.post(reverse("admin:catalog_productimage_changelist"),
                {"action": "generate_variants", "_selected_action": [ids["image"]]})
    assert (ImageJob.objects.count() > jobs_before) == (role in ALLOWED)


@pytest.mark.parametrize("role", ROLES)
def test_review_view_matrix(role, users, world, client):
    if users[role]:
        client.force_login(users[role])
    url = reverse("admin:prodimg_plugin_generatedimage_review", args=[world["generated"].pk, "approve"])
    response = client.post(url)
    world["generated"].refresh_from_db()
    assert (world["generated"].status == "approved") == (role in ALLOWED)
    if role not in ALLOWED:
        assert response.status_code in (302, 403)  # anonymous and shoppers are sent to the login page
