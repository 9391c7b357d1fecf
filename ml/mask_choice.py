"""Which cut-out to trust for a photo, and when to trust none: a choice learned from composites, not a threshold.

A photo has up to three candidate foregrounds: the mask net's (`net`), the backdrop cleanup's (`cleanup`, from
`ml.backdrop`, on any near-uniform backdrop of any colour) and the full-resolution refinement's (`refined`,
`ml.mask_refine`), which reads the other two and the photo. (Their mean was a candidate too: at a 0.5 threshold
it scores well, but it leaves half an alpha wherever the two disagree, a halo a recolour tints.)

Which one is right depends on the photo: on a studio sweep the cleanup's pixel-exact edge wins, on wood, fabric or
a scene the net does, and on some photos neither is any good. `MaskChooser` predicts each candidate's IoU with the
truth from a few cheap measurements of the photo and the candidates (how much they agree, how uniform and noisy
the backdrop is, whether a candidate's outline follows the photo's edges, whether it runs off the frame...), by a
small network fitted on composites with known truth (`fit_chooser`: the shop's own studio photos put on other
backdrops, including real textures cut from other photos). The masker takes the candidate with the highest
predicted IoU, and reports a problem when even that one is predicted below `deliver_at`, a level also fitted on
the composites (the lowest one under which at most one wrong cut-out in twenty would pass unflagged).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .backdrop import LUMA, Backdrop, BackdropConfig, dilate, is_light
from .guided import box_mean, sharpen

CANDIDATES = ("net", "cleanup", "refined")
GOOD_IOU = 0.90  # a cut-out at least this close to the truth is a right one (issue 22's bar for off-studio photos)
FEATURES = ("bias", "has_cleanup", "light_studio", "agreement", "border_share", "noise", "backdrop_luma",
            "backdrop_chroma", "net_unsure", "backdrop_texture", "share", "edge_align", "frame_touch", "soft")


@dataclass
class Evidence:
    """The candidates of one photo at the working size (h, w), and the measurements the choice is made from."""

    candidates: dict[str, np.ndarray]  # name -> (h, w) foreground in [0, 1]
    features: dict[str, np.ndarray]  # name -> (len(FEATURES),) float


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two masks at 0.5."""
    x, y = a > 0.5, b > 0.5
    return float((x & y).sum() / max((x | y).sum(), 1))


def _gradient(arr: np.ndarray) -> np.ndarray:
    """(h, w) gradient magnitude of the luminance of a float (h, w, 3) 0-255 array."""
    lum = arr @ LUMA
    gy, gx = np.zeros_like(lum), np.zeros_like(lum)
    gy[1:-1], gx[:, 1:-1] = (lum[2:] - lum[:-2]) / 2, (lum[:, 2:] - lum[:, :-2]) / 2
    return np.hypot(gx, gy)


def _outline(fg: np.ndarray) -> np.ndarray:
    m = fg > 0.5
    return dilate(m, 1) & ~m | (m & dilate(~m, 1))


def _own(fg: np.ndarray, grad: np.ndarray, scale: float) -> list[float]:
    """share, edge alignment, frame touch, softness of one candidate."""
    m = fg > 0.5
    line = _outline(fg)
    align = float(grad[line].mean() / scale) if line.any() else 0.0
    frame = np.concatenate([m[0], m[-1], m[:, 0], m[:, -1]])
    soft = float(((fg > 0.1) & (fg < 0.9)).sum() / max(m.sum(), 1))
    return [float(m.mean()), min(align, 3.0), float(frame.mean()), min(soft, 1.0)]


def without_haze(alpha: np.ndarray, low: float = 0.15, high: float = 0.85) -> np.ndarray:
    """A soft foreground with its faint tails cut: alpha under `low` is backdrop, over `high` product, linear in
    between. On a dark or textured backdrop the backdrop estimate and the refinement leave a faint haze that no
    threshold at 0.5 sees but a cut-out on a new background shows; a real soft edge keeps its middle."""
    return np.clip((alpha - low) / (high - low), 0.0, 1.0).astype(np.float32)


def gather(arr: np.ndarray, net_fg: np.ndarray, probs_bg: np.ndarray, cleanup_fg: np.ndarray | None,
           backdrop: Backdrop | None, refined: np.ndarray | None = None) -> Evidence:
    """Candidates and measurements of one photo.

    arr: float (h, w, 3) 0-255 working copy; net_fg: the net's foreground (h, w); probs_bg: the net's background
    probability (h, w) before refinement; cleanup_fg / backdrop: the cleanup's foreground and backdrop model, or
    None where the photo has no near-uniform backdrop; refined: the refinement net's foreground, or None.
    """
    grad = _gradient(arr)
    scale = float(np.percentile(grad, 90)) + 1.0
    candidates = {"net": net_fg}
    if cleanup_fg is not None:
        candidates["cleanup"] = without_haze(cleanup_fg)
    if refined is not None:
        candidates["refined"] = sharpen(refined)  # as the net's: an uncertain band is no real soft edge
    fg_p = 1 - probs_bg
    unsure = float(((fg_p > 0.2) & (fg_p < 0.8)).sum() / max((fg_p > 0.5).sum(), 1))
    lum = arr @ LUMA
    r = max(1, min(arr.shape[:2]) // 60)
    local_std = np.sqrt(np.maximum(box_mean(lum * lum, r) - box_mean(lum, r) ** 2, 0.0))
    outside = net_fg < 0.1
    texture = float(np.median(local_std[outside])) / 16.0 if outside.any() else 1.0
    if backdrop is not None:
        colour = backdrop.colour
        shared = [1.0, 1.0, float(is_light(backdrop, BackdropConfig())), overlap(net_fg, cleanup_fg),
                  backdrop.border_share, min(backdrop.noise / 16.0, 4.0), float(colour @ LUMA) / 255,
                  float(colour.max() - colour.min()) / 255]
    else:
        shared = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    shared += [min(unsure, 2.0), min(texture, 4.0)]
    features = {name: np.asarray(shared + _own(fg, grad, scale), np.float64) for name, fg in candidates.items()}
    return Evidence(candidates, features)


@dataclass
class MaskChooser:
    """A small network (one hidden layer) from a candidate's measurements and which candidate it is to that
    cut-out's IoU with the truth."""

    weights: dict[str, list]  # w1 (inputs x hidden), b1, w2 (hidden), b2
    mean: list[float]
    scale: list[float]
    deliver_at: float = GOOD_IOU  # below this predicted IoU no candidate is trusted: the masker says so
    fitted_on: dict = field(default_factory=dict)  # how many cases, their IoU, the choice's figures

    def predict(self, evidence: Evidence) -> dict[str, float]:
        """Predicted IoU of each candidate of the photo."""
        names = list(evidence.features)
        return dict(zip(names, _forward(self.weights, _inputs([evidence.features[n] for n in names], names,
                                                              self.mean, self.scale)).tolist()))

    def choose(self, evidence: Evidence) -> tuple[str, float]:
        """(the candidate to use, its predicted IoU)."""
        predicted = self.predict(evidence)
        name = max(predicted, key=predicted.get)
        return name, predicted[name]

    def to_dict(self) -> dict:
        return {"weights": self.weights, "mean": self.mean, "scale": self.scale, "deliver_at": self.deliver_at,
                "fitted_on": self.fitted_on, "features": list(FEATURES), "candidates": list(CANDIDATES)}

    @classmethod
    def from_dict(cls, data: dict | None) -> "MaskChooser | None":
        if (not data or list(data.get("features", [])) != list(FEATURES)
                or list(data.get("candidates", [])) != list(CANDIDATES)):
            return None  # an older export, or another feature set: the masker falls back to its fixed rule
        return cls(dict(data["weights"]), list(data["mean"]), list(data["scale"]), float(data["deliver_at"]),
                   dict(data.get("fitted_on", {})))


def _inputs(features: list[np.ndarray], names: list[str], mean, scale) -> np.ndarray:
    """(n, len(FEATURES) + len(CANDIDATES)): standardised measurements and the candidate, one-hot."""
    x = (np.stack(features) - np.asarray(mean)) / np.asarray(scale)
    return np.concatenate([x, np.eye(len(CANDIDATES))[[CANDIDATES.index(n) for n in names]]], axis=1)


def _forward(w: dict, x: np.ndarray) -> np.ndarray:
    hidden = np.tanh(x @ np.asarray(w["w1"]) + np.asarray(w["b1"]))
    return 1 / (1 + np.exp(-(hidden @ np.asarray(w["w2"]) + float(w["b2"]))))


def fit_chooser(cases: list[tuple[Evidence, np.ndarray]], hidden: int = 16, steps: int = 1500,
                seed: int = 0) -> MaskChooser:
    """Fit the chooser on composites: (evidence, true foreground at the working size) per case."""
    import torch

    if len(cases) < 20:
        raise ValueError(f"{len(cases)} cases are too few to learn which cut-out to trust; 20 at least")
    names = [n for ev, _ in cases for n in ev.features]
    stacked = np.stack([f for ev, _ in cases for f in ev.features.values()])
    mean, scale = stacked.mean(0), stacked.std(0)
    scale[scale < 1e-6] = 1.0
    x = torch.tensor(_inputs(list(stacked), names, mean, scale), dtype=torch.float32)
    y = torch.tensor([overlap(ev.candidates[n], truth) for ev, truth in cases for n in ev.features],
                     dtype=torch.float32)
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))
    opt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=1e-4)
    for _ in range(steps):
        loss = ((torch.sigmoid(net(x)[:, 0]) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    first, last = net[0], net[2]
    weights = {"w1": first.weight.detach().T.tolist(), "b1": first.bias.detach().tolist(),
               "w2": last.weight.detach()[0].tolist(), "b2": float(last.bias.detach()[0])}
    chooser = MaskChooser(weights, mean.tolist(), scale.tolist())
    chosen = [chooser.choose(ev) + (truth,) for ev, truth in cases]
    true = np.asarray([overlap(ev.candidates[name], truth) for (ev, _), (name, _, truth) in zip(cases, chosen)])
    predicted = np.asarray([p for _, p, _ in chosen])
    chooser.deliver_at = deliver_level(predicted, true)
    net_iou = np.asarray([overlap(ev.candidates["net"], truth) for ev, truth in cases])
    best = np.asarray([max(overlap(c, truth) for c in ev.candidates.values()) for ev, truth in cases])
    chooser.fitted_on = {"cases": len(cases), "chosen_iou": round(float(true.mean()), 4),
                         "net_iou": round(float(net_iou.mean()), 4), "best_iou": round(float(best.mean()), 4),
                         "flagged": round(float((predicted < chooser.deliver_at).mean()), 4),
                         "fit_error": round(float(loss.item()) ** 0.5, 4)}
    return chooser


def deliver_level(predicted: np.ndarray, true: np.ndarray, wrong_share: float = 0.05) -> float:
    """The lowest predicted-IoU level, GOOD_IOU at least, at which of the cases delivered (predicted at or above
    it) at most `wrong_share` are wrong (true IoU under GOOD_IOU)."""
    for level in sorted({GOOD_IOU} | {float(p) for p in np.round(predicted, 3) if p > GOOD_IOU}):
        delivered = predicted >= level
        if not delivered.any() or (true[delivered] < GOOD_IOU).mean() <= wrong_share:
            return level
    return 1.0
