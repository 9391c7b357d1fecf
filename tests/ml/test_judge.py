"""`ml.judge.Judge`: the evaluator as a loadable model, asked how surely an image shows a value."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml.checkpoint import CheckpointError
from ml.evaluator import EvaluatorConfig
from ml.evaluator_train import export, train_classifier
from ml.judge import Judge
from ml.vocab import AttributeVocab

COLOURS = {"red": (210, 30, 30), "navy-blue": (25, 35, 110), "yellow": (235, 205, 40)}
VOCAB = AttributeVocab({"category": ["<unk>", "shirt", "shoe"], "colour": ["<unk>", "navy-blue", "red", "yellow"]})


def product(category: str, colour: str, jitter: int = 0) -> Image.Image:
    """A tall rectangle (shirt) or a low wide ellipse (shoe) on white, 12x16."""
    im = Image.new("RGB", (12, 16), (255, 255, 255))
    fill = tuple(int(np.clip(c + jitter, 0, 255)) for c in COLOURS[colour])
    draw = ImageDraw.Draw(im)
    (draw.rectangle if category == "shirt" else draw.ellipse)(
        [2, 2, 10, 14] if category == "shirt" else [1, 9, 11, 14], fill=fill)
    return im


@pytest.fixture(scope="module")
def judge_path(tmp_path_factory):
    """A tiny evaluator trained to name the category and colour of synthetic products, exported."""
    rng = np.random.default_rng(0)
    cats, cols = rng.choice(["shirt", "shoe"], 96), rng.choice(list(COLOURS), 96)
    x = np.stack([np.asarray(product(c, k, int(rng.integers(-20, 20)))) for c, k in zip(cats, cols)])
    idx = np.array([VOCAB.encode({"category": c, "colour": k}) for c, k in zip(cats, cols)])
    config = EvaluatorConfig(height=16, width=12, widths=[8, 16])
    model = train_classifier(x, idx, VOCAB, epochs=30, seed=0, config=config, batch_size=32, lr=5e-3)
    path = tmp_path_factory.mktemp("judge") / "evaluator.safetensors"
    return path, export(model, VOCAB, path)


def test_probability_is_high_for_what_the_image_shows_and_low_otherwise(judge_path):
    judge = Judge.from_checkpoint(judge_path[0])
    navy_shirt = product("shirt", "navy-blue")
    assert judge.probability(navy_shirt, "colour", "navy-blue") > 0.8
    assert judge.probability(navy_shirt, "colour", "yellow") < 0.2
    assert judge.probability(navy_shirt, "category", "shirt") > 0.8


def test_values_match_ignoring_case_spaces_and_hyphens(judge_path):
    judge = Judge.from_checkpoint(judge_path[0])
    image = product("shoe", "navy-blue")
    assert judge.probability(image, "colour", "Navy Blue") == pytest.approx(
        judge.probability(image, "colour", "navy-blue"))
    assert judge.probability(image, "colour", "NAVY_BLUE") is not None


def test_unknown_attribute_or_value_gives_none(judge_path):
    judge = Judge.from_checkpoint(judge_path[0])
    image = product("shirt", "red")
    assert judge.probability(image, "colour", "teal") is None
    assert judge.probability(image, "pattern", "stripes") is None
    assert judge.probability(image, "colour", "<unk>") is None
    assert judge.probabilities(image, {"colour": "red", "pattern": "dots"})["pattern"] is None


def test_predict_names_the_value_and_its_probability(judge_path):
    judge = Judge.from_checkpoint(judge_path[0])
    seen = judge.predict(product("shoe", "yellow"))
    assert seen["colour"][0] == "yellow" and seen["category"][0] == "shoe"
    assert 0.5 < seen["colour"][1] <= 1.0


def test_a_file_that_does_not_match_its_sha256_is_refused(judge_path):
    path, sha = judge_path
    assert Judge.from_checkpoint(path, expected_sha256=sha).attributes == ["category", "colour"]
    with pytest.raises(CheckpointError, match="sha256"):
        Judge.from_checkpoint(path, expected_sha256="0" * 64)
