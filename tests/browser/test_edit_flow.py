"""An admin edits a product photo's colour through the intermediate form, in a real browser."""
import pytest

from prodimg_plugin.models import GeneratedImage, ImageJob
from tests.browser.test_admin_flow import admin_user, login  # noqa: F401  (fixture and helper)
from tests.plugin.conftest_cvae import cvae_version, cvae_weights  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_edit_attributes_form_queues_an_edit_that_waits_for_review(page, live_server, screenshot, admin_user,
                                                                   three_images, cvae_version, inline_jobs):
    login(page, live_server)
    page.goto(f"{live_server.url}/admin/catalog/productimage/")
    page.check(f"input[name=_selected_action][value='{three_images[0].pk}']")
    page.select_option("select[name=action]", "edit_attributes")
    page.click("button[name=index]")
    page.wait_for_selector("select[name=colour]")
    options = page.locator("select[name=colour] option").all_inner_texts()
    assert options[0] == "keep as it is" and len(options) > 2  # the model's colours are offered
    # submitting with everything on "keep" is refused with a message on the form, nothing queued
    page.click("form input[type=submit].default")
    page.wait_for_selector(".errorlist")
    assert "Choose at least one attribute" in page.inner_text(".errorlist")
    assert not ImageJob.objects.exists()

    page.select_option("select[name=colour]", "green")
    screenshot("04-edit-attributes-form")
    page.click("form input[type=submit].default")
    page.wait_for_selector(".messagelist .success")
    job = ImageJob.objects.get()
    assert job.kind == "edits" and job.status == "succeeded" and job.params["target"] == {"colour": "green"}
    edit = GeneratedImage.objects.get(job=job)
    assert edit.status == "pending" and edit.source_id == three_images[0].pk
