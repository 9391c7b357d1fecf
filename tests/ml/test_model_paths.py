"""Which model does what with a mask model: colourways and colour edits take the catalogue's look of a colour it
knows (the GAN is not even run: its 25 % hint moved results away from that look, issue 22); a model's rendition
gives the look only of a colour the catalogue never showed."""
import numpy as np
import pytest

from ml.mask import MaskConfig, MaskNet
from ml.masker import ProductMask, ProductMasker
from ml.palette import ANY, Appearance, ColourPalette
from ml.recolour import recolour_with
from ml.variants import VariantGenerator
from tests.ml.test_mask import product_photo, true_mask
from tests.ml.test_variants import draw_product, exported, trainer, vg  # noqa: F401  (fixtures)

BLUE = Appearance(0.45, -0.03, -0.2)  # what a model drew: a strong blue


def masker_knowing(*colours: str) -> ProductMasker:
    """A masker whose palette knows these colours (all as a mid green): no trained net needed, the mask is given."""
    palette = ColourPalette({c.lower(): {ANY: [0.6, -0.12, 0.08, 0.08, 10]} for c in colours},
                            {c.lower(): c for c in colours})
    return ProductMasker(MaskNet(MaskConfig()), palette)


def exact_mask() -> ProductMask:
    alpha = true_mask().astype(np.float32)
    return ProductMask(alpha, np.zeros_like(alpha))


def test_a_rendition_does_not_move_a_colour_the_catalogue_knows():
    masker, photo, mask = masker_knowing("Green"), product_photo(), exact_mask()
    plain = recolour_with(masker, photo, "Green", mask=mask)[0]
    hinted = recolour_with(masker, photo, "Green", hint=BLUE, mask=mask)[0]
    assert np.array_equal(np.asarray(plain), np.asarray(hinted))


def test_a_rendition_gives_the_look_of_a_colour_the_catalogue_never_showed():
    masker, photo, mask = masker_knowing("Green"), product_photo(), exact_mask()
    drawn = np.asarray(recolour_with(masker, photo, "Cobalt", hint=BLUE, mask=mask)[0]).astype(int)
    inside = mask.alpha > 0.5
    assert (drawn[inside][:, 2] - drawn[inside][:, 0]).mean() > 40  # blue, not the red it was


def test_masked_colourways_run_the_gan_only_for_colours_the_catalogue_never_showed(vg, monkeypatch):
    image, attrs = draw_product("box", "Red", (48, 64)), {"kind": "box", "colour": "Red"}
    masker = masker_knowing("Green")
    alpha = np.zeros((64, 48), np.float32)
    alpha[13:51, 8:40] = 1  # the box
    masker.mask = lambda _: ProductMask(alpha, np.zeros_like(alpha))
    calls = []
    real = VariantGenerator.renditions
    monkeypatch.setattr(VariantGenerator, "renditions", lambda self, *a, **k: calls.append(a) or real(self, *a, **k))
    known = vg.colourways(image, attrs, colours=["Green"], masker=masker)
    assert calls == [] and known[0].params["inversion_steps"] == 0
    drawn = vg.colourways(image, attrs, colours=["Blue"], masker=masker)
    assert len(calls) == 1 and drawn[0].params["inversion_steps"] > 0
