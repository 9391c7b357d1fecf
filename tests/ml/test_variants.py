"""Variants from an exported GAN: round trip, determinism, colourways at full resolution, design variations."""
import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from ml.checkpoint import CheckpointError
from ml.gan import GANConfig
from ml.gan_train import GANTrainer
from ml.images import tensor_to_pil
from ml.variants import Variant, VariantGenerator, product_mask
from ml.vocab import AttributeVocab, UnknownAttributeValue

COLOURS = {"Red": (200, 30, 30), "Blue": (30, 40, 200), "Green": (30, 160, 60), "Navy Blue": (25, 30, 80)}
KINDS = ("box", "bar")


def draw_product(kind: str, colour: str, size=(12, 16)) -> Image.Image:
    """A product on white: a box or a bar, in the middle of a 3:4 frame."""
    w, h = size
    img = Image.new("RGB", size, "white")
    box = (w * 0.15, h * 0.2, w * 0.85, h * 0.8) if kind == "box" else (w * 0.35, h * 0.1, w * 0.65, h * 0.9)
    ImageDraw.Draw(img).rectangle(box, fill=COLOURS[colour])
    return img


@pytest.fixture(scope="module")
def trainer():
    torch.manual_seed(0)
    vocab = AttributeVocab.build({"kind": list(KINDS), "colour": list(COLOURS)})
    pairs = [(k, c) for k in KINDS for c in COLOURS]
    images = np.stack([np.asarray(draw_product(k, c)) for k, c in pairs * 2])
    attrs = np.array([vocab.encode({"kind": k, "colour": c}) for k, c in pairs * 2])
    config = GANConfig(height=16, width=12, blocks=2, z_dim=8, g_width=12, d_width=8, e_width=8, embed_dim=8,
                       attr_sizes=vocab.sizes(), groups=4)
    trainer = GANTrainer(config, images, attrs, vocab, batch_size=16, lr=2e-3, lr_d=4e-3, lr_e=2e-3)
    trainer.train(steps=120)  # enough for this toy catalogue to learn colour (a few CPU seconds)
    return trainer


@pytest.fixture(scope="module")
def exported(trainer, tmp_path_factory):
    path = tmp_path_factory.mktemp("gan") / "gan.safetensors"
    return path, trainer.export(path)


@pytest.fixture(scope="module")
def vg(exported):
    return VariantGenerator.from_checkpoint(exported[0], expected_sha256=exported[1])


def pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img.convert("RGB"), dtype=np.int16)


def assert_all_distinct(images):
    arrays = [pixels(im) for im in images]
    for i in range(len(arrays)):
        for j in range(i + 1, len(arrays)):
            assert np.abs(arrays[i] - arrays[j]).mean() > 0.5, (i, j)


def test_export_round_trip_gives_identical_samples(trainer, vg):
    assert vg.vocab.to_dict() == trainer.vocab.to_dict() and vg.config == trainer.config
    gen = torch.Generator().manual_seed(4)
    attrs = torch.tensor(trainer.vocab.encode({"kind": "box", "colour": "Red"}))
    expected = trainer.G_ema.sample(3, attrs, 0.7, gen)
    got = vg.sample({"kind": "box", "colour": "Red"}, 3, seed=4, truncation=0.7)
    assert [np.array_equal(pixels(tensor_to_pil(e)), pixels(g)) for e, g in zip(expected, got)] == [True] * 3


def test_same_seed_same_samples_and_variants(vg):
    source = draw_product("box", "Red", (120, 160))
    attrs = {"kind": "box", "colour": "Red"}
    a, b = vg.sample(attrs, 2, seed=1), vg.sample(attrs, 2, seed=1)
    assert all(np.array_equal(pixels(x), pixels(y)) for x, y in zip(a, b))
    va, vb = vg.colourways(source, attrs, 2, seed=3), vg.colourways(source, attrs, 2, seed=3)
    assert [v.params for v in va] == [v.params for v in vb]
    assert all(np.array_equal(pixels(x.image), pixels(y.image)) for x, y in zip(va, vb))
    da, db = vg.design_variations(source, attrs, 2, seed=3), vg.design_variations(source, attrs, 2, seed=3)
    assert all(np.array_equal(pixels(x.image), pixels(y.image)) for x, y in zip(da, db))


def test_colourways_are_full_resolution_and_distinct(vg):
    source = draw_product("box", "Red", (120, 160))
    variants = vg.colourways(source, {"kind": "box", "colour": "Red"}, count=3, seed=0)
    assert len(variants) == 3 and all(isinstance(v, Variant) for v in variants)
    assert {v.params["colour"] for v in variants} == {"Blue", "Green", "Navy Blue"}  # never the source's
    assert all(v.image.size == (120, 160) and v.params["mode"] == "colourway" for v in variants)
    assert_all_distinct([source] + [v.image for v in variants])
    assert all(pixels(v.image).std() > 5 for v in variants)  # not blank


def test_colourways_move_the_product_towards_the_target_colour(vg):
    source = draw_product("box", "Red", (120, 160))
    [blue] = vg.colourways(source, {"kind": "box", "colour": "Red"}, colours=["blue"])
    r, g, b = pixels(blue.image)[60:100, 40:80].reshape(-1, 3).mean(axis=0)  # inside the box
    assert blue.params["colour"] == "Blue"
    assert b > r + 50 and b > 30 + 50  # the red (200, 30, 30) box turned blue
    assert np.array_equal(pixels(blue.image)[:20, :20], pixels(source)[:20, :20])  # the backdrop is untouched


def test_both_transfers_recolour_and_an_unknown_transfer_is_refused(vg):
    source = draw_product("box", "Red", (120, 160))
    [chroma] = vg.colourways(source, {"kind": "box", "colour": "Red"}, colours=["blue"])
    [affine] = vg.colourways(source, {"kind": "box", "colour": "Red"}, colours=["blue"], transfer="affine")
    assert (chroma.params["transfer"], affine.params["transfer"]) == ("chroma", "affine")
    assert not np.array_equal(pixels(chroma.image), pixels(affine.image))
    for v in (chroma, affine):
        r, _, b = pixels(v.image)[60:100, 40:80].reshape(-1, 3).mean(axis=0)
        assert b > r + 50
    with pytest.raises(ValueError, match="transfer"):
        vg.colourways(source, {"kind": "box", "colour": "Red"}, colours=["blue"], transfer="magic")


def test_requested_colours_are_matched_loosely_and_unknown_ones_raise(vg):
    source = draw_product("bar", "Blue", (60, 80))
    [navy] = vg.colourways(source, {"kind": "bar", "colour": "Blue"}, colours=["navy-blue"])
    assert navy.params["colour"] == "Navy Blue"
    with pytest.raises(UnknownAttributeValue):
        vg.colourways(source, {"kind": "bar", "colour": "Blue"}, colours=["chartreuse"])


def test_unknown_source_values_fall_back_to_unk(vg):
    source = draw_product("bar", "Green", (60, 80))
    variants = vg.colourways(source, {"kind": "kaftan", "colour": "teal"}, count=2, seed=1)
    assert len(variants) == 2 and all(v.image.size == (60, 80) for v in variants)


def test_default_colours_depend_on_the_seed_only(vg):
    pick = lambda seed: vg._pick_colours({"colour": "Red"}, 2, seed)  # noqa: E731
    assert pick(0) == pick(0) and "Red" not in pick(0)
    assert len({tuple(pick(s)) for s in range(6)}) > 1


def test_design_variations_are_upscaled_distinct_and_not_blank(vg):
    source = draw_product("bar", "Green", (120, 160))
    variants = vg.design_variations(source, {"kind": "bar", "colour": "Green"}, count=3, seed=2, strength=0.8)
    assert all(v.image.size == (120, 160) and v.params["delivery"] == "upscaled-from-12x16" for v in variants)
    assert_all_distinct([source] + [v.image for v in variants])
    assert all(pixels(v.image).std() > 5 for v in variants)


def test_inversion_fits_the_image_better_than_the_encoder_guess(vg):
    source = draw_product("box", "Blue", (12, 16))
    attrs = {"kind": "box", "colour": "Blue"}
    x, cond = vg._model_input(source), vg.condition(attrs)
    with torch.no_grad():
        z0 = vg.E(x)
        err = lambda z: float((vg.G(z, cond) - x).abs().mean())  # noqa: E731
    z = vg.invert(source, attrs, steps=20)
    assert z.shape == (1, 8)
    assert err(z) < err(z0)


def test_tampered_or_wrong_checkpoints_raise(exported, trainer, tmp_path):
    path, sha = exported
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF  # flip bits inside the weights
    tampered = tmp_path / "tampered.safetensors"
    tampered.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        VariantGenerator.from_checkpoint(tampered, expected_sha256=sha)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(CheckpointError):
        VariantGenerator.from_checkpoint(truncated)
    trainer.save(tmp_path / "state.safetensors")  # a training state is not a sampling checkpoint
    with pytest.raises(CheckpointError):
        VariantGenerator.from_checkpoint(tmp_path / "state.safetensors")


def test_product_mask_finds_the_product_and_falls_back_to_everything_for_white_on_white():
    mask = product_mask(np.asarray(draw_product("box", "Red", (60, 80)), np.float32) / 255)
    assert mask.shape == (80, 60, 1)
    assert mask[40, 30, 0] == 1 and mask[2, 2, 0] == 0
    white = np.ones((80, 60, 3), np.float32)
    white[30:50, 20:40] = 0.98  # a white product barely differs from its backdrop
    assert (product_mask(white) == 1).all()
