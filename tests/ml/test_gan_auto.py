"""The GAN's automatic configuration: blocks that fit any size, widths that hold the cost, conditioning schedule."""
import pytest
import torch

from ml.gan import Discriminator, GANConfig, Generator
from ml.gan_auto import auto_config, choose_blocks
from ml.gan_train import TrainConfig


@pytest.mark.parametrize("size,blocks", [((64, 48), 4), ((32, 32), 3), ((28, 28), 3), ((300, 225), 5), ((8, 8), 1)])
def test_blocks_leave_a_first_map_of_at_least_three_pixels(size, blocks):
    assert choose_blocks(*size) == blocks


def test_the_measured_catalogue_gets_the_measured_configuration():
    plan = auto_config(n_images=9000, height=64, width=48, channels=3, attr_sizes=[9, 9])
    assert (plan.model["blocks"], plan.model["g_width"], plan.model["d_width"]) == (4, 24, 16)
    assert plan.train["batch_size"] == 16 and plan.train["cond_blend"] == 0.0
    assert set(plan.reasons) >= {"blocks", "g_width", "batch_size", "lr", "cond_blend"}


def test_the_config_defaults_are_what_the_auto_configuration_picks_for_a_typical_catalogue():
    plan = auto_config(n_images=9000, height=64, width=48, channels=3, attr_sizes=[9, 9])
    defaults, model = TrainConfig(), GANConfig(attr_sizes=[9, 9])
    assert {k: getattr(defaults, k) for k in plan.train} == plan.train
    assert {k: getattr(model, k) for k in plan.model} == plan.model


def test_large_images_get_narrower_networks_and_still_come_out_at_their_size():
    plan = auto_config(n_images=2000, height=300, width=225, channels=3, attr_sizes=[5])
    assert plan.model["g_width"] < 24 and plan.model["d_width"] <= 16
    assert "draws 320x256, cropped to 300x225" in plan.reasons["blocks"]
    config = GANConfig(**plan.model)
    with torch.no_grad():
        x = Generator(config)(torch.randn(1, config.z_dim), torch.tensor([[1]]))
        assert x.shape == (1, 3, 300, 225)
        assert Discriminator(config)(x, torch.tensor([[1]])).shape == (1,)


def test_few_images_per_condition_blend_the_condition_in():
    few = auto_config(n_images=500, height=64, width=48, channels=3, attr_sizes=[9, 9])
    many = auto_config(n_images=9000, height=64, width=48, channels=3, attr_sizes=[9, 9])
    assert few.train["cond_blend"] > 0 and many.train["cond_blend"] == 0
    assert "Shahbazi" in few.reasons["cond_blend"]


def test_tiny_grayscale_images_use_a_larger_batch():
    assert auto_config(6000, 28, 28, 1, [11]).train["batch_size"] > auto_config(6000, 64, 48, 3, [11]).train["batch_size"]


def test_the_operators_values_win_and_say_so():
    plan = auto_config(9000, 64, 48, 3, [9, 9]).apply({"g_width": 40}, {"lr": 1e-4, "recon_every": 2})
    assert plan.model["g_width"] == 40 and plan.train["lr"] == 1e-4 and plan.train["recon_every"] == 2
    assert plan.reasons["g_width"] == plan.reasons["recon_every"] == "given by the operator"
    assert any(line.startswith("g_width = 40: given by the operator") for line in plan.lines())
