"""The procedural product photos: deterministic, the right shape, and the colour they are named for."""

from __future__ import annotations

import io

import numpy as np
import pytest

from shop_demo.catalog.attributes import COLOURS, KINDS, PATTERNS, normalise_colour, product_name
from shop_demo.catalog.render import render_product, render_with_mask


def _png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def test_same_seed_gives_identical_bytes():
    assert _png(render_product("dress", "red", "dots", seed=7)) == _png(render_product("dress", "red", "dots", seed=7))


def test_different_seeds_give_different_photos():
    a = np.asarray(render_product("tee", "navy-blue", "solid", seed=1), dtype=np.int16)
    b = np.asarray(render_product("tee", "navy-blue", "solid", seed=2), dtype=np.int16)
    assert np.abs(a - b).mean() > 1.0


def test_seed_fixes_pose_so_colour_edits_are_paired():
    """Same kind and seed: the silhouette does not move when only the colour changes."""
    a = render_with_mask("boot", "black", "solid", seed=3).colour_mask
    b = render_with_mask("boot", "yellow", "stripes", seed=3).colour_mask
    assert np.array_equal(np.asarray(a) > 127, np.asarray(b) > 127)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_3_by_4_photo_of_a_product(kind):
    image = render_product(kind, "green", "solid", seed=0)
    assert image.size == (240, 320) and image.mode == "RGB"
    pixels = np.asarray(image, dtype=np.float32)
    assert pixels.std() > 10  # not blank
    corners = pixels[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners > 215).all()  # white / light-grey studio background


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("colour", list(COLOURS))
def test_product_pixels_are_the_named_colour(kind, colour):
    rendering = render_with_mask(kind, colour, "solid", seed=5, size=(60, 80))
    mask = np.asarray(rendering.colour_mask) > 200
    assert mask.mean() > 0.05, "the product should fill a fair part of the frame"
    median = np.median(np.asarray(rendering.image, dtype=np.float32)[mask], axis=0)
    assert np.linalg.norm(median - np.array(COLOURS[colour])) < 30, (median, COLOURS[colour])


@pytest.mark.parametrize("pattern", PATTERNS)
def test_patterns_differ_and_keep_the_named_colour_dominant(pattern):
    rendering = render_with_mask("shirt", "red", pattern, seed=1)
    mask = np.asarray(rendering.colour_mask) > 200
    pixels = np.asarray(rendering.image, dtype=np.float32)[mask]
    near_red = np.linalg.norm(pixels - np.array(COLOURS["red"]), axis=1) < 60
    assert near_red.mean() > 0.4
    if pattern != "solid":
        solid = np.asarray(render_product("shirt", "red", "solid", seed=1), dtype=np.float32)
        assert np.abs(np.asarray(rendering.image, dtype=np.float32) - solid).mean() > 3


def test_size_is_configurable():
    assert render_product("cap", "beige", "checks", seed=0, size=(120, 160)).size == (120, 160)


def test_colour_names_are_forgiving_and_unknown_values_fail_loudly():
    assert normalise_colour("Navy Blue") == "navy-blue"
    with pytest.raises(ValueError, match="unknown colour"):
        render_product("tee", "mauve", "solid", seed=0)
    with pytest.raises(ValueError, match="unknown kind"):
        render_product("kilt", "red", "solid", seed=0)


def test_product_names_read_like_a_shop():
    assert product_name("tee", "navy-blue", "stripes") == "Navy Blue Striped Tee"
    assert product_name("sneaker", "white", "solid") == "White Sneakers"
