import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from ml.checkpoint import CheckpointError
from ml.evaluator import AttributeClassifier, EvaluatorConfig, classification_loss
from ml.evaluator_train import export, train_classifier
from ml.judge import accuracy, from_checkpoint, predict
from ml.vocab import AttributeVocab

COLOURS = {"red": (210, 30, 30), "blue": (30, 40, 200), "green": (30, 170, 40)}
VOCAB = AttributeVocab({"category": ["<unk>", "shirt", "shoe"], "colour": ["<unk>", "blue", "green", "red"]})


def make_product(category: str, colour: str, size=(12, 16), jitter: int = 0) -> Image.Image:
    """A white-background product: a tall rectangle (shirt) or a low wide ellipse (shoe)."""
    w, h = size
    im = Image.new("RGB", size, (255, 255, 255))
    fill = tuple(int(np.clip(c + jitter, 0, 255)) for c in COLOURS[colour])
    box = [w * 0.2, h * 0.15, w * 0.8, h * 0.9] if category == "shirt" else [w * 0.05, h * 0.55, w * 0.95, h * 0.85]
    (ImageDraw.Draw(im).rectangle if category == "shirt" else ImageDraw.Draw(im).ellipse)(box, fill=fill)
    return im


def make_catalogue(n: int = 48, seed: int = 0):
    rng = np.random.default_rng(seed)
    cats, cols = rng.choice(["shirt", "shoe"], n), rng.choice(list(COLOURS), n)
    x = np.stack([np.asarray(make_product(c, k, jitter=int(rng.integers(-25, 25)))) for c, k in zip(cats, cols)])
    idx = np.array([VOCAB.encode({"category": c, "colour": k}) for c, k in zip(cats, cols)])
    return x, idx


def tiny_config() -> EvaluatorConfig:
    return EvaluatorConfig(height=16, width=12, widths=[8, 16], attributes=VOCAB.attributes, attr_sizes=VOCAB.sizes())


def test_forward_shapes_one_head_per_attribute():
    model = AttributeClassifier(tiny_config())
    logits = model(torch.zeros(5, 3, 16, 12))
    assert [tuple(lg.shape) for lg in logits] == [(5, 3), (5, 4)]


def test_unknown_labels_are_ignored_by_the_loss():
    logits = [torch.randn(4, 3), torch.randn(4, 4)]
    known = torch.tensor([[1, 2], [2, 3], [1, 1], [2, 2]])
    unknown = known.clone()
    unknown[:, 1] = 0
    assert classification_loss(logits, unknown) == pytest.approx(
        torch.nn.functional.cross_entropy(logits[0], known[:, 0]).item())
    assert classification_loss(logits, known) > classification_loss(logits, unknown)


def test_learns_colour_and_category_of_synthetic_products():
    x, idx = make_catalogue(96)
    model = train_classifier(x, idx, VOCAB, epochs=30, seed=0, config=tiny_config(), batch_size=32, lr=5e-3)
    x_test, idx_test = make_catalogue(48, seed=1)
    acc = accuracy(model, x_test, idx_test)
    assert acc["colour"] > 0.9 and acc["category"] > 0.9


def test_predict_never_names_unk_and_accepts_pil_images():
    model = AttributeClassifier(tiny_config()).eval()
    with torch.no_grad():
        model.heads[1].bias[0] = 100.0  # the raw logits prefer <unk> ...
    pred = predict(model, [make_product("shirt", "red", size=(90, 120)), make_product("shoe", "blue")])
    idx, probs = pred["colour"]
    assert idx.shape == (2,) and probs.shape == (2, 4)
    assert (idx > 0).all() and np.allclose(probs.sum(1), 1) and (probs[:, 0] == 0).all()  # ... yet never get it


def test_export_round_trip_gives_identical_predictions(tmp_path):
    x, idx = make_catalogue(32)
    model = train_classifier(x, idx, VOCAB, epochs=2, seed=0, config=tiny_config(), batch_size=16)
    sha = export(model, VOCAB, tmp_path / "ev.safetensors")
    loaded, vocab = from_checkpoint(tmp_path / "ev.safetensors", expected_sha256=sha)
    assert vocab.values == VOCAB.values
    assert np.array_equal(predict(model, x)["colour"][1], predict(loaded, x)["colour"][1])
    with pytest.raises(CheckpointError):
        from_checkpoint(tmp_path / "ev.safetensors", expected_sha256="0" * 64)


def test_same_seed_same_model():
    x, idx = make_catalogue(32)
    a = train_classifier(x, idx, VOCAB, epochs=1, seed=3, config=tiny_config(), batch_size=16)
    b = train_classifier(x, idx, VOCAB, epochs=1, seed=3, config=tiny_config(), batch_size=16)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
