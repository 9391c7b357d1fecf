"""The full-resolution refinement: it learns to put a blurred, shifted coarse mask's edge on the photo's edge."""
import numpy as np
import torch

from ml.mask_refine import RefineNet, RefineTrainer, inputs, refine_alpha


def _scene(rng, size=48):
    """A product (a bright rectangle with a random colour) on a random flat backdrop; its coarse mask is the
    truth shifted by a few pixels and blurred, as an upsampled 96x72 prediction is."""
    y0, x0 = rng.integers(6, 16, 2)
    y1, x1 = y0 + rng.integers(16, 26), x0 + rng.integers(16, 26)
    truth = np.zeros((size, size), np.float32)
    truth[y0:y1, x0:x1] = 1
    rgb = np.ones((size, size, 3)) * rng.uniform(0, 255, 3)
    rgb[truth > 0] = rng.uniform(0, 255, 3)
    shifted = np.roll(truth, tuple(rng.integers(-3, 4, 2)), axis=(0, 1))
    k = np.ones(5) / 5
    coarse = np.apply_along_axis(np.convolve, 0, np.apply_along_axis(np.convolve, 1, shifted, k, "same"), k, "same")
    return rgb, coarse.astype(np.float32), truth


def _iou(a, b):
    return float(((a > 0.5) & (b > 0.5)).sum() / ((a > 0.5) | (b > 0.5)).sum())


def test_inputs_carry_the_photo_the_coarse_mask_and_whether_a_backdrop_estimate_exists():
    rgb, coarse, truth = _scene(np.random.default_rng(0))
    without = inputs(rgb, coarse, None)
    with_ = inputs(rgb, coarse, truth)
    assert without.shape == (1, 6, 48, 48)
    assert without[0, 5].max() == 0 and with_[0, 5].min() == 1
    assert torch.equal(with_[0, 4], torch.from_numpy(truth)) and without[0, 4].abs().max() == 0
    assert without[0, :3].min() >= -1 and without[0, :3].max() <= 1


def test_training_moves_a_shifted_blurred_mask_onto_the_products_edge():
    rng = np.random.default_rng(1)
    scenes = [_scene(rng) for _ in range(64)]
    x = torch.cat([inputs(rgb, coarse, None) for rgb, coarse, _ in scenes]).half()
    truth = torch.from_numpy(np.stack([t for _, _, t in scenes]))[:, None]
    trainer = RefineTrainer(x, truth, torch.ones_like(truth), width=16, crop=48, batch_size=16, lr=5e-3)
    net = trainer.train(150)
    assert np.mean(trainer.history[-20:]) < 0.5 * np.mean(trainer.history[:20])
    held_out = [_scene(rng) for _ in range(10)]
    coarse_iou = np.mean([_iou(c, t) for _, c, t in held_out])
    refined_iou = np.mean([_iou(refine_alpha(net, rgb, c, None), t) for rgb, c, t in held_out])
    assert refined_iou > coarse_iou + 0.05


def test_any_photo_size_goes_through():
    net = RefineNet(width=8).eval()
    rgb = np.zeros((37, 23, 3), np.uint8)
    alpha = refine_alpha(net, rgb, np.zeros((37, 23), np.float32), None)
    assert alpha.shape == (37, 23) and 0 <= alpha.min() <= alpha.max() <= 1
