"""The wheel a shop installs, followed word by word from the README on a fresh `django-admin startproject` whose
catalogue is keyed by UUID: it builds, carries what the plugin needs (and not the demo), passes `check`, migrates,
installs the starter models and runs a variants job."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()

CATALOG_MODELS = '''
import uuid

from django.db import models


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=40)
    colour = models.CharField(max_length=40)


class ProductImage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/")
'''
CATALOG_HOOKS = '''
def attributes(image):
    return {"category": image.product.category, "colour": image.product.colour}
'''
CATALOG_ADMIN = '''
from django.contrib import admin

from .models import Product, ProductImage

admin.site.register(Product)
admin.site.register(ProductImage)
'''
ONE_JOB = '''
from io import BytesIO

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

import prodimg_plugin
from catalog.models import Product, ProductImage
from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.params import variant_params

assert "site-packages-under-test" in prodimg_plugin.__file__, prodimg_plugin.__file__
picture = Image.new("RGB", (96, 128), (235, 235, 235))
ImageDraw.Draw(picture).rectangle((24, 24, 72, 104), fill=(190, 40, 40))
buffer = BytesIO()
picture.save(buffer, "PNG")
product = Product.objects.create(name="Red Tee", category="tee", colour="red")
image = ProductImage(product=product)
image.image.save("tee.png", ContentFile(buffer.getvalue()), save=True)
job = jobs.create_jobs("variants", [image], variant_params(count=2))[0]
jobs.run_job(job.pk)
job.refresh_from_db()
print("JOB", job.status, job.error, job.results.count() if hasattr(job, "results") else "")
'''


def code_blocks(lang: str) -> list[str]:
    """The README's install section's code blocks of a language, in order."""
    section = README[README.index("## Installing the plugin in your shop"):README.index("## Environment")]
    return re.findall(rf"```{lang}\n(.*?)```", section, flags=re.S)


def run(args, cwd, env) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, args))}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(ROOT)],
        cwd=dist, env=os.environ.copy())
    return next(dist.glob("prodimg-*.whl"))


def test_the_wheel_carries_the_plugin_and_not_the_demo(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("prodimg_plugin/migrations/0001_initial.py", "prodimg_plugin/static/prodimg/beacon.js",
                   "prodimg_plugin/static/prodimg/admin-refresh.js",
                   "prodimg_plugin/templates/prodimg_plugin/admin/action_form.html",
                   "prodimg_plugin/bundled/gan.safetensors", "prodimg_plugin/bundled/README.md", "ml/gan.py"):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("shop_demo/", "tests/", "bench/"))]


def test_a_fresh_project_follows_the_readme_and_runs_a_job(wheel, tmp_path):
    site = tmp_path / "site-packages-under-test"
    run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        cwd=tmp_path, env=os.environ.copy())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE_URL", "REDIS_URL"))}
    env["PYTHONPATH"] = str(site)  # found before the repository's editable install
    django_admin = [sys.executable, "-m", "django"]
    run([*django_admin, "startproject", "shop"], cwd=tmp_path, env=env)
    project = tmp_path / "shop"
    catalog = project / "catalog"
    catalog.mkdir()
    (catalog / "__init__.py").write_text("")
    (catalog / "models.py").write_text(CATALOG_MODELS)
    (catalog / "prodimg_hooks.py").write_text(CATALOG_HOOKS)
    (catalog / "admin.py").write_text(CATALOG_ADMIN)
    settings, urls = project / "shop" / "settings.py", project / "shop" / "urls.py"
    settings.write_text(settings.read_text() + '\nINSTALLED_APPS += ["catalog"]\n' + code_blocks("python")[0])
    urls.write_text(urls.read_text() + "\n" + code_blocks("python")[1])
    manage = [sys.executable, "manage.py"]
    run([*manage, "makemigrations", "catalog"], cwd=project, env=env)
    assert "System check identified no issues" in run([*manage, "check"], cwd=project, env=env)
    run([*manage, "migrate", "--noinput"], cwd=project, env=env)
    assert "procedural drawings" in run([*manage, "prodimg_setup", "--bundled"], cwd=project, env=env)
    out = run([*manage, "shell", "-c", textwrap.dedent(ONE_JOB)], cwd=project, env=env)
    assert "JOB succeeded" in out, out
    assert len(list((project / "media-prodimg-private" / "prodimg" / "generated").rglob("*.png"))) == 2
    assert not (project / "media" / "prodimg" / "generated").exists()  # pending review: not public
