"""Fixtures for the attribute-edit tests: a tiny trained CVAE, its ModelVersion, a staff user who may edit.

Imported by name from tests/plugin/test_edits.py (pytest finds fixtures imported into a test module).
"""
from pathlib import Path

import numpy as np
import pytest

from tests.factories import make_image, make_user

TINY_CVAE = dict(height=16, width=12, z_dim=4, widths=[8, 16], embed_dim=4, kl_warmup_steps=5)
TINY_CVAE_TRAIN = dict(batch_size=8, critic_widths=[8, 16], critic_start=5, ema_decay=0.5)
COLOURS = {"red": (190, 40, 40), "navy-blue": (32, 46, 88), "green": (40, 112, 62), "yellow": (236, 196, 48),
           "black": (34, 34, 37), "pink": (236, 152, 178)}


def tiny_cvae_weights(path: Path, steps: int = 12) -> bytes:
    """Train a tiny CVAE for a few steps on synthetic garments (the demo's attributes); return its export."""
    from ml.cvae import CVAEConfig
    from ml.cvae_train import CVAETrainConfig, CVAETrainer
    from ml.images import fit
    from ml.vocab import AttributeVocab

    images, labels = [], {"category": [], "colour": [], "pattern": []}
    for name, rgb in COLOURS.items():
        for category in ("tee", "dress"):
            images.append(np.asarray(fit(make_image(colour=rgb), 16, 12)))
            labels["category"].append(category), labels["colour"].append(name), labels["pattern"].append("solid")
    vocab = AttributeVocab.build(labels)
    trainer = CVAETrainer(CVAEConfig(**TINY_CVAE, attr_sizes=vocab.sizes()), np.stack(images),
                          vocab.encode_many(labels), vocab, seed=0, train_config=CVAETrainConfig(**TINY_CVAE_TRAIN))
    trainer.train(steps=steps)
    trainer.export(path)
    return path.read_bytes()


@pytest.fixture(scope="session")
def cvae_weights(tmp_path_factory) -> bytes:
    return tiny_cvae_weights(tmp_path_factory.mktemp("cvae") / "cvae.safetensors")


@pytest.fixture
def cvae_version(db, cvae_weights):
    from prodimg_plugin import weights

    weights.clear_cache()
    version = weights.register_weights("cvae", cvae_weights, name="tiny test cvae")
    yield version
    weights.clear_cache()


@pytest.fixture
def no_bundled_weights(settings):
    """No shipped default weights: the plugin must say how to train a model."""
    settings.PRODIMG = {**settings.PRODIMG, "BUNDLED_WEIGHTS_DIR": None}


@pytest.fixture
def staff_who_edits(db):
    return make_user("stylist", staff=True, perms=(
        "prodimg_plugin.edit_attributes", "prodimg_plugin.view_generatedimage", "prodimg_plugin.view_imagejob",
        "catalog.view_productimage", "catalog.change_productimage", "catalog.view_product", "catalog.change_product"))
