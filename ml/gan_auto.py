"""Choose the conditional GAN's configuration from the catalogue, so an operator need not pick widths or rates.

    plan = auto_config(n_images=6000, height=28, width=28, channels=1, attr_sizes=vocab.sizes())
    GANConfig(**plan.model), TrainConfig(**plan.train); print("\\n".join(plan.lines()))

Inputs are what the catalogue says about itself: how many images, their size and channels, and the size of each
attribute's vocabulary (`AttributeVocab.sizes()`, `<unk>` included). Every choice comes with its reason, which
`prodimg_train gan` prints and stores on the ModelVersion. The rules are anchored on the configuration measured
on the real catalogue (64x48 colour, ~10k images: `GANConfig` / `TrainConfig` defaults, docs/benchmarks.md)
and scale it by the cost per image, which grows with the pixel count times the width squared.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

REFERENCE_PIXELS = 64 * 48  # the measured configuration's size
REFERENCE_G_WIDTH, REFERENCE_D_WIDTH = 24, 16
MIN_START_SIDE = 3  # G's first feature map: 3 pixels on the short side (4x3 at 64x48), enough for a layout
MAX_BLOCKS = 5
# Below this many images per attribute value, blend the condition in (Shahbazi et al. 2022): at CPU-minute budgets
# blending cost accuracy (docs/benchmarks.md), so it is kept for really small classes, and short.
FEW_IMAGES_PER_VALUE = 100
BLEND_SHARE = 0.1


@dataclass
class AutoPlan:
    """`GANConfig` and `TrainConfig` keyword arguments, and why each was chosen."""

    model: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        values = {**self.model, **self.train}
        return [f"{k} = {values[k]}: {why}" for k, why in self.reasons.items()]

    def apply(self, model: dict | None = None, train: dict | None = None) -> "AutoPlan":
        """This plan with the operator's own values on top; their reasons say so."""
        model, train = model or {}, train or {}
        reasons = {k: ("given by the operator" if k in model or k in train else why) for k, why in self.reasons.items()}
        reasons.update({k: "given by the operator" for k in (*model, *train) if k not in reasons})
        return AutoPlan({**self.model, **model}, {**self.train, **train}, reasons)


def choose_blocks(height: int, width: int) -> int:
    """The most up/down blocks that leave G's first map at least MIN_START_SIDE on the short side (at most
    MAX_BLOCKS); sides that are not multiples of 2**blocks are padded inside the networks (GANConfig.inner)."""
    short = min(height, width)
    blocks = 1
    while blocks < MAX_BLOCKS and math.ceil(short / 2 ** (blocks + 1)) >= MIN_START_SIDE:
        blocks += 1
    return blocks


def _width(reference: int, scale: float) -> int:
    return max(8, int(round(reference * scale / 4)) * 4)


def auto_config(n_images: int, height: int, width: int, channels: int, attr_sizes: list[int]) -> AutoPlan:
    """Blocks, widths, batch size, learning rates and the conditioning schedule for this catalogue."""
    plan = AutoPlan(model={"height": height, "width": width, "channels": channels, "attr_sizes": list(attr_sizes)})
    blocks = choose_blocks(height, width)
    step = 2**blocks
    inner = (math.ceil(height / step) * step, math.ceil(width / step) * step)
    plan.model["blocks"] = blocks
    plan.reasons["blocks"] = (f"G starts at {inner[0] // step}x{inner[1] // step}"
                              + (f" and draws {inner[0]}x{inner[1]}, cropped to {height}x{width}"
                                 if inner != (height, width) else ""))
    pixels = height * width
    scale = min(1.0, math.sqrt(REFERENCE_PIXELS / pixels))  # cost ~ pixels x width^2: hold it at larger sizes
    plan.model["g_width"], plan.model["d_width"] = _width(REFERENCE_G_WIDTH, scale), _width(REFERENCE_D_WIDTH, scale)
    plan.model["e_width"] = plan.model["d_width"]
    plan.reasons["d_width"] = "scaled as g_width"
    plan.reasons["g_width"] = (
        f"{pixels} pixels: the measured {REFERENCE_G_WIDTH}/{REFERENCE_D_WIDTH} at 64x48"
        + (" scaled by sqrt(64x48 / pixels) to hold the CPU cost per image" if scale < 1 else
           "; smaller images keep them and simply run more images per CPU-second"))
    values = max(max(attr_sizes) - 1, 1)  # the largest vocabulary, <unk> aside
    per_value = n_images / values
    plan.model["embed_dim"] = 32 if values <= 48 else 64
    plan.reasons["embed_dim"] = f"{values} values in the largest vocabulary"

    plan.train["batch_size"] = 32 if pixels * channels <= 1024 else 16
    plan.reasons["batch_size"] = ("tiny images: a step's fixed cost (Python, Adam, EMA) is a larger share, so a larger "
                                  "batch is cheaper per image" if plan.train["batch_size"] == 32 else
                                  "conv cost is linear in the batch on CPU: more, smaller steps per CPU-second")
    plan.train["lr"], plan.train["lr_d"] = 5e-4, 1e-3
    plan.reasons["lr"] = "G: high, since CPU-budget runs are a few thousand steps; D twice that (TTUR)"
    plan.train["kl_weight"] = 0.05
    plan.reasons["kl_weight"] = ("KL per latent dim, 5x the old 0.01: E's code must not carry what the condition "
                                 "already says, or G learns the class from z and ignores the label (32x32 gray, "
                                 "2 CPU-min: category 0.56 -> 0.78 of the evaluator)")
    plan.train["class_weight"] = 0.1
    plan.reasons["class_weight"] = ("cross-entropy on D's class term for real images and G's samples: a direct "
                                    "conditioning signal (32x32 gray, 2 CPU-min: 0.48 -> 0.56 of the evaluator)")
    blend = BLEND_SHARE if per_value < FEW_IMAGES_PER_VALUE else 0.0
    plan.train["cond_blend"] = blend
    plan.reasons["cond_blend"] = (
        f"{per_value:.0f} images per value (< {FEW_IMAGES_PER_VALUE}): the condition is blended in over the first "
        f"{blend:.0%} of the budget so classes do not collapse (Shahbazi et al. 2022)" if blend else
        f"{per_value:.0f} images per value: conditioned from the first step (blending in over 25% of a 2 CPU-min "
        "run on 125 per value halved the category accuracy)")
    return plan
