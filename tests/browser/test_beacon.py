"""The click beacon in a real browser: clicking a personalised image records a click linked to its impression."""
import time

import pytest

from prodimg_plugin.models import ImageEvent
from tests.factories import make_product_image

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(query, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = query.first()
        if found is not None:
            return found
        time.sleep(0.2)
    return None


def test_clicking_a_personalised_image_sends_a_click_event(page, live_server, settings):
    settings.PRODIMG = {**settings.PRODIMG, "LEARN_INTERVAL_SECONDS": None}
    image = make_product_image("Beacon Tee")
    page.goto(f"{live_server.url}/")
    img = page.locator("img[data-prodimg-decision]").first
    decision = img.get_attribute("data-prodimg-decision")
    img.click()  # the card is a link: the beacon must get its event out as the page is left
    page.wait_for_url(f"**/products/{image.product_id}/")
    click = wait_for(ImageEvent.objects.filter(type="click"))
    assert click is not None, "no click event arrived"
    impression = ImageEvent.objects.filter(type="impression", decision_id=decision).first()
    assert click.decision_id == decision and click.session_key == impression.session_key != ""
    assert (click.source_id, click.product_id, click.position) == (image.pk, str(image.product_id), 0)
