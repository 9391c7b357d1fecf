"""End to end with a real, separate `manage.py qcluster` process (the embedded ORM broker, or Redis in CI)."""
import os
import signal
import subprocess
import sys

import pytest
from django.db import connection

from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.params import variant_params
from prodimg_plugin.models import GeneratedImage, ImageJob

from tests.plugin.processes import ROOT, database_url, wait_for


@pytest.fixture
def worker(settings, transactional_db):
    if connection.vendor == "sqlite" and (":memory:" in str(connection.settings_dict["NAME"]) or "mode=memory" in str(connection.settings_dict["NAME"])):
        pytest.skip("the worker needs a database file it can open; run with a file-based test database")
    env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "Q_WORKERS": "1", "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "shop_demo.settings"}
    proc = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def test_a_separate_qcluster_process_runs_the_jobs(worker, gan_version, three_images):
    created = jobs.create_jobs(ImageJob.Kind.VARIANTS, three_images, variant_params(count=2))
    done = wait_for(lambda: ImageJob.objects.filter(pk__in=[j.pk for j in created], status="succeeded").count() == 3)
    if not done:
        worker.terminate()
        pytest.fail("jobs not done; worker said:\n" + worker.stdout.read().decode()[-3000:])
    for image in three_images:
        assert GeneratedImage.objects.filter(source=image).count() == 2
    assert all(j.worker.split(":")[1] != str(os.getpid()) for j in ImageJob.objects.all())
