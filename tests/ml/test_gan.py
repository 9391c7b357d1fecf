"""The conditional GAN: shapes, projection D, hinge losses, truncation, DiffAugment, EMA, training, checkpoints."""
import numpy as np
import pytest
import torch
from PIL import Image

from ml import checkpoint
from ml.augment import DEFAULT_POLICY, diff_augment, parse_policy
from ml.gan import (Discriminator, Encoder, GANConfig, Generator, count_params, d_hinge_loss, g_hinge_loss,
                    truncated_z)
from ml.gan_train import GANTrainer
from ml.training import ema_update, plot_losses
from ml.vocab import AttributeVocab

COLOURS = {"red": (200, 30, 30), "blue": (30, 40, 200)}


def tiny_config(channels: int = 3, attr_sizes=(3, 3)) -> GANConfig:
    return GANConfig(height=16, width=12, channels=channels, blocks=2, z_dim=8, g_width=8, d_width=8,
                     e_width=8, embed_dim=4, attr_sizes=list(attr_sizes), groups=4)


def make_catalogue(n: int = 16) -> tuple[np.ndarray, np.ndarray, AttributeVocab]:
    """Red or blue boxes or bars on white, 16x12: kind and colour both visible."""
    vocab = AttributeVocab.build({"kind": ["box", "bar"], "colour": list(COLOURS)})
    images, attrs = [], []
    for i in range(n):
        kind, colour = ("box", "bar")[i % 2], list(COLOURS)[(i // 2) % 2]
        img = np.full((16, 12, 3), 255, np.uint8)
        if kind == "box":
            img[3:13, 2:10] = COLOURS[colour]
        else:
            img[2:14, 4:8] = COLOURS[colour]
        images.append(img)
        attrs.append(vocab.encode({"kind": kind, "colour": colour}))
    return np.stack(images), np.array(attrs), vocab


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(channels):
    config = tiny_config(channels)
    G, D, E = Generator(config), Discriminator(config), Encoder(config)
    z, attrs = torch.randn(5, 8), torch.tensor([[1, 2]] * 5)
    x = G(z, attrs)
    assert x.shape == (5, channels, 16, 12)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x, attrs).shape == (5,)
    assert E(x).shape == (5, 8)


def test_default_config_is_64x48_from_4x3_and_cpu_sized():
    config = GANConfig(attr_sizes=[13, 9])
    assert config.start == (4, 3)
    G = Generator(config)
    assert G(torch.randn(2, config.z_dim), torch.tensor([[1, 1], [2, 3]])).shape == (2, 3, 64, 48)
    assert 5e5 < count_params(G) < 3e6


@pytest.mark.parametrize("size,blocks,inner", [((16, 12), 4, (16, 16)), ((28, 28), 3, (32, 32)),
                                               ((30, 22), 2, (32, 24))])
def test_sizes_not_divisible_by_the_blocks_are_padded_inside_and_cropped_on_output(size, blocks, inner):
    config = GANConfig(height=size[0], width=size[1], channels=1, blocks=blocks, z_dim=8, g_width=8, d_width=8,
                       e_width=8, embed_dim=4, attr_sizes=[3], groups=4)
    assert config.inner == inner
    G, D, E = Generator(config), Discriminator(config), Encoder(config)
    x = G(torch.randn(3, 8), torch.tensor([[1], [2], [1]]))
    assert x.shape == (3, 1, *size)
    assert D(x, torch.ones(3, 1, dtype=torch.long)).shape == (3,) and E(x).shape == (3, 8)


def test_config_rejects_sizes_that_are_not_positive():
    with pytest.raises(ValueError):
        GANConfig(height=0, width=12)


def test_projection_discriminator_uses_the_labels():
    D = Discriminator(tiny_config()).eval()
    x = torch.rand(4, 3, 16, 12) * 2 - 1
    out_a = D(x, torch.tensor([[1, 1]] * 4))
    out_b = D(x, torch.tensor([[1, 2]] * 4))  # only the second attribute changed
    assert not torch.allclose(out_a, out_b)


def test_every_discriminator_weight_is_spectral_normed():
    D = Discriminator(tiny_config())
    for module in D.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.Embedding)):
            assert hasattr(module, "parametrizations"), module


def test_hinge_losses_on_known_values():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.5])
    # real: relu(1-2)=0, relu(1-0.5)=0.5 -> 0.25; fake: relu(1-2)=0, relu(1+0.5)=1.5 -> 0.75
    assert d_hinge_loss(real, fake).item() == pytest.approx(1.0)
    assert g_hinge_loss(fake).item() == pytest.approx(0.75)


def test_truncated_z_is_bounded_and_seeded():
    z = truncated_z(64, 16, 0.5, torch.Generator().manual_seed(3))
    assert z.abs().max() <= 0.5
    assert z.std() > 0.2  # resampled, not squashed to the bound
    assert torch.equal(z, truncated_z(64, 16, 0.5, torch.Generator().manual_seed(3)))
    assert torch.equal(truncated_z(4, 16, 0.0), torch.zeros(4, 16))


def test_sample_same_seed_same_images():
    G = Generator(tiny_config()).eval()
    a = G.sample(3, torch.tensor([1, 2]), 0.7, torch.Generator().manual_seed(5))
    b = G.sample(3, torch.tensor([1, 2]), 0.7, torch.Generator().manual_seed(5))
    c = G.sample(3, torch.tensor([1, 2]), 0.7, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_diff_augment_keeps_shape_passes_gradient_and_is_seeded():
    x = (torch.rand(6, 3, 16, 12) * 2 - 1).requires_grad_(True)
    y = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(1))
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad.abs().sum() > 0
    again = diff_augment(x.detach(), "color,translation,cutout", torch.Generator().manual_seed(1))
    assert torch.equal(y.detach(), again)
    cut = diff_augment(torch.ones(8, 3, 16, 12), "cutout", torch.Generator().manual_seed(0))
    assert (cut == 0).any() and (cut == 1).any()


def test_default_policy_leaves_colour_alone():
    assert "color" not in parse_policy(DEFAULT_POLICY)
    with pytest.raises(ValueError):
        parse_policy("translation,hue")


def test_ema_update_math():
    ema, model = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    torch.nn.init.zeros_(ema.weight), torch.nn.init.ones_(model.weight)
    ema_update(ema, model, decay=0.9)
    assert torch.allclose(ema.weight, torch.full((1, 2), 0.1))
    ema_update(ema, model, decay=0.9)
    assert torch.allclose(ema.weight, torch.full((1, 2), 0.19))


def test_overfitting_a_tiny_batch_separates_real_from_fake():
    images, attrs, vocab = make_catalogue(8)
    trainer = GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs, vocab, batch_size=8, seed=0,
                         lr=1e-3, lr_d=2e-3, augment="")
    trainer.train(steps=40)
    first, last = trainer.history[:5], trainer.history[-5:]
    assert np.mean([h["d"] for h in last]) < np.mean([h["d"] for h in first])
    assert np.mean([h["recon"] for h in last]) < 0.75 * np.mean([h["recon"] for h in first])
    real, batch_attrs = trainer._batch()
    with torch.no_grad():
        fake = trainer.G(trainer._z(len(real)), batch_attrs)
        assert trainer.D(real, batch_attrs).mean() > trainer.D(fake, batch_attrs).mean()


def test_trainer_rejects_data_that_does_not_match_the_config():
    images, attrs, vocab = make_catalogue(4)
    with pytest.raises(ValueError):
        GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images[:, :8], attrs, vocab)
    with pytest.raises(ValueError):
        GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs[:, :1], vocab)


def test_grayscale_training_runs():
    images, attrs, vocab = make_catalogue(4)
    gray = images.mean(axis=3).astype(np.uint8)  # (n, h, w)
    trainer = GANTrainer(tiny_config(1, vocab.sizes()), gray, attrs, vocab, batch_size=4)
    losses = trainer.step()
    assert np.isfinite([losses["d"], losses["g"], losses["recon"], losses["kl"], losses["e_latent"]]).all()


def test_resume_continues_exactly(tmp_path):
    images, attrs, vocab = make_catalogue(8)
    trainer = GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs, vocab, batch_size=4, seed=2)
    trainer.train(steps=3)
    trainer.save(tmp_path / "state.safetensors")
    resumed = GANTrainer.load(tmp_path / "state.safetensors", images, attrs)
    assert resumed.step_count == 3 and resumed.history == trainer.history
    trainer.train(steps=2), resumed.train(steps=2)
    assert trainer.history[-1] == resumed.history[-1]
    for a, b in zip(trainer.G_ema.parameters(), resumed.G_ema.parameters()):
        assert torch.equal(a, b)


def test_a_run_saved_with_since_removed_options_still_resumes(tmp_path):
    images, attrs, vocab = make_catalogue(8)
    trainer = GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs, vocab, batch_size=4, seed=2)
    trainer.train(steps=2)
    trainer.save(tmp_path / "state.safetensors")
    tensors, meta = checkpoint.load(tmp_path / "state.safetensors")
    meta["train"].update(sharpen=0.4, adv_final=1.0, recon_final=0.1, diversity_weight=0.0)  # as older runs stored
    meta["sharpness"] = 0.0
    checkpoint.save(tmp_path / "old.safetensors", tensors, meta)
    resumed = GANTrainer.load(tmp_path / "old.safetensors", images, attrs)
    assert resumed.step_count == 2 and resumed.train_config == trainer.train_config
    trainer.train(steps=1), resumed.train(steps=1)
    assert trainer.history[-1] == resumed.history[-1]
    with pytest.raises(TypeError):
        GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs, vocab, sharpen=0.4)  # no longer an option


def test_train_stops_when_the_callback_says_so():
    images, attrs, vocab = make_catalogue(4)
    trainer = GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs, vocab, batch_size=4)
    seen = []
    trainer.train(steps=10, callback=lambda step, losses: seen.append(step) or step == 2)
    assert seen == [1, 2] and trainer.step_count == 2


def test_export_is_small_and_of_the_sampling_kind(tmp_path):
    vocab = AttributeVocab.build({"articleType": list("abcdefghijkl"), "baseColour": list("abcdefghijklmn")})
    trainer = GANTrainer(GANConfig(attr_sizes=vocab.sizes()), np.zeros((2, 64, 48, 3), np.uint8),
                         np.ones((2, 2), np.int64), vocab)
    trainer.export(tmp_path / "gan.safetensors")
    assert (tmp_path / "gan.safetensors").stat().st_size < 20 * 2**20
    tensors, meta = checkpoint.load(tmp_path / "gan.safetensors")
    assert meta["kind"] == "gan" and meta["vocab"] == vocab.to_dict()
    assert not any(k.startswith("D.") for k in tensors)


def test_plot_losses_writes_a_png(tmp_path):
    history = [{"step": i, "d": 2 - i / 50, "g": i / 100} for i in range(1, 101)]
    plot_losses(history, tmp_path / "losses.png")
    with Image.open(tmp_path / "losses.png") as im:
        assert im.size == (640, 360)
        assert len(np.unique(np.asarray(im).reshape(-1, 3), axis=0)) > 2  # curves drawn, not blank


def test_the_condition_is_blended_in_over_the_first_part_of_the_budget():
    images, attrs, vocab = make_catalogue(8)
    trainer = GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs, vocab, batch_size=4, cond_blend=0.5)
    scales = []
    trainer.train(steps=4, callback=lambda step, losses: scales.append(trainer.G.cond_scale))
    assert scales == [0.0, 0.5, 1.0, 1.0]
    assert trainer.G.cond_scale == trainer.D.cond_scale == 1.0  # sampling is always fully conditional


def test_an_unconditional_discriminator_ignores_the_labels():
    D = Discriminator(tiny_config()).eval()
    D.cond_scale = 0.0
    x = torch.rand(4, 3, 16, 12) * 2 - 1
    assert torch.equal(D(x, torch.tensor([[1, 1]] * 4)), D(x, torch.tensor([[2, 2]] * 4)))


def test_a_killed_and_resumed_blended_run_matches_the_uninterrupted_one(tmp_path):
    images, attrs, vocab = make_catalogue(8)
    make = lambda: GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs, vocab, batch_size=4,  # noqa: E731
                              seed=3, cond_blend=0.5, recon_every=2)
    whole = make()
    whole.train(steps=6)
    killed = make()
    killed.train(steps=6, callback=lambda step, losses: step == 3)  # the process dies after step 3
    killed.save(tmp_path / "state.safetensors")
    resumed = GANTrainer.load(tmp_path / "state.safetensors", images, attrs)
    resumed.train(steps=3)  # the command asks for what is left of --steps 6
    assert resumed.history == whole.history
    for a, b in zip(whole.G_ema.parameters(), resumed.G_ema.parameters()):
        assert torch.equal(a, b)


def test_reconstruction_every_other_step_keeps_the_history_rows_whole():
    images, attrs, vocab = make_catalogue(8)
    trainer = GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs, vocab, batch_size=4, recon_every=2)
    trainer.train(steps=4)
    assert [set(h) for h in trainer.history[1:]] == [set(trainer.history[0])] * 3
    assert trainer.history[1]["recon"] == trainer.history[0]["recon"]  # carried over on the step without it
    assert trainer.history[2]["recon"] != trainer.history[1]["recon"]


def test_the_class_term_read_as_a_classifier_learns_the_real_classes():
    images, attrs, vocab = make_catalogue(8)
    trainer = GANTrainer(tiny_config(attr_sizes=vocab.sizes()), images, attrs, vocab, batch_size=8, seed=0,
                         class_weight=1.0, augment="", lr_d=3e-3)
    real, labels = trainer._batch()
    with torch.no_grad():
        before = trainer._class_loss(trainer.D.features(real), labels).item()
    trainer.train(steps=40)
    with torch.no_grad():
        phi = trainer.D.features(real)
        after = trainer._class_loss(phi, labels).item()
        logits = trainer.D.class_logits(phi)
    assert [lg.shape for lg in logits] == [(8, 3), (8, 3)]
    assert after < 0.7 * before
