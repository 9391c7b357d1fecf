"""The cut-out chooser: which of the net's and the backdrop cleanup's foregrounds to use, and when to trust none."""
import numpy as np
import pytest
from PIL import Image

from ml.mask_choice import CANDIDATES, FEATURES, GOOD_IOU, Evidence, MaskChooser, deliver_level, fit_chooser
from ml.mask_labels import composite_backdrops, fabric, place_on
from ml.mask_train import MaskTrainer
from ml.masker import SOURCES, ProductMasker
from tests.ml.test_mask import TINY, catalogue, product_photo, true_mask


def _case(rng, cleanup_good: bool):
    """Evidence whose `agreement` feature says whether the cleanup is right (it is the truth) or wrong (it misses
    half the product), while the net is always a little wrong."""
    truth = np.zeros((20, 20), np.float32)
    truth[5:15, 5:15] = 1
    net = truth.copy()
    net[5:8, 5:15] = 0  # the net misses a band: IoU 0.7
    cleanup = truth.copy() if cleanup_good else np.zeros_like(truth)
    if not cleanup_good:
        cleanup[5:10, 5:15] = 1  # half the product: IoU 0.5
    candidates = {"net": net, "cleanup": cleanup}
    features = {}
    for name in candidates:
        f = rng.normal(0, 0.05, len(FEATURES))
        f[0] = 1.0
        f[FEATURES.index("agreement")] = (0.9 if cleanup_good else 0.3) + rng.normal(0, 0.02)
        features[name] = f
    return Evidence(candidates, features), truth


def test_the_chooser_learns_when_the_cleanup_is_right():
    rng = np.random.default_rng(0)
    cases = [_case(rng, good) for good in [True, False] * 30]
    chooser = fit_chooser(cases)
    good, _ = _case(rng, True)
    bad, _ = _case(rng, False)
    assert chooser.choose(good)[0] == "cleanup"
    assert chooser.choose(bad)[0] == "net"
    predicted = chooser.predict(bad)
    assert predicted["net"] == pytest.approx(0.7, abs=0.05) and predicted["cleanup"] == pytest.approx(0.5, abs=0.05)
    assert chooser.fitted_on["cases"] == 60 and chooser.fitted_on["chosen_iou"] > chooser.fitted_on["net_iou"]


def test_the_chooser_round_trips_and_refuses_another_feature_set():
    rng = np.random.default_rng(1)
    chooser = fit_chooser([_case(rng, good) for good in [True, False] * 15])
    again = MaskChooser.from_dict(chooser.to_dict())
    case, _ = _case(rng, True)
    assert again.predict(case) == chooser.predict(case)
    assert MaskChooser.from_dict({**chooser.to_dict(), "features": ["bias", "other"]}) is None
    assert MaskChooser.from_dict(None) is None


def test_too_few_cases_are_refused():
    rng = np.random.default_rng(2)
    with pytest.raises(ValueError, match="too few"):
        fit_chooser([_case(rng, True) for _ in range(5)])


def test_deliver_level_flags_enough_that_at_most_one_in_twenty_delivered_is_wrong():
    rng = np.random.default_rng(3)
    true = rng.uniform(0.6, 1.0, 400)
    predicted = np.clip(true + rng.normal(0, 0.05, 400), 0, 1)
    level = deliver_level(predicted, true)
    delivered = predicted >= level
    assert level >= GOOD_IOU
    assert (true[delivered] < GOOD_IOU).mean() <= 0.05
    assert deliver_level(predicted, true) < deliver_level(predicted, np.clip(true - 0.05, 0, 1))  # worse: stricter


def test_composites_keep_the_photo_and_carry_the_truth():
    photo = np.asarray(product_photo(size=(96, 128)))
    fg = true_mask()
    rng = np.random.default_rng(0)
    backdrops = composite_backdrops(128, 96, rng, photo, fg)
    assert backdrops["own white"] is None and place_on(photo, fg, None) is photo
    assert {"grey sweep", "wood", "tiles", "blurred scene", "fabric"} <= set(backdrops)
    for name, backdrop in backdrops.items():
        case = place_on(photo, fg, backdrop)
        assert case.shape == photo.shape and case.dtype == np.uint8
        assert np.array_equal(case[fg > 0.99], photo[fg > 0.99])  # the product itself is untouched
    tiny = np.zeros_like(fg)
    tiny[60:64, 40:44] = 1
    assert fabric(128, 96, photo, tiny, rng) is None  # nothing to cut a texture from


@pytest.fixture(scope="module")
def chosen(tmp_path_factory):
    images, colours, cats = catalogue()
    trainer = MaskTrainer(TINY, images, colours, cats, seed=0)
    trainer.train(steps=40)
    path = tmp_path_factory.mktemp("mask") / "mask.safetensors"
    trainer.export(path)
    return ProductMasker.from_checkpoint(path)


def test_an_export_carries_a_chooser_fitted_for_its_net(chosen):
    assert chosen.chooser is not None
    assert chosen.chooser.fitted_on["cases"] >= 20 * 6  # every photo on its own and on six other backdrops
    studio = chosen.evidence(product_photo(size=(96, 128)))
    assert set(chosen.chooser.predict(studio)) == set(CANDIDATES)  # a white backdrop: all three candidates
    assert chosen.refiner is not None


def _iou(a, b):
    return float(((a > 0.5) & (b > 0.5)).sum() / ((a > 0.5) | (b > 0.5)).sum())


@pytest.mark.parametrize("paper", [(236, 190, 200), (185, 210, 235), (70, 72, 75)])  # pink, light blue, dark grey
def test_the_backdrop_estimate_is_a_candidate_on_paper_of_any_colour(chosen, paper):
    photo = product_photo(colour=(30, 160, 60), size=(96, 128), backdrop=paper)
    evidence = chosen.evidence(photo)
    assert _iou(evidence.candidates["cleanup"], true_mask()) > 0.95  # before, only light grey or white sweeps


def test_the_masker_delivers_the_candidate_the_chooser_predicts_best(chosen):
    photo = product_photo(colour=(30, 40, 200), size=(96, 128), backdrop=(236, 190, 200))
    name, predicted = chosen.chooser.choose(chosen.evidence(photo))
    mask = chosen.mask(photo)
    assert mask.source == SOURCES[name] and mask.predicted_iou == pytest.approx(predicted)
    assert _iou(mask.foreground, chosen.evidence(photo).candidates[name]) > 0.99


def test_a_photo_neither_can_cut_is_reported_not_delivered_as_fine(chosen):
    rng = np.random.default_rng(5)
    noise = Image.fromarray(rng.integers(0, 255, (128, 96, 3), dtype=np.uint8))
    mask = chosen.mask(noise)
    assert mask.problems  # whatever the candidates, a texture with no product is never a fine cut-out


def test_a_tiny_catalogue_keeps_the_fixed_rule_and_says_why(tmp_path):
    images, colours, cats = catalogue(n=2)
    trainer = MaskTrainer(TINY, images, colours, cats, seed=0)
    trainer.train(steps=2)
    path = tmp_path / "mask.safetensors"
    trainer.export(path)
    masker = ProductMasker.from_checkpoint(path)
    assert masker.chooser is None and "too few" in trainer.chooser_note
    assert masker.mask(product_photo(size=(48, 64))).source in ("model", "cleanup")
