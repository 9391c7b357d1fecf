"""Design variations are low-resolution ideas (the GAN's 64x48 drawing, stretched): labelled so in the admin and
never shown in the storefront, even when approved."""
import pytest

from prodimg_plugin.admin.html import generated_card
from prodimg_plugin.storefront import candidates
from tests.plugin.personalize_helpers import RGB, make_generated, product_with_variants

pytestmark = pytest.mark.django_db


def design_variation(source):
    idea = make_generated(source, "red", RGB["red"], status="approved")
    idea.params = {"mode": "design", "strength": 0.5, "index": 0, "delivery": "upscaled-from-48x64"}
    idea.save(update_fields=["params"])
    return idea


def test_an_approved_design_variation_is_never_a_storefront_candidate():
    product, original, [colourway] = product_with_variants("Red Tee", "red", ["green"])
    idea = design_variation(original)
    keys = [c.key for c in candidates.build(product)]
    assert keys == [f"s{original.pk}", f"g{colourway.pk}"] and f"g{idea.pk}" not in keys


def test_the_admin_labels_a_design_variation_as_a_low_resolution_idea_and_a_colourway_not():
    product, original, [colourway] = product_with_variants("Red Tee", "red", ["green"])
    idea = design_variation(original)
    assert idea.low_resolution_idea and not colourway.low_resolution_idea
    assert "Low-resolution idea" in generated_card(idea, "/")
    assert "Low-resolution idea" not in generated_card(colourway, "/")
