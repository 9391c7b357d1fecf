"""Where does a GAN training step's CPU time go? Steps/s, images/s and a per-part breakdown, one thread.

    .venv/bin/python bench/profile_gan_step.py                       # 64x48 colour and 32x32 grayscale
    .venv/bin/python bench/profile_gan_step.py --auto --json out.json  # with ml.gan_auto's configuration

Random images (timing does not depend on content). Parts are timed with forward hooks on G, D and E and a
wrapper around the augmentation, in process CPU time; "backward + optimiser + rest" is the step's remainder
(autograd's backward passes, Adam, EMA, batching). A short warm-up is excluded.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml import gan_train  # noqa: E402
from ml.gan import GANConfig  # noqa: E402
from ml.gan_train import GANTrainer  # noqa: E402
from ml.vocab import AttributeVocab  # noqa: E402

SETTINGS = {  # name: (height, width, channels, attributes {name: values})
    "64x48_colour": (64, 48, 3, {"category": 8, "colour": 8}),
    "32x32_gray": (32, 32, 1, {"category": 8}),
}


def make_data(h: int, w: int, c: int, attrs: dict[str, int], n: int = 512, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = {a: [f"{a}{i % k}" for i in range(n)] for a, k in attrs.items()}
    vocab = AttributeVocab.build(labels)
    images = rng.integers(0, 256, (n, h, w, c), dtype=np.uint8)
    return images, np.array(vocab.encode_many(labels)), vocab


class PartTimer:
    """CPU seconds spent in the forward passes of named modules and in named functions."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._start: dict[str, list[float]] = {}

    def module(self, name: str, module: torch.nn.Module) -> None:
        module.register_forward_pre_hook(lambda *_: self._start.setdefault(name, []).append(time.process_time()))
        module.register_forward_hook(lambda *_: self._stop(name))

    def function(self, name: str, fn):
        def wrapped(*args, **kwargs):
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.process_time() - start
        return wrapped

    def _stop(self, name: str) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.process_time() - self._start[name].pop()

    def reset(self) -> None:
        self.seconds = {}


def profile(name: str, steps: int, auto: bool, overrides: dict) -> dict:
    h, w, c, attrs = SETTINGS[name]
    images, attr_idx, vocab = make_data(h, w, c, attrs)
    if auto:
        from ml.gan_auto import auto_config

        plan = auto_config(n_images=10_000, height=h, width=w, channels=c, attr_sizes=vocab.sizes())
        config, train = GANConfig(**plan.model), {**plan.train, **overrides}
    else:
        config, train = GANConfig(height=h, width=w, channels=c, attr_sizes=vocab.sizes()), dict(overrides)
    trainer = GANTrainer(config, images, attr_idx, vocab, seed=0, **train)
    timer = PartTimer()
    timer.module("G", trainer.G)
    timer.module("D", trainer.D.blocks)  # the trainer calls D.features / D.score, not D.forward
    timer.module("E", trainer.E)
    gan_train.diff_augment = timer.function("augment", gan_train.diff_augment)
    trainer.train(steps=5)  # warm-up
    timer.reset()
    start = time.process_time()
    trainer.train(steps=steps)
    total = time.process_time() - start
    batch = trainer.train_config.batch_size
    parts = {k: round(1000 * v / steps, 2) for k, v in sorted(timer.seconds.items())}
    parts["backward + optimiser + rest"] = round(1000 * total / steps - sum(parts.values()), 2)
    return {"setting": name, "batch": batch, "steps": steps, "cpu_ms_per_step": round(1000 * total / steps, 2),
            "steps_per_cpu_s": round(steps / total, 2), "images_per_cpu_s": round(steps * batch / total, 1),
            "forward_ms_per_step": parts, "model": {k: getattr(config, k) for k in
                                                    ("blocks", "g_width", "d_width", "e_width", "z_dim")},
            "train": {k: getattr(trainer.train_config, k) for k in ("batch_size",) + tuple(overrides)}}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--auto", action="store_true", help="use ml.gan_auto.auto_config's model and training config")
    p.add_argument("--train-config", type=json.loads, default={}, help="TrainConfig overrides, JSON")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    results = [profile(s, args.steps, args.auto, args.train_config) for s in args.settings.split(",")]
    for r in results:
        print(json.dumps(r), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
