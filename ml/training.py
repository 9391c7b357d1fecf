"""What every trainer shares: the budget loop, the EMA update, optimiser state and configs in checkpoints, loss
curves.

    run_steps(trainer.step, steps=None, minutes=None, cpu_minutes=5)   # until 5 minutes of this process's CPU
    tensors, groups = optim_tensors("opt", opt)     # safetensors-able state + JSON param groups (no pickle)
    load_optim(opt, "opt", tensors, groups)
    TrainConfig(**known_fields(TrainConfig, meta["train"]))   # a config stored before an option was removed
    plot_losses(history, "losses.png")
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import fields

import numpy as np
import torch
from PIL import Image, ImageDraw


def run_steps(step: Callable[[], dict], steps: int | None, minutes: float | None,
              callback: Callable[[int, dict], bool | None] | None = None, cpu_minutes: float | None = None) -> int:
    """Call step() until `steps` calls, `minutes` of wall time or `cpu_minutes` of process CPU time (whichever
    comes first), or until callback(losses["step"], losses) returns True. Returns the number of steps run."""
    if steps is None and minutes is None and cpu_minutes is None:
        raise ValueError("give steps, minutes or cpu_minutes")
    wall, cpu, done = time.monotonic(), time.process_time(), 0
    while ((steps is None or done < steps) and (minutes is None or time.monotonic() - wall < minutes * 60)
           and (cpu_minutes is None or time.process_time() - cpu < cpu_minutes * 60)):
        losses = step()
        done += 1
        if callback is not None and callback(losses["step"], losses):
            break
    return done


def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, for parameters; buffers are copied."""
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm, 1.0 - decay)
        for be, bm in zip(ema.buffers(), model.buffers()):
            be.copy_(bm)


def known_fields(config_class, values: dict) -> dict:
    """The entries of a stored config (a checkpoint's JSON) that are fields of the dataclass `config_class` today,
    so a file written before an option was removed still rebuilds its config."""
    names = {f.name for f in fields(config_class)}
    return {k: v for k, v in values.items() if k in names}


# --- optimiser state in checkpoints -------------------------------------------------------------------------

def optim_tensors(prefix: str, opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list]:
    """Flatten an optimiser's state into tensors `prefix.<param id>.<name>` (safetensors) and return its param
    groups for the JSON meta."""
    sd = opt.state_dict()
    tensors = {f"{prefix}.{pid}.{k}": torch.as_tensor(v) for pid, st in sd["state"].items() for k, v in st.items()}
    return tensors, sd["param_groups"]


def load_optim(opt: torch.optim.Optimizer, prefix: str, tensors: dict, groups: list) -> None:
    """Load what `optim_tensors` wrote (the `prefix.` tensors and the param groups) into `opt`."""
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            pid, name = key[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(pid), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": groups})


# --- loss curves ----------------------------------------------------------------------------------------

PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75)]


def _smooth(values: np.ndarray, n: int) -> np.ndarray:
    if len(values) < 3:
        return values
    n = max(1, min(n, len(values) // 3))
    return np.convolve(np.pad(values, (n - 1, 0), mode="edge"), np.ones(n) / n, mode="valid")


def plot_losses(history: list[dict[str, float]], path, size: tuple[int, int] = (640, 360)) -> None:
    """Draw every loss in `history` (moving average) against the step, as a PNG, with Pillow."""
    keys = [k for k in (history[0] if history else {}) if k != "step"]
    w, h, pad = size[0], size[1], 40
    img = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(img)
    if not keys:
        img.save(path)
        return
    curves = {k: _smooth(np.array([e[k] for e in history], dtype=np.float64), 25) for k in keys}
    lo = min(c.min() for c in curves.values())
    hi = max(max(c.max() for c in curves.values()), lo + 1e-6)
    draw.rectangle([pad, 10, w - 10, h - pad], outline=(0, 0, 0))
    for value, y in ((hi, 10), (lo, h - pad)):
        draw.text((2, y - 5), f"{value:.2f}", fill=(0, 0, 0))
    draw.text((pad, h - pad + 6), "step 1", fill=(0, 0, 0))
    draw.text((w - 80, h - pad + 6), f"step {len(history)}", fill=(0, 0, 0))
    for i, (key, curve) in enumerate(curves.items()):
        xs = pad + np.linspace(0, 1, len(curve)) * (w - 10 - pad)
        ys = h - pad - (curve - lo) / (hi - lo) * (h - pad - 10)
        colour = PALETTE[i % len(PALETTE)]
        if len(curve) > 1:
            draw.line(list(zip(xs.tolist(), ys.tolist())), fill=colour, width=2)
        draw.text((pad + 8 + 70 * i, h - 18), key, fill=colour)
    img.save(path)
