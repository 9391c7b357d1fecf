from django.core.checks import run_checks


def ids(settings_obj=None):
    return {e.id for e in run_checks() if e.id.startswith("prodimg")}


def test_demo_configuration_passes_checks(settings):
    assert ids() == set()


def test_missing_image_model_is_reported_with_what_to_set(settings):
    settings.PRODIMG = {**settings.PRODIMG, "IMAGE_MODEL": None}
    errors = [e for e in run_checks() if e.id == "prodimg.E001"]
    assert errors and 'PRODIMG["IMAGE_MODEL"]' in errors[0].msg


def test_unknown_image_model(settings):
    settings.PRODIMG = {**settings.PRODIMG, "IMAGE_MODEL": "catalog.Nope"}
    assert "prodimg.E001" in ids()


def test_wrong_image_field_and_product_field(settings):
    settings.PRODIMG = {**settings.PRODIMG, "IMAGE_FIELD": "alt_text", "PRODUCT_FIELD": "position"}
    assert {"prodimg.E002", "prodimg.E003"} <= ids()


def test_attributes_hook_must_import(settings):
    settings.PRODIMG = {**settings.PRODIMG, "ATTRIBUTES": "shop_demo.catalog.prodimg_hooks.missing"}
    errors = [e for e in run_checks() if e.id == "prodimg.E005"]
    assert errors and "ATTRIBUTES" in errors[0].msg


def test_queue_timeout_must_be_below_retry(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 400, "retry": 300}
    assert "prodimg.E010" in ids()


def test_settings_are_read_lazily_and_reset(settings):
    from prodimg_plugin.conf import prodimg_settings

    assert prodimg_settings.VARIANTS_DEFAULT_COUNT == 4
    settings.PRODIMG = {**settings.PRODIMG, "VARIANTS_DEFAULT_COUNT": 2}
    assert prodimg_settings.VARIANTS_DEFAULT_COUNT == 2
