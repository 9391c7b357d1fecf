"""Which attribute is the colour, which the category, and when two spellings are the same value: one place."""
from ml.vocab import category_attribute, colour_attribute, spelling_key


def test_colour_attribute_takes_either_spelling_in_the_order_given():
    assert colour_attribute(["articleType", "baseColour"]) == "baseColour"
    assert colour_attribute(["color", "colour"]) == "color"
    assert colour_attribute(["category", "size"]) is None


def test_category_attribute_prefers_exact_names_then_a_mention():
    assert category_attribute(["productType", "category"]) == "category"
    assert category_attribute(["baseColour", "articleType"]) == "articleType"
    assert category_attribute(["colour", "productType"]) == "productType"
    assert category_attribute(["colour", "size"]) is None


def test_spelling_key_ignores_case_spaces_hyphens_and_underscores():
    assert spelling_key("Navy-Blue") == spelling_key("navy blue") == spelling_key("navy_blue") == "navyblue"
    assert spelling_key(None) == ""
    assert spelling_key("Off White") != spelling_key("White")
