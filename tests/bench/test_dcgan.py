"""The DCGAN baseline of the GAN benchmarks (bench/dcgan.py): it trains on a budget and samples every condition."""
import numpy as np
import pytest
import torch

from bench.dcgan import DCGANConfig, DCGANTrainer
from ml import gan_eval
from ml.vocab import AttributeVocab

COLOURS = {"red": (200, 30, 30), "green": (30, 160, 40), "blue": (30, 40, 200)}


@pytest.fixture(scope="module")
def data():
    """240 16x12 images: a square or a bar in one of three colours, with pixel noise (as tests/ml/test_gan_eval)."""
    rng = np.random.default_rng(0)
    images, labels = [], {"category": [], "colour": []}
    for i in range(240):
        colour, category = list(COLOURS)[i % 3], ("square", "bar")[(i // 3) % 2]
        im = np.full((16, 12, 3), 255, np.int64)
        if category == "square":
            im[4:12, 3:9] = COLOURS[colour]
        else:
            im[2:14, 5:7] = COLOURS[colour]
        images.append(np.clip(im + rng.integers(-12, 12, im.shape), 0, 255).astype(np.uint8))
        labels["category"].append(category), labels["colour"].append(colour)
    vocab = AttributeVocab.build(labels)
    return np.stack(images), np.array(vocab.encode_many(labels)), vocab


def test_the_dcgan_baseline_trains_and_samples_every_condition(data):
    x, idx, vocab = data
    trainer = DCGANTrainer(DCGANConfig(height=16, width=12, blocks=2, z_dim=8, g_width=8, d_width=8,
                                       attr_sizes=vocab.sizes()), x[:200], idx[:200], batch_size=16)
    trainer.train(steps=5)
    assert trainer.step_count == 5 and all(np.isfinite([h["d"], h["g"]]).all() for h in trainer.history)
    fake = gan_eval.generate(trainer.sampler(), idx[:7], seed=1)
    assert fake.shape == (7, 3, 16, 12) and fake.abs().max() <= 1
    assert torch.equal(fake, gan_eval.generate(trainer.sampler(), idx[:7], seed=1))  # reproducible


def test_cpu_budget_stops_training(data):
    x, idx, vocab = data
    trainer = DCGANTrainer(DCGANConfig(height=16, width=12, blocks=2, z_dim=8, g_width=8, d_width=8,
                                       attr_sizes=vocab.sizes()), x[:200], idx[:200], batch_size=8)
    trainer.train(cpu_minutes=0.01)  # 0.6 s of CPU
    assert trainer.step_count > 0
    with pytest.raises(ValueError):
        trainer.train()
