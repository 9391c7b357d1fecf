"""An admin generates variants and approves one in a real browser; a shopper then sees the storefront."""
import pytest

from prodimg_plugin.models import GeneratedImage, ImageJob
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_user(db):
    return make_user("boss", superuser=True)


def login(page, live_server):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def test_generate_approve_and_see_on_the_storefront(page, live_server, screenshot, admin_user, three_images,
                                                    gan_version, inline_jobs):
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/catalog/productimage/")
    for image in three_images:
        page.check(f"input[name=_selected_action][value='{image.pk}']")
    page.select_option("select[name=action]", "generate_variants")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    assert "Queued 3" in page.inner_text(".messagelist")
    screenshot("01-variants-queued")
    assert ImageJob.objects.filter(status="succeeded").count() == 3

    product_id = three_images[0].product_id
    page.goto(f"{live_server.url}/admin/catalog/product/{product_id}/change/")
    approve = page.locator("button[name=prodimg_review][value=approve]").first
    approve.click()
    page.wait_for_selector(".messagelist .success")
    screenshot("02-admin-after-approving-a-variant")
    approved = GeneratedImage.objects.get(status="approved")
    assert approved.source_id == three_images[0].pk
    assert approved.image.url in page.content()

    shopper = page.context.browser.new_context().new_page()
    shopper.goto(f"{live_server.url}/products/{product_id}/")
    assert shopper.inner_text("h1")
    shopper.screenshot(path=str(screenshot("03-storefront-product").with_name("03-storefront-product.png")))
    # nothing unapproved reaches the storefront
    for pending in GeneratedImage.objects.filter(status="pending"):
        assert pending.image.url not in shopper.content()
