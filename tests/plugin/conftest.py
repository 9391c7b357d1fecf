"""Fixtures for the plugin's tests: a tiny trained GAN, its ModelVersion, host images, users."""
from pathlib import Path

import numpy as np
import pytest

from tests.factories import make_image, make_product_image, make_user

TINY = dict(height=16, width=12, blocks=2, z_dim=8, g_width=8, d_width=8, e_width=8, embed_dim=4, groups=4)


def tiny_gan_weights(path: Path, steps: int = 6) -> bytes:
    """Train a tiny conditional GAN for a few steps on synthetic garments; return its sampling checkpoint."""
    from ml.gan import GANConfig
    from ml.gan_train import GANTrainer
    from ml.images import fit
    from ml.vocab import AttributeVocab

    colours = {"red": (190, 40, 40), "navy-blue": (32, 46, 88), "green": (40, 112, 62), "yellow": (236, 196, 48),
               "black": (34, 34, 37), "pink": (236, 152, 178)}
    images, labels = [], {"category": [], "colour": [], "pattern": []}
    for name, rgb in colours.items():
        for category in ("tee", "dress"):
            images.append(np.asarray(fit(make_image(colour=rgb), 16, 12)))
            labels["category"].append(category), labels["colour"].append(name), labels["pattern"].append("solid")
    vocab = AttributeVocab.build(labels)
    trainer = GANTrainer(GANConfig(**TINY, attr_sizes=vocab.sizes()), np.stack(images), vocab.encode_many(labels),
                         vocab, seed=0, batch_size=4)
    trainer.train(steps=steps)
    trainer.export(path)
    return path.read_bytes()


@pytest.fixture(scope="session")
def gan_weights(tmp_path_factory) -> bytes:
    return tiny_gan_weights(tmp_path_factory.mktemp("gan") / "gan.safetensors")


@pytest.fixture
def gan_version(db, gan_weights):
    from prodimg_plugin import weights

    weights.clear_cache()
    version = weights.register_weights("gan", gan_weights, name="tiny test gan")
    yield version
    weights.clear_cache()


@pytest.fixture
def product_image(db):
    return make_product_image()


@pytest.fixture
def three_images(db):
    return [make_product_image(f"Item {i}", colour=c, rgb=rgb) for i, (c, rgb) in
            enumerate([("red", (190, 40, 40)), ("green", (40, 112, 62)), ("yellow", (236, 196, 48))])]


@pytest.fixture
def staff_with_perms(db):
    return make_user("editor", staff=True, perms=(
        "prodimg_plugin.generate_variants", "prodimg_plugin.review_generatedimage", "prodimg_plugin.view_generatedimage",
        "prodimg_plugin.view_imagejob", "catalog.view_productimage", "catalog.view_product", "catalog.change_product",
        "catalog.change_productimage"))


@pytest.fixture
def staff_without_perms(db):
    return make_user("clerk", staff=True, perms=("catalog.view_productimage", "catalog.change_productimage",
                                                "catalog.view_product", "catalog.change_product"))


@pytest.fixture
def shopper(db):
    return make_user("shopper")


@pytest.fixture
def inline_jobs(settings):
    """Run jobs in-process when enqueued (what a worker would do), after the transaction commits."""
    settings.PRODIMG = {**settings.PRODIMG, "RUN_JOBS_INLINE": True}
