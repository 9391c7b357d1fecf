"""Settings of the test shop: the demo's (the database and Redis from DATABASE_URL / REDIS_URL, read the demo's way),
with this app in the catalogue's place and the plugin bound to its UUID-keyed models."""
import os
import tempfile

from shop_demo.settings import *  # noqa: F403
from shop_demo.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "shop_demo.catalog"]
INSTALLED_APPS.insert(INSTALLED_APPS.index("prodimg_plugin"), "tests.uuidhost")
ROOT_URLCONF = "tests.uuidhost.urls"
TEMPLATES[0]["DIRS"] = []  # noqa: F405  (the demo's templates name the demo's pages)

# its own test database: the main suite's is open in the process that started this one
_test_name = f"prodimg-uuidhost-{os.getpid()}"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"{_test_name}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{_test_name.replace('-', '_')}"}

PRODIMG = {
    "IMAGE_MODEL": "uuidhost.Picture",
    "IMAGE_FIELD": "picture",
    "PRODUCT_FIELD": "item",
    "ATTRIBUTES": "tests.uuidhost.prodimg_hooks.attributes",
    "BUNDLED_WEIGHTS_DIR": None,  # the tests register tiny models of their own
}
