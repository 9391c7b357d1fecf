"""One garment, not the outfit: on a worn photo only the product named by the category changes (`ml.garment`)."""
import numpy as np
import pytest
from PIL import Image

from ml.colour import delta_e_rgb
from ml.colour_parts import colour_parts
from ml.exact_colour import recolour_to
from ml.garment import GRID, Garment, GarmentLayout, LayoutLearner, is_worn, person_box
from ml.masker import ProductMask
from ml.palette import Appearance
from ml.recolour import recolour

W, H = 60, 120
GREY, SKIN, BELT, BACKDROP = (120, 120, 125), (225, 180, 150), (150, 60, 20), (250, 250, 250)
TOP, BOTTOM = slice(22, 60), slice(66, 116)  # rows of the shirt and of the trousers
BELT_ROWS = slice(60, 66)
LEGS_APART = slice(80, 116)


def worn(belt: bool = True, top=GREY, bottom=GREY) -> tuple[Image.Image, ProductMask]:
    """A model in a shirt over trousers of the same grey, a head of skin above them; with a brown belt between the
    two garments, or with the shirt touching the trousers (one piece of one colour)."""
    arr = np.tile(np.array(BACKDROP, np.uint8), (H, W, 1))
    alpha, person = np.zeros((H, W), np.float32), np.zeros((H, W), np.float32)
    arr[4:22, 22:38], person[4:22, 22:38] = SKIN, 1
    folds = (1 + 0.08 * np.sin(np.arange(W) / 2.0))[None, :, None]
    for rows, colour in ((TOP, top), (BELT_ROWS, BELT if belt else top), (BOTTOM, bottom)):
        arr[rows, 12:48] = np.clip(np.array(colour) * folds[:, 12:48], 0, 255).astype(np.uint8)
        alpha[rows, 12:48] = 1
    arr[LEGS_APART, 28:32], alpha[LEGS_APART, 28:32] = BACKDROP, 0  # the trousers' two legs
    return Image.fromarray(arr), ProductMask(alpha, person)


def shirt(category: str = "Shirts") -> Garment:
    """A shirt's place: the upper half of the person's box is the product, the lower half another garment's."""
    prior = np.zeros(GRID, np.float32)
    prior[: GRID[0] // 2] = 0.9
    prior[GRID[0] // 2:] = 0.05
    return Garment(category, prior, 50)


def changed(a: Image.Image, b: Image.Image, rows: slice) -> float:
    """Share of the garment's pixels in `rows` visibly changed (the legs' gap is not garment)."""
    de = delta_e_rgb(np.asarray(a, np.float64)[rows, 12:48] / 255, np.asarray(b, np.float64)[rows, 12:48] / 255)
    garment = np.asarray(a)[rows, 12:48].min(axis=2) < 245
    return float((de[garment] > 5).mean())


def test_without_a_garment_both_garments_of_the_colour_change():
    image, mask = worn()
    out, figures = recolour_to(image, mask, (30, 140, 60))
    assert changed(image, out, TOP) > 0.9 and changed(image, out, BOTTOM) > 0.9
    assert figures["garment_problems"] == []


def test_only_the_shirt_changes_when_the_trousers_are_a_separate_piece():
    image, mask = worn(belt=True)
    out, figures = recolour_to(image, mask, (30, 140, 60), garment=shirt())
    assert changed(image, out, TOP) > 0.9
    assert changed(image, out, BOTTOM) == 0.0
    assert figures["garment_problems"] == []


def test_a_shirt_tucked_into_trousers_of_its_colour_is_flagged_and_the_trousers_mostly_kept():
    image, mask = worn(belt=False)
    out, figures = recolour_to(image, mask, (30, 140, 60), garment=shirt())
    assert changed(image, out, slice(24, 50)) > 0.9
    assert changed(image, out, slice(80, 116)) == 0.0
    assert len(figures["garment_problems"]) == 1 and "could not be separated" in figures["garment_problems"][0]


def test_the_named_colour_path_keeps_to_the_garment_too():
    image, mask = worn(belt=True)
    out, figures = recolour(image, mask, Appearance(0.55, -0.12, 0.08), garment=shirt())  # a green
    assert changed(image, out, TOP) > 0.9 and changed(image, out, BOTTOM) == 0.0


def test_a_colour_found_only_where_another_garment_is_changes_nothing_and_says_so():
    image, mask = worn(belt=True, top=(200, 40, 40))  # a red shirt; grey trousers chosen by their colour
    grey = next(p.index for p in colour_parts(image, mask) if not p.colour.startswith("#c"))  # not the red
    out, figures = recolour_to(image, mask, (30, 140, 60), parts=[grey], garment=shirt())
    assert changed(image, out, BOTTOM) == 0.0 and changed(image, out, TOP) == 0.0
    assert "nothing was changed" in figures["garment_problems"][0]


def test_a_packshot_is_left_to_the_colour_parts():
    image, mask = worn(belt=True)
    packshot = ProductMask(mask.alpha, np.zeros_like(mask.person))
    assert not is_worn(packshot) and is_worn(mask)
    out, figures = recolour_to(image, packshot, (30, 140, 60), garment=shirt())
    assert changed(image, out, BOTTOM) > 0.9 and figures["garment_problems"] == []


def test_the_layout_is_learned_from_photos_where_the_labelled_colour_sits():
    learner = LayoutLearner()
    for _ in range(8):
        image, mask = worn(belt=True, top=(200, 40, 40))
        shirt_pixels = np.zeros((H, W), bool)
        shirt_pixels[TOP, 12:48] = True
        assert learner.add("Shirts", mask, shirt_pixels)
    _, packshot = worn()
    assert not learner.add("Shirts", ProductMask(packshot.alpha, np.zeros_like(packshot.person)), shirt_pixels)
    garment = learner.layout().garment("shirts")
    assert garment is not None and garment.photos == 8
    box = person_box(worn()[1])
    assert box == (4, 116, 12, 48)
    shirt_cells, trouser_cells = garment.prior[6:16].mean(), garment.prior[19:].mean()  # 3.5 px a cell
    assert shirt_cells > 0.7 and trouser_cells < 0.3


def test_a_category_seen_worn_in_too_few_photos_has_no_layout():
    learner = LayoutLearner()
    image, mask = worn()
    learner.add("Ties", mask, mask.alpha > 0.5)
    assert learner.layout().garment("Ties") is None


def test_a_layout_survives_its_json_file(tmp_path):
    layout = GarmentLayout({"Tshirts": shirt("Tshirts")})
    layout.save(tmp_path / "layout.json")
    back = GarmentLayout.load(tmp_path / "layout.json")
    assert np.allclose(back.garment("T-shirts").prior, shirt().prior, atol=1e-3)
    with pytest.raises(ValueError, match="grid"):
        GarmentLayout.from_dict({"grid": [8, 6], "categories": {}})


def test_a_shirt_over_trousers_of_a_near_colour_in_one_piece_is_split_by_their_colours():
    image, mask = worn(belt=False, bottom=(95, 112, 140))  # faded blue: one colour part with the grey
    from ml.exact_colour import layers

    assert len(layers(image, mask).parts) == 1  # the colour parts alone cannot tell them apart
    out, figures = recolour_to(image, mask, (30, 140, 60), garment=shirt())
    assert changed(image, out, TOP) > 0.9
    assert changed(image, out, BOTTOM) < 0.02
    assert figures["garment_problems"] == []


def test_a_t_shirt_alone_reaching_where_trousers_usually_are_changes_whole_and_unflagged():
    image, mask = worn(belt=False)
    alpha = mask.alpha.copy()
    arr = np.asarray(image).copy()
    arr[LEGS_APART, 28:32] = np.asarray(image)[70, 28:32]  # no legs: one long shirt down to the frame
    alpha[LEGS_APART, 28:32] = 1
    shirt_only = Image.fromarray(arr)
    out, figures = recolour_to(shirt_only, ProductMask(alpha, mask.person), (30, 140, 60), garment=shirt())
    assert changed(shirt_only, out, slice(24, 116)) > 0.9
    assert figures["garment_problems"] == []
