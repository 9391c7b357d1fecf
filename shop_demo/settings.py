"""Settings of the demo shop: a host that installs prodimg as a plugin.

Configured from the environment: DATABASE_URL (default: an SQLite file), REDIS_URL (optional: django-q2's
Redis broker and the cache), MEDIA_ROOT, SECRET_KEY, DEBUG, ALLOWED_HOSTS.
"""
import json
import os
import tempfile
from pathlib import Path

import dj_database_url

from prodimg_plugin.conf import BUNDLED_STARTER_MODELS

# NumPy's BLAS would start a thread per core for every small matrix the recommender touches; on a few shared
# cores that costs far more than it gains (a 319x319 Cholesky: 80 ms threaded, 11 ms single-threaded on the
# busy 2-core test machine). Set before anything imports numpy; an explicit environment value wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "demo-only-insecure-key-change-me")
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_q",
    "shop_demo.catalog",
    "prodimg_plugin",  # after the admin and the host's apps: it extends their registered admins
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "shop_demo.urls"
WSGI_APPLICATION = "shop_demo.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"), conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # the web process and the qcluster worker write to one file: wait for the lock instead of failing
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=30,
        # a transaction takes the write lock when it begins: one that read first could not be upgraded while
        # another process writes ("database is locked" at once, whatever the timeout)
        transaction_mode="IMMEDIATE",
        # readers (the storefront) do not wait for a worker's write, nor the worker for them
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
    # a file, not memory: the suite starts real `qcluster` processes that must open the test database
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"prodimg-test-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Production: one object store every web and worker process sees (django-storages, credentials from the
# environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a role). Unset, files go under MEDIA_ROOT.
if os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": os.environ["AWS_STORAGE_BUCKET_NAME"],
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL"),  # MinIO, Ceph, R2, ...; unset for AWS
            "region_name": os.environ.get("AWS_S3_REGION_NAME"),
            "default_acl": "private",  # unapproved images must not be public
            "querystring_auth": True,  # signed URLs for the admin's previews
            "file_overwrite": False,
        }},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

REDIS_URL = os.environ.get("REDIS_URL", "")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

Q_CLUSTER = {
    "name": "prodimg",
    "workers": int(os.environ.get("Q_WORKERS", "1")),
    "timeout": 240,  # seconds a task may run; must stay below retry or tasks are delivered twice
    "retry": 300,
    "max_attempts": 3,
    "recycle": 200,  # restart a worker process after this many tasks (memory growth from torch)
    "max_rss": 1_500_000,  # KiB
    "catch_up": False,
    "ack_failures": True,
    "label": "Queue",
    "poll": 0.5,
    # long work (training) runs on its own cluster: `Q_CLUSTER_NAME=prodimg-long manage.py qcluster`
    "ALT_CLUSTERS": {"prodimg-long": {"timeout": 4 * 3600, "retry": 4 * 3600 + 600, "workers": 1, "recycle": 1}},
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {"TITLE": "prodimg API", "VERSION": "0.1.0", "SERVE_INCLUDE_SCHEMA": False}

PRODIMG = {
    "IMAGE_MODEL": "catalog.ProductImage",
    "IMAGE_FIELD": "image",
    "PRODUCT_FIELD": "product",
    "ATTRIBUTES": "shop_demo.catalog.prodimg_hooks.attributes",
    # an approved enhanced photo becomes the product's main image
    "ON_ENHANCED_APPROVED": "shop_demo.catalog.prodimg_hooks.make_enhanced_main_image",
    # default weights made by `manage.py prodimg_train` on the demo catalogue (see prodimg_plugin/bundled/README.md)
    "BUNDLED_WEIGHTS_DIR": BUNDLED_STARTER_MODELS,  # the plugin's starter models (trained on this demo's drawings)
}

# operators (and the fault tests) can adjust PRODIMG without editing this file: a JSON object merged over it
PRODIMG.update(json.loads(os.environ.get("PRODIMG_SETTINGS_JSON", "{}")))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"prodimg_plugin": {"handlers": ["console"], "level": os.environ.get("PRODIMG_LOG_LEVEL", "INFO")}},
}
