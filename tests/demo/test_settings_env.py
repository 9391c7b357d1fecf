"""The demo settings read production choices from the environment (checked in a fresh interpreter)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_with(env: dict) -> dict:
    code = ("import json, shop_demo.settings as s; print(json.dumps({'storages': getattr(s, 'STORAGES', None), "
            "'databases': s.DATABASES['default']['ENGINE'], 'q': sorted(k for k in s.Q_CLUSTER if k in ('orm', 'redis'))}))")
    clean = {k: v for k, v in os.environ.items() if k not in ("AWS_STORAGE_BUCKET_NAME", "DATABASE_URL", "REDIS_URL")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def test_a_bucket_in_the_environment_moves_files_to_a_private_s3_store():
    conf = settings_with({"AWS_STORAGE_BUCKET_NAME": "shop-media", "AWS_S3_ENDPOINT_URL": "http://minio:9000"})
    default = conf["storages"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["OPTIONS"]["bucket_name"] == "shop-media" and default["OPTIONS"]["default_acl"] == "private"
    assert default["OPTIONS"]["endpoint_url"] == "http://minio:9000" and default["OPTIONS"]["querystring_auth"]


def test_without_environment_the_embedded_default_is_sqlite_files_and_the_orm_broker():
    conf = settings_with({})
    assert conf["storages"] is None and conf["databases"].endswith("sqlite3") and conf["q"] == ["orm"]


def test_database_and_redis_urls_switch_to_postgres_and_the_redis_broker():
    conf = settings_with({"DATABASE_URL": "postgres://u@db:5432/shop", "REDIS_URL": "redis://cache:6379/0"})
    assert conf["databases"].endswith("postgresql") and conf["q"] == ["redis"]
