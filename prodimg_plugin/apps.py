from django.apps import AppConfig


class ProdimgConfig(AppConfig):
    name = "prodimg_plugin"
    verbose_name = "AI product images"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from prodimg_plugin import checks, hooks, kinds, receivers  # noqa: F401  (registers checks and signal receivers)
        from prodimg_plugin.conf import prodimg_settings
        from prodimg_plugin.storefront import candidates, learning, shoppers

        kinds.register_builtins()  # model kinds, job handlers, evaluations
        hooks.autodiscover()  # each installed app's prodimg_hooks module
        candidates.connect()  # cached candidate lists follow reviews and uploads
        shoppers.connect()  # a deleted user's cached choices go with their events
        learning.connect()  # recorded events may make a learning step due

        if prodimg_settings.EXTEND_ADMIN:
            from prodimg_plugin.admin.host import extend_host_admins

            extend_host_admins()
