"""The product-mask net, its pseudo-labels, the colour palette, recolouring inside the mask and cut-outs."""
import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml.colour import delta_e2000, delta_e_rgb, oklab_to_srgb, srgb_to_oklab
from ml.cutout import cutout, parse_background
from ml.mask import MaskConfig
from ml.mask_labels import pseudo_label
from ml.mask_train import MaskTrainer
from ml.masker import ProductMask, ProductMasker
from ml.palette import Appearance, ColourPalette
from ml.recolour import diagnose, recolour, recolour_with
from ml.vocab import UnknownAttributeValue, spelling_key

TINY = MaskConfig(height=32, width=24, widths=[8, 16])


def product_photo(colour=(200, 30, 30), size=(96, 128), backdrop=(255, 255, 255), stripe=True) -> Image.Image:
    """A packshot: a coloured 'shirt' (rectangle with a white stripe) on a plain backdrop."""
    im = Image.new("RGB", size, backdrop)
    d = ImageDraw.Draw(im)
    w, h = size
    d.rectangle([w // 4, h // 4, 3 * w // 4, 3 * h // 4], fill=colour)
    if stripe:
        d.rectangle([w // 4, h // 2 - 3, 3 * w // 4, h // 2 + 3], fill=(250, 250, 250))
    return im


def true_mask(size=(96, 128)) -> np.ndarray:
    w, h = size
    m = np.zeros((h, w), np.float32)
    m[h // 4: 3 * h // 4 + 1, w // 4: 3 * w // 4 + 1] = 1
    return m


def catalogue(n=24, seed=0):
    rng = np.random.default_rng(seed)
    colours = ["Red", "Blue", "Green"]
    rgb = {"Red": (200, 30, 30), "Blue": (30, 40, 200), "Green": (30, 160, 60)}
    names = [colours[i % 3] for i in range(n)]
    images = np.stack([np.asarray(product_photo(tuple(int(c + rng.integers(-15, 15)) for c in rgb[c]), (48, 64)))
                       for c in names])
    return images, names, ["Shirts"] * n


@pytest.fixture(scope="module")
def trained():
    images, colours, cats = catalogue()
    trainer = MaskTrainer(TINY, images, colours, cats, seed=0)
    trainer.train(steps=40)
    return trainer


# ---- colour science -------------------------------------------------------------------------------------------

def test_ciede2000_matches_the_published_test_pairs():
    pairs = [((50, 2.6772, -79.7751), (50, 0, -82.7485), 2.0425),
             ((50, -1.3802, -84.2814), (50, 0, -82.7485), 1.0000),
             ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
             ((50, 2.5, 0), (73, 25, -18), 27.1492)]
    for a, b, expected in pairs:
        assert delta_e2000(np.array(a), np.array(b)) == pytest.approx(expected, abs=1e-4)


def test_oklab_round_trips_and_white_is_lightness_one():
    x = np.random.default_rng(0).random((500, 3))
    assert np.abs(oklab_to_srgb(srgb_to_oklab(x)) - x).max() < 1e-9
    assert srgb_to_oklab(np.ones(3))[0] == pytest.approx(1.0, abs=1e-6)


# ---- pseudo-labels and training -------------------------------------------------------------------------------

def test_pseudo_label_separates_product_from_white_backdrop():
    target, weight = pseudo_label(np.asarray(product_photo()))
    product = target[..., 1] > 0.5
    assert ((product == (true_mask() > 0.5)).mean()) > 0.97
    assert weight.min() >= 0


def test_pseudo_label_refuses_a_photo_without_studio_backdrop():
    noise = np.random.default_rng(0).integers(0, 255, (128, 96, 3), dtype=np.uint8)
    assert pseudo_label(noise) is None


def test_pseudo_label_marks_the_face_of_a_standing_model_as_person():
    im = Image.new("RGB", (96, 160), "white")
    d = ImageDraw.Draw(im)
    d.ellipse([36, 8, 60, 36], fill=(224, 172, 140))  # a face
    d.rectangle([24, 38, 72, 150], fill=(30, 40, 200))  # a blue garment, much taller than wide overall
    target, _ = pseudo_label(np.asarray(im), "Blue")
    assert target[20, 48, 2] > 0.5  # the face is person
    assert target[100, 48, 1] > 0.5  # the garment is product
    _, weight = pseudo_label(np.asarray(im), "Brown")  # a skin-like product colour: skin is not taught
    assert weight[20, 48] == 0


def test_training_loss_falls_and_export_round_trips(trained, tmp_path):
    first = np.mean([h["loss"] for h in trained.history[:5]])
    last = np.mean([h["loss"] for h in trained.history[-5:]])
    assert last < first
    path = tmp_path / "mask.safetensors"
    sha = trained.export(path)
    masker = ProductMasker.from_checkpoint(path, expected_sha256=sha)
    photo = product_photo(size=(48, 64))
    trained.net.eval()
    assert np.allclose(masker.probabilities(photo), ProductMasker(trained.net, trained.palette).probabilities(photo),
                       atol=1e-5)
    assert masker.palette.knows("red") and masker.palette.lookup("Red").a > 0.1  # red: positive OKLab a


def test_training_resumes_from_a_checkpoint(trained, tmp_path):
    path = tmp_path / "train.safetensors"
    trained.save(path)
    images, colours, cats = catalogue()
    again = MaskTrainer(TINY, images, colours, cats, seed=1)
    again.load(path)
    assert again.step_count == trained.step_count
    again.train(steps=2)
    assert again.step_count == trained.step_count + 2


# ---- the masker's per-image answers -----------------------------------------------------------------------------

def test_mask_on_a_studio_photo_follows_the_product(trained):
    mask = ProductMasker(trained.net, trained.palette).mask(product_photo())
    assert ((mask.alpha + mask.person > 0.5) == (true_mask() > 0.5)).mean() > 0.97
    assert mask.problems == []


def test_the_same_photo_is_masked_once_and_another_photo_anew(trained, monkeypatch):
    masker = ProductMasker(trained.net, trained.palette)
    calls = []
    real = masker.probabilities
    monkeypatch.setattr(masker, "probabilities", lambda image: calls.append(image.size) or real(image))
    photo = product_photo()
    first = masker.mask(photo)
    assert masker.mask(photo.copy()) is first and len(calls) == 1  # same pixels: remembered
    shifted = Image.fromarray(np.roll(np.asarray(photo), 5, axis=1))
    assert masker.mask(shifted) is not first and len(calls) == 2  # different pixels: masked again


def test_transparency_in_the_source_is_its_own_mask(trained):
    rgba = product_photo().convert("RGBA")
    alpha = (true_mask() * 255).astype(np.uint8)
    rgba.putalpha(Image.fromarray(alpha))
    mask = ProductMasker(trained.net, trained.palette).mask(rgba)
    assert mask.source == "transparency"
    assert np.array_equal(mask.alpha > 0.5, alpha > 127)


@pytest.mark.parametrize("image, words", [
    (Image.new("RGB", (16, 20), "red"), "too small"),
    (Image.new("RGB", (96, 128), (120, 90, 60)), "fills"),  # a flat texture: all or nothing, never "fine"
])
def test_bad_photos_get_a_readable_problem(trained, image, words):
    mask = ProductMasker(trained.net, trained.palette).mask(image)
    assert mask.problems and (words in mask.problems[0] or "no product" in mask.problems[0])


# ---- recolouring --------------------------------------------------------------------------------------------------

def _mask(alpha):
    return ProductMask(alpha, np.zeros_like(alpha))


def test_recolour_changes_the_main_colour_only_and_leaves_the_rest_bit_exact():
    photo = product_photo()
    blue = Appearance(*srgb_to_oklab(np.array([30, 40, 200]) / 255), 0.05)
    out, figures = recolour(photo, _mask(true_mask()), blue, Appearance(*srgb_to_oklab(np.array([.8, .1, .1]))))
    a, b = np.asarray(photo), np.asarray(out)
    assert np.array_equal(a[true_mask() == 0], b[true_mask() == 0])  # backdrop untouched
    assert np.array_equal(a[64, 48], b[64, 48])  # the white stripe keeps its colour
    assert delta_e_rgb(b[40, 48] / 255, np.array([30, 40, 200]) / 255) < 5  # the red became the target blue
    assert figures["main_share"] > 0.7


def test_recolour_goes_from_white_to_black_not_only_hue():
    photo = product_photo(colour=(245, 245, 245), backdrop=(200, 200, 200), stripe=False)
    black = Appearance(0.25, 0.0, 0.0, 0.05)
    out, _ = recolour(photo, _mask(true_mask()), black)
    assert srgb_to_oklab(np.asarray(out)[64, 48] / 255)[0] == pytest.approx(0.25, abs=0.03)


def test_every_part_of_a_two_part_product_in_the_main_colour_changes():
    im = Image.new("RGB", (96, 128), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([20, 20, 76, 50], fill=(200, 30, 30))  # top part
    d.rectangle([20, 51, 76, 70], fill=(40, 40, 40))  # a black band between
    d.rectangle([20, 71, 76, 108], fill=(190, 35, 35))  # bottom part, same red
    alpha = (np.asarray(im.convert("L")) < 250).astype(np.float32)
    green = Appearance(*srgb_to_oklab(np.array([30, 160, 60]) / 255), 0.05)
    out = np.asarray(recolour(im, _mask(alpha), green)[0])
    for y in (35, 90):
        assert out[y, 48, 1] > out[y, 48, 0]  # both red parts turned green
    assert np.array_equal(out[60, 48], [40, 40, 40])  # the band of another colour did not


def test_a_blue_label_picks_the_blue_strap_not_the_grey_case_nearer_in_lightness():
    def rgb(L, a, b):
        return tuple(int(v * 255 + 0.5) for v in np.clip(oklab_to_srgb(np.array([L, a, b])), 0, 1))

    strap_dark, strap, case = rgb(0.30, -0.01, -0.08), rgb(0.36, -0.01, -0.08), rgb(0.52, -0.02, -0.02)
    im = Image.new("RGB", (96, 128), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([38, 10, 58, 40], fill=strap_dark)  # the strap in shade
    d.rectangle([38, 88, 58, 118], fill=strap)  # the strap in light
    d.ellipse([24, 40, 72, 88], fill=case)  # case and dial: a bluish grey, nearer the label's lightness
    alpha = (np.asarray(im.convert("L")) < 250).astype(np.float32)
    blue = Appearance(0.58, -0.01, -0.07, 0.05)  # how the catalogue's blue watches look on average
    red = Appearance(*srgb_to_oklab(np.array([190, 30, 40]) / 255), 0.05)
    out = np.asarray(recolour(im, _mask(alpha), red, source=blue)[0]).astype(int)
    for y in (25, 100):
        assert out[y, 48, 0] > out[y, 48, 2] + 30  # both parts of the strap turned red
    assert np.abs(out[64, 48] - case).max() <= 4  # the grey case kept its colour


def test_diagnose_reports_change_outside_the_mask():
    photo = product_photo()
    tinted = Image.fromarray(np.clip(np.asarray(photo).astype(int) - [60, 0, 0], 0, 255).astype(np.uint8))
    figures = diagnose(photo, tinted, _mask(true_mask()))
    assert figures["delta_e_outside_p95"] > 10 and figures["mask_changed"] > 0.5
    assert diagnose(photo, photo, _mask(true_mask()))["delta_e_outside_p95"] == 0


def test_recolour_with_refuses_a_colour_the_catalogue_never_showed(trained):
    masker = ProductMasker(trained.net, trained.palette)
    with pytest.raises(UnknownAttributeValue, match="Red"):
        recolour_with(masker, product_photo(), "Chartreuse")
    out, _, mask = recolour_with(masker, product_photo(), "green", "shirts", "red")
    assert np.asarray(out)[40, 48, 1] > np.asarray(out)[40, 48, 0]


def test_palette_falls_back_to_all_categories_and_ignores_spelling():
    images, colours, _ = catalogue(12)
    targets = np.stack([pseudo_label(im)[0] for im in images])
    cats = ["Shirts"] * 6 + ["Bags"] * 6
    palette = ColourPalette.from_dict(ColourPalette.build(images, targets, colours, cats).to_dict())
    assert spelling_key("Navy-Blue") == spelling_key("navy blue")
    assert palette.lookup("RED", "Unknown category") is not None
    assert palette.lookup("Purple") is None


def test_a_category_with_few_products_is_pulled_towards_the_colours_overall_look():
    many, few = [0.40, 0.0, -0.05, 0.1, 300], [0.70, 0.0, 0.0, 0.1, 5]  # L, a, b, spread, products
    palette = ColourPalette({"navyblue": {"*": many, "kurtas": few, "shirts": [0.36, 0.0, -0.06, 0.1, 1000]}})
    kurtas, shirts = palette.lookup("Navy Blue", "Kurtas"), palette.lookup("Navy Blue", "Shirts")
    assert abs(kurtas.L - (0.40 + (0.70 - 0.40) * 5 / 15)) < 1e-6  # five products: a third of their own look
    assert abs(shirts.L - 0.36) < 0.002 and shirts.b < -0.059  # a thousand products: their own look
    assert palette.lookup("Navy Blue", "Socks").L == 0.40  # no products of the category: the overall look


# ---- cut-outs -------------------------------------------------------------------------------------------------------

def test_cutout_transparent_solid_and_shadow():
    photo, mask = product_photo(), _mask(true_mask())
    rgba = cutout(photo, mask, "transparent")
    assert rgba.mode == "RGBA"
    alpha = np.asarray(rgba)[..., 3]
    assert alpha[5, 5] == 0 and alpha[40, 48] == 255
    red = np.asarray(cutout(photo, mask, "#ff0000"))
    assert tuple(red[5, 5]) == (255, 0, 0) and tuple(red[40, 48]) == (200, 30, 30)
    shadow = np.asarray(cutout(photo, mask, "shadow"))
    assert shadow[5, 5].min() == 255 and shadow[100, 48].max() < 255  # white, darker just under the product


def test_unknown_background_is_a_readable_error():
    assert parse_background("white") == (255, 255, 255)
    with pytest.raises(ValueError, match="transparent, white, shadow"):
        parse_background("sparkly")
