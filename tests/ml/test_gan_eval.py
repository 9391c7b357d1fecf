"""ml.gan_eval: the figures move the right way for samplers whose quality we know."""
import numpy as np
import pytest
import torch

from ml import evaluator_train, gan_eval
from ml.images import uint8_batch_to_tensor

from tests.ml.shapes import squares_and_bars


@pytest.fixture(scope="module")
def data():
    """240 16x12 images: a square or a bar in one of three colours, with pixel noise; 200 train, 40 test."""
    x, idx, vocab = squares_and_bars()
    judge = evaluator_train.train_classifier(x[:200], idx[:200], vocab, epochs=5, seed=0)
    return x, idx, vocab, judge


def real_sampler(x, idx):
    """A perfect generator: a real training image of the asked-for condition."""
    def sample(rows, gen):
        picks = []
        for row in rows.numpy():
            same = np.flatnonzero((idx == row).all(axis=1))
            picks.append(x[same[int(torch.randint(len(same), (1,), generator=gen))]])
        return uint8_batch_to_tensor(np.stack(picks))
    return sample


def test_frechet_distance_is_zero_for_one_set_and_grows_with_a_mean_shift():
    a = np.random.default_rng(0).normal(size=(500, 4))
    assert gan_eval.frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    shifted = gan_eval.frechet_distance(a, a + np.array([3.0, 0, 0, 0]))
    assert shifted == pytest.approx(9.0, rel=1e-6)  # same covariance: exactly ||d||^2
    wider = gan_eval.frechet_distance(a, 2 * a)
    assert wider > 0.5  # same mean, different spread


def test_a_perfect_generator_matches_the_real_ceiling_and_the_floor(data):
    x, idx, _, judge = data
    report = gan_eval.evaluate(real_sampler(x[:200], idx[:200]), judge, x[:200], idx[:200], x[200:], idx[200:], n=40)
    for row in report["accuracy"].values():
        assert row["generated"] == pytest.approx(row["real"], abs=0.1) and row["real"] > 0.9
    assert report["fid"] < 3 * report["fid_floor"] + 0.05
    assert report["diversity"]["generated"] == pytest.approx(report["diversity"]["real"], rel=0.5)


def test_a_collapsed_generator_scores_badly_on_every_figure(data):
    x, idx, _, judge = data
    blank = lambda rows, gen: torch.ones(len(rows), 3, 16, 12)  # noqa: E731  (a white page, whatever is asked)
    report = gan_eval.evaluate(blank, judge, x[:200], idx[:200], x[200:], idx[200:], n=40)
    assert report["accuracy"]["colour"]["generated"] < 0.6 * report["accuracy"]["colour"]["real"]
    assert report["fid_ratio_to_floor"] > 10
    assert report["diversity"]["generated"] == 0


def test_grids_have_a_row_per_colour_and_a_column_per_sample(data):
    x, idx, vocab, _ = data
    sheets = gan_eval.category_grids(real_sampler(x[:200], idx[:200]), vocab, "category", "colour", {}, columns=4)
    assert set(sheets) == {"bar", "square"}
    w, h = sheets["bar"].size
    assert (w - 72) == 4 * 48 and (h - 14) == 3 * 64
