"""Per-user rate limit on generation requests: 429 in the API, an error message in the admin, nothing queued."""
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from prodimg_plugin.models import ImageJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def limited(settings, monkeypatch):
    from prodimg_plugin.generation import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda pk: None)
    settings.PRODIMG = {**settings.PRODIMG, "RATE_LIMIT_IMAGES": 3}


def test_api_answers_429_once_the_user_is_over_the_limit(limited, staff_with_perms, three_images):
    client = APIClient()
    client.force_authenticate(staff_with_perms)
    ids = [i.pk for i in three_images]
    assert client.post("/api/prodimg/variants/", {"images": ids}, format="json").status_code == 202
    response = client.post("/api/prodimg/variants/", {"images": ids[:1]}, format="json")
    assert response.status_code == 429 and "Rate limit" in response.json()["detail"] and response["Retry-After"]
    assert ImageJob.objects.count() == 3


def test_admin_shows_the_limit_instead_of_queueing(limited, client, staff_with_perms, three_images):
    client.force_login(staff_with_perms)
    url = reverse("admin:catalog_productimage_changelist")
    data = {"action": "generate_variants", "_selected_action": [i.pk for i in three_images] + [three_images[0].pk]}
    page = client.post(url, {**data, "_selected_action": [i.pk for i in three_images]}, follow=True)
    assert "Queued 3" in page.content.decode()
    page = client.post(url, {**data, "_selected_action": [three_images[0].pk]}, follow=True)
    assert page.status_code == 200 and "Rate limit" in page.content.decode()
    assert ImageJob.objects.count() == 3


def test_limits_are_per_user(limited, staff_with_perms, three_images):
    from tests.factories import make_user

    other = make_user("other", staff=True, perms=("prodimg_plugin.generate_variants",))
    for user in (staff_with_perms, other):
        client = APIClient()
        client.force_authenticate(user)
        assert client.post("/api/prodimg/variants/", {"images": [i.pk for i in three_images]}, format="json").status_code == 202
