import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ml.checkpoint import CheckpointError
from ml.sr import SRConfig, SRNet
from ml.sr_train import SRTrainer
from ml.upscale import Upscaler, evaluate

TINY = SRConfig(channels=8, blocks=1, patch=16, batch_size=4, lr=3e-3, tile=8, tile_pad=6)


def catalogue(n=3, size=(32, 24), seed=0) -> list[np.ndarray]:
    """Small photos with edges and texture: stripes at random angles over a gradient."""
    rng = np.random.default_rng(seed)
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for _ in range(n):
        angle, period = rng.uniform(0, np.pi), rng.uniform(3, 7)
        stripes = np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / period) > 0
        colour = rng.uniform(40, 220, 3)
        arr = np.where(stripes[..., None], colour, 255 - colour) * (0.7 + 0.3 * x[..., None] / w)
        out.append(np.clip(arr, 0, 255).astype(np.uint8))
    return out


def test_shapes_and_untrained_net_is_bicubic():
    net = SRNet(TINY)
    x = torch.rand(2, 3, 10, 7) * 2 - 1
    y = net(x)
    assert y.shape == (2, 3, 20, 14)
    assert torch.allclose(y, F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False))


def test_loss_falls_when_overfitting_one_image():
    trainer = SRTrainer(catalogue(1), TINY, seed=0, device="cpu")
    losses = trainer.train(steps=100)
    assert np.mean(losses[-15:]) < 0.8 * np.mean(losses[:15])


def test_train_with_callback_and_time_budget():
    seen = []
    trainer = SRTrainer(catalogue(2), TINY, device="cpu")
    losses = trainer.train(steps=5, minutes=1.0, callback=lambda step, loss: seen.append(step))
    assert len(losses) == 5 and seen == [1, 2, 3, 4, 5]


def test_a_cpu_budget_stops_training():
    trainer = SRTrainer(catalogue(2), TINY, device="cpu")
    losses = trainer.train(cpu_minutes=0.005)  # 0.3 s of this process's CPU time
    assert len(losses) == trainer.step_count > 0
    with pytest.raises(ValueError):
        trainer.train()  # no budget at all


def test_same_seed_same_training():
    a = SRTrainer(catalogue(2), TINY, seed=3, device="cpu").train(steps=4)
    b = SRTrainer(catalogue(2), TINY, seed=3, device="cpu").train(steps=4)
    assert a == b


def test_export_round_trip_gives_identical_output(tmp_path):
    trainer = SRTrainer(catalogue(2), TINY, device="cpu")
    trainer.train(steps=20)
    sha = trainer.export(tmp_path / "sr.safetensors", metrics={"gain_db": 0.1})
    loaded = Upscaler.from_checkpoint(tmp_path / "sr.safetensors", expected_sha256=sha)
    image = Image.fromarray(catalogue(1, seed=9)[0])
    assert np.array_equal(np.asarray(loaded(image)), np.asarray(trainer.upscaler()(image)))
    assert loaded.metrics == {"gain_db": 0.1}


def test_resume_restores_training_state(tmp_path):
    trainer = SRTrainer(catalogue(2), TINY, device="cpu")
    trainer.train(steps=10)
    trainer.save(tmp_path / "run.safetensors")
    resumed = SRTrainer.from_checkpoint(tmp_path / "run.safetensors", catalogue(2), device="cpu")
    assert resumed.step_count == 10
    for a, b in zip(trainer.ema.state_dict().values(), resumed.ema.state_dict().values()):
        assert torch.equal(a, b)
    assert resumed.opt.state_dict()["state"][0]["exp_avg"].abs().sum() > 0
    assert np.isfinite(resumed.train(steps=2)).all()


def test_tiled_upscale_equals_one_pass():
    trainer = SRTrainer(catalogue(2), TINY, device="cpu")
    trainer.train(steps=10)
    up = trainer.upscaler()
    x = torch.rand(3, 19, 23) * 2 - 1  # several 8-pixel tiles, ragged at the edges
    with torch.no_grad():
        whole = up.model(x[None])[0]
    assert torch.allclose(up.upscale_tensor(x), whole, atol=1e-5)
    assert up(Image.new("RGB", (23, 19))).size == (46, 38)


def test_evaluate_reports_model_and_bicubic():
    trainer = SRTrainer(catalogue(2), TINY, device="cpu")
    result = evaluate(trainer.upscaler(), [Image.fromarray(a) for a in catalogue(2, seed=5)])
    assert {"psnr_model", "psnr_bicubic", "gain_db", "beats_bicubic"} <= set(result)
    assert 10 < result["psnr_bicubic"] < 60 and result["images"] == 2


def test_wrong_kind_of_checkpoint_is_refused(tmp_path):
    from ml import checkpoint

    checkpoint.save(tmp_path / "x.safetensors", {"w": torch.zeros(1)}, {"kind": "gan"})
    with pytest.raises(CheckpointError):
        Upscaler.from_checkpoint(tmp_path / "x.safetensors")


def test_enhance_uses_the_upscaler_for_small_photos():
    from ml.enhance import EnhanceConfig, enhance

    up = SRTrainer(catalogue(2), TINY, device="cpu").upscaler()
    photo = Image.fromarray(catalogue(1, seed=2)[0])  # 24x32
    result = enhance(photo, EnhanceConfig(target_size=(60, 80), rendition_sizes=()), upscaler=up)
    assert result.image.size == (60, 80) and result.details["upscale"] == "model"
