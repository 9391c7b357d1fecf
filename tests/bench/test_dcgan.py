"""The DCGAN baseline of the GAN benchmarks (bench/dcgan.py): it trains on a budget and samples every condition."""
import numpy as np
import pytest
import torch

from ml import gan_eval

from bench.dcgan import DCGANConfig, DCGANTrainer
from tests.ml.shapes import squares_and_bars


@pytest.fixture(scope="module")
def data():
    """240 16x12 images: a square or a bar in one of three colours, with pixel noise (as tests/ml/test_gan_eval)."""
    return squares_and_bars()


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
