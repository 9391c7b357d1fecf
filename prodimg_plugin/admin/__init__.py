"""prodimg in the Django admin: pages of its own models (`own`), its actions and panels on the host's admins
(`host`), their forms and HTML fragments. Django's admin autodiscovery imports this package."""
from prodimg_plugin.admin import own  # noqa: F401  (registers GeneratedImage, ImageJob and ModelVersion admins)
from prodimg_plugin.admin import report  # noqa: F401  (registers the personalisation report)
