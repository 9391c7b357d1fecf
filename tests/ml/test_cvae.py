import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from ml.checkpoint import CheckpointError
from ml.cvae import CVAE, CVAEConfig
from ml.cvae_train import CVAETrainConfig, CVAETrainer, backdrop_mask, load_cvae
from ml.edits import AttributeEditor
from ml.images import to_tensor
from ml.metrics import psnr
from ml.vocab import AttributeVocab, UnknownAttributeValue

COLOURS = {"red": (210, 30, 30), "blue": (30, 40, 200)}
VOCAB = AttributeVocab({"category": ["<unk>", "shirt", "shoe"], "colour": ["<unk>", "blue", "red"]})


def make_product(category: str, colour: str, size=(12, 16)) -> Image.Image:
    """A white-background product: a tall rectangle (shirt) or a low wide ellipse (shoe)."""
    w, h = size
    im = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(im)
    if category == "shirt":
        draw.rectangle([w * 0.2, h * 0.15, w * 0.8, h * 0.9], fill=COLOURS[colour])
        for y in range(int(h * 0.2), int(h * 0.85), max(2, h // 20)):  # stripes: detail only the original has
            draw.line([(w * 0.25, y), (w * 0.75, y)], fill=tuple(c // 2 for c in COLOURS[colour]))
    else:
        draw.ellipse([w * 0.05, h * 0.55, w * 0.95, h * 0.85], fill=COLOURS[colour])
    return im


def make_catalogue(n: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    pairs = [(rng.choice(["shirt", "shoe"]), rng.choice(list(COLOURS))) for _ in range(n)]
    x = np.stack([np.asarray(make_product(c, k)) for c, k in pairs])
    return x, np.array([VOCAB.encode({"category": c, "colour": k}) for c, k in pairs])


def tiny_config(**kw) -> CVAEConfig:
    kw = {"height": 16, "width": 12, "z_dim": 4, "widths": [8, 16], "embed_dim": 4, "kl_warmup_steps": 10} | kw
    return CVAEConfig(attr_sizes=VOCAB.sizes(), **kw)


def tiny_trainer(seed=0, n=32, **tc) -> CVAETrainer:
    x, idx = make_catalogue(n)
    tc = {"batch_size": 16, "critic_widths": [8, 16], "critic_start": 2, "ema_decay": 0.9} | tc
    return CVAETrainer(tiny_config(), x, idx, VOCAB, seed=seed, train_config=CVAETrainConfig(**tc))


@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory):
    """A tiny CVAE trained long enough on red/blue shirts/shoes to edit colour."""
    torch.manual_seed(0)
    trainer = tiny_trainer(n=64, lr=5e-3, critic_start=50, critic_weight=5.0, ema_decay=0.95)
    trainer.train(steps=150)
    path = tmp_path_factory.mktemp("cvae") / "cvae.safetensors"
    return path, trainer.export(path)


def test_shapes():
    model = CVAE(tiny_config())
    x, c = torch.zeros(3, 3, 16, 12), torch.tensor([[1, 2], [2, 1], [0, 0]])
    mu, logvar = model.encode(x, c)
    assert mu.shape == logvar.shape == (3, 4)
    assert model.decode(mu, c).shape == (3, 3, 16, 12)
    out = model(x, c)
    assert out["loss"].ndim == 0 and torch.isfinite(out["loss"]) and out["x_hat"].shape == x.shape


def test_config_rejects_sizes_the_stages_cannot_halve():
    with pytest.raises(ValueError):
        CVAE(tiny_config(height=18))


def test_kl_is_annealed_in():
    model = CVAE(tiny_config(beta=2.0, kl_warmup_steps=10))
    assert [model.kl_weight(s) for s in (0, 5, 10, 100, None)] == [0.0, 1.0, 2.0, 2.0, 2.0]
    x, c = torch.rand(4, 3, 16, 12) * 2 - 1, torch.tensor([[1, 1]] * 4)
    cold = model(x, c, step=0, generator=torch.Generator().manual_seed(1))
    warm = model(x, c, step=None, generator=torch.Generator().manual_seed(1))
    assert cold["kl"] > 0
    assert cold["loss"].item() == pytest.approx(cold["recon"].item())
    assert warm["loss"].item() == pytest.approx(warm["recon"].item() + 2.0 * warm["kl"].item())


def test_kl_is_squeezed_once_annealing_is_done():
    trainer = tiny_trainer(n=16, critic_weight=0.0, lr=5e-3)
    trainer.train(steps=5)
    early_kl = trainer.step()["kl"]
    trainer.model.config.beta = 20.0  # a strong beta pulls the posterior onto the prior
    trainer.train(steps=60)
    assert trainer.step()["kl"] < early_kl / 2


def test_loss_falls_when_overfitting_a_tiny_batch():
    trainer = tiny_trainer(n=8, batch_size=8, critic_weight=0.0, lr=5e-3)
    first = trainer.step()["recon"]
    last = trainer.train(steps=100)["recon"]
    assert last < 0.3 * first


def test_critic_loss_joins_after_critic_start():
    trainer = tiny_trainer(critic_start=3)
    figures = [trainer.step() for _ in range(5)]
    assert [f["edit"] > 0 for f in figures] == [False, False, False, True, True]


def test_backdrop_mask_finds_the_plain_background_not_the_product():
    x = torch.ones(2, 3, 8, 6)  # white backdrop
    x[1] = 0.5  # a light grey one
    x[:, :, 2:6, 2:4] = -0.5  # the product
    x[0, 0, 3, 3] = 0.95  # nearly white: still product at a tight tolerance
    mask = backdrop_mask(x, tol=0.02)
    assert mask.shape == (2, 1, 8, 6)
    assert mask[:, :, 2:6, 2:4].sum() == 0 and mask[:, :, :2].min() == 1 and mask[1].sum() == 48 - 8


def test_same_seed_same_training():
    a, b = tiny_trainer(seed=4), tiny_trainer(seed=4)
    fa, fb = a.train(steps=4), b.train(steps=4)
    assert fa == fb
    assert all(torch.equal(p, q) for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()))


def test_a_cpu_budget_stops_training():
    trainer = tiny_trainer()
    figures = trainer.train(cpu_minutes=0.005)  # 0.3 s of this process's CPU time
    assert trainer.step_count > 0 and figures["step"] == trainer.step_count
    with pytest.raises(ValueError):
        trainer.train()  # no budget at all


def test_save_load_resumes_exactly(tmp_path):
    a = tiny_trainer()
    a.train(steps=3)
    a.save(tmp_path / "run.safetensors")
    expected = a.train(steps=3)
    b = tiny_trainer(seed=99)  # a different seed: everything must come from the file
    b.load(tmp_path / "run.safetensors")
    assert b.train(steps=3) == expected
    assert all(torch.equal(p, q) for p, q in zip(a.ema.state_dict().values(), b.ema.state_dict().values()))


def test_export_round_trip_gives_identical_outputs(tmp_path):
    trainer = tiny_trainer()
    trainer.train(steps=2)
    sha = trainer.export(tmp_path / "cvae.safetensors")
    model, vocab = load_cvae(tmp_path / "cvae.safetensors", expected_sha256=sha)
    x, c = torch.rand(2, 3, 16, 12) * 2 - 1, torch.tensor([[1, 2], [2, 1]])
    with torch.no_grad():
        assert torch.equal(model.encode(x, c)[0], trainer.ema.encode(x, c)[0])
        assert torch.equal(model.decode(torch.ones(2, 4), c), trainer.ema.decode(torch.ones(2, 4), c))
    assert vocab.values == VOCAB.values
    with pytest.raises(CheckpointError):
        load_cvae(tmp_path / "cvae.safetensors", expected_sha256="0" * 64)
    with pytest.raises(CheckpointError):
        trainer.load(tmp_path / "cvae.safetensors")  # a sampling export cannot resume training


def test_editor_lists_editable_values_and_rejects_unknown_targets(trained_checkpoint):
    editor = AttributeEditor.from_checkpoint(trained_checkpoint[0], expected_sha256=trained_checkpoint[1])
    assert editor.editable() == {"category": ["shirt", "shoe"], "colour": ["blue", "red"]}
    image = make_product("shirt", "red", size=(90, 120))
    with pytest.raises(UnknownAttributeValue, match="blue, red"):
        editor.edit(image, {"category": "shirt", "colour": "red"}, {"colour": "mauve"})
    with pytest.raises(UnknownAttributeValue, match="category, colour"):
        editor.edit(image, {"category": "shirt", "colour": "red"}, {"fabric": "silk"})


def test_edit_is_at_full_resolution_deterministic_and_null_edit_is_the_original(trained_checkpoint):
    editor = AttributeEditor.from_checkpoint(trained_checkpoint[0])
    image, attrs = make_product("shirt", "red", size=(90, 120)), {"category": "shirt", "colour": "red"}
    edited = editor.edit(image, attrs, {"colour": "blue"})
    assert edited.size == (90, 120) and edited.mode == "RGB"
    assert np.array_equal(np.asarray(edited), np.asarray(editor.edit(image, attrs, {"colour": "blue"}, seed=7)))
    null = editor.edit(image, attrs, {"colour": "red"})
    assert psnr(np.asarray(image), np.asarray(null)) > 40
    embedding = editor.embed(image, attrs)
    assert embedding.shape == (4,) and np.array_equal(embedding, editor.embed(image, attrs))


def test_colour_edit_changes_the_colour_and_keeps_the_background(trained_checkpoint):
    editor = AttributeEditor.from_checkpoint(trained_checkpoint[0])
    image = make_product("shirt", "red", size=(90, 120))
    out = np.asarray(editor.edit(image, {"category": "shirt", "colour": "red"}, {"colour": "blue"}), dtype=float)
    body = out[40:90, 30:60]  # inside the shirt
    assert body[..., 2].mean() > body[..., 0].mean() + 40  # was red (210, 30, 30), now bluer than red
    assert np.abs(out[:8, :8] - 255).mean() < 10  # the white corner stays white


def test_decoded_colour_follows_the_condition(trained_checkpoint):
    model, _ = load_cvae(trained_checkpoint[0])
    x = to_tensor(make_product("shoe", "blue"))[None]
    with torch.no_grad():
        mu, _ = model.encode(x, torch.tensor([[2, 1]]))
        red, blue = model.decode(mu.repeat(2, 1), torch.tensor([[2, 2], [2, 1]]))
    assert red[0].mean() - red[2].mean() > blue[0].mean() - blue[2].mean() + 0.2


def test_strength_makes_edits_bolder_but_never_touches_a_null_edit(trained_checkpoint):
    image, attrs = make_product("shirt", "red", size=(90, 120)), {"category": "shirt", "colour": "red"}
    original = np.asarray(image, dtype=float)
    change = {}
    for strength in (0.5, 1.0):
        editor = AttributeEditor.from_checkpoint(trained_checkpoint[0], strength=strength)
        change[strength] = np.abs(np.asarray(editor.edit(image, attrs, {"colour": "blue"}), dtype=float) - original)
        null = np.asarray(editor.edit(image, attrs, {"colour": "red"}), dtype=float)
        assert np.abs(null - original).max() <= 1
    assert change[1.0].mean() > 1.5 * change[0.5].mean()
