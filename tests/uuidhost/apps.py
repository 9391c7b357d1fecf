from django.apps import AppConfig


class UuidHostConfig(AppConfig):
    name = "tests.uuidhost"
    label = "uuidhost"
    verbose_name = "UUID-keyed test shop"
