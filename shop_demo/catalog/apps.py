"""App config of the demo shop's catalogue."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """The demo shop's products and their photos (label ``catalog``)."""

    name = "shop_demo.catalog"
    label = "catalog"
    verbose_name = "Catalogue"
    default_auto_field = "django.db.models.BigAutoField"
