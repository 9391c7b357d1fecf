"""The demo's shipped GAN weights load with today's code and make variants (guards their compatibility)."""
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as dj_settings

from prodimg_plugin import weights
from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.params import variant_params

pytestmark = pytest.mark.django_db


def test_bundled_gan_is_installed_and_makes_variants(product_image):
    folder = Path(dj_settings.PRODIMG["BUNDLED_WEIGHTS_DIR"])
    assert (folder / "gan.safetensors").stat().st_size < 20 * 1024 * 1024
    weights.clear_cache()
    version = weights.active_version("gan")  # registers the bundled file on first use
    assert version.name.startswith("bundled") and "prodimg_train gan" in version.command
    job = jobs.run_job(jobs.create_jobs("variants", [product_image], variant_params(count=2))[0].pk)
    assert job.status == "succeeded", job.error
    from PIL import Image

    arrays = [np.asarray(Image.open(g.image.path).convert("RGB"), dtype=float) for g in job.results.all()]
    assert len(arrays) == 2 and all(a.std() > 5 for a in arrays)
    assert np.abs(arrays[0] - arrays[1]).mean() > 0.5
    weights.clear_cache()


def test_bundled_evaluator_is_installed_and_names_a_demo_products_colour():
    from io import StringIO

    from django.core.management import call_command

    from prodimg_plugin.models import ModelVersion

    from shop_demo.catalog.render import render_product

    weights.clear_cache()
    call_command("prodimg_models", "--install-bundled", stdout=StringIO())
    version = ModelVersion.objects.get(kind="evaluator", active=True)
    assert version.name.startswith("bundled") and "prodimg_eval gan" in version.command
    judge = weights.load(version)
    tee = render_product("tee", "navy-blue", "solid", seed=101)
    assert judge.probability(tee, "colour", "Navy Blue") > 0.9 and judge.probability(tee, "colour", "yellow") < 0.1
    weights.clear_cache()
