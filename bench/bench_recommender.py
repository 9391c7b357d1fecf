"""Recommender benchmark: simulated shoppers with colour preferences choosing among a product's images.

Each product has an original photo and variants in other colours. Each shopper has a favourite colour;
P(click) = base + lift * [image colour == favourite] + original_bonus * [image is the original].
Policies see the same traffic and the same click coin flips (common random numbers):
thompson (ml.recommender), uniform, original (always the original), oracle (knows the favourite).
Then off-policy estimates (ml.offpolicy) from the uniform and the Thompson logs against the true values.

    .venv/bin/python bench/bench_recommender.py --world synthetic
    .venv/bin/python bench/bench_recommender.py --world real --data ../shared/data/fashion-product-images

`real` takes real product photos: candidates of one articleType in different baseColours (stand-ins for
AI colour variants); image vectors are colour histograms of the 64x48 photos (+ one-hot colour with --attrs).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a shared 2-core machine: one BLAS thread per process
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ml import offpolicy  # noqa: E402
from ml.recommender import ImageRecommender, RecommenderConfig, colour_histogram  # noqa: E402

POLICIES = ("thompson", "uniform", "original", "oracle")
COLOURS = {"thompson": (200, 40, 40), "uniform": (60, 60, 200), "original": (40, 150, 40), "oracle": (130, 130, 130)}


@dataclass
class World:
    image_vecs: np.ndarray  # (p, k, m) candidate image vectors; candidate 0 is the original
    colours: np.ndarray  # (p, k) colour index of each candidate
    favourites: np.ndarray  # (s,) each shopper's favourite colour
    base: float = 0.04  # click rate of an image the shopper has no feeling about
    lift: float = 0.25  # extra click rate for the favourite colour
    original_bonus: float = 0.02  # originals are real photos: a slight edge over variants for everyone

    def click_prob(self, shopper: int, product: int) -> np.ndarray:
        match = self.colours[product] == self.favourites[shopper]
        return self.base + self.lift * match + self.original_bonus * (np.arange(match.size) == 0)


def synthetic_world(rng, products=300, k=4, n_colours=8, shoppers=100, embed=8, noise=0.3) -> World:
    """Images = one-hot colour + a noisy random 'embedding' of the colour + an is-original flag."""
    protos = rng.standard_normal((n_colours, embed))
    colours = np.stack([rng.choice(n_colours, size=k, replace=False) for _ in range(products)])  # (p, k)
    emb = protos[colours] + noise * rng.standard_normal(colours.shape + (embed,))
    emb /= np.linalg.norm(emb, axis=-1, keepdims=True)
    flag = np.zeros(colours.shape + (1,))
    flag[:, 0] = 1
    vecs = np.concatenate([np.eye(n_colours)[colours], emb, flag], axis=-1)
    return World(vecs, colours, rng.choice(n_colours, size=shoppers))


def real_world(data_dir, rng, products=300, k=4, n_colours=8, shoppers=100, attrs=False, bins=4) -> World:
    """Real test-split photos: an original and k-1 photos of the same articleType in other top colours."""
    d = np.load(Path(data_dir) / "catalog_64x48.npz")
    names, counts = np.unique(d["baseColour"], return_counts=True)
    top = list(names[np.argsort(-counts)][:n_colours])
    colour = np.array([top.index(c) if c in top else -1 for c in d["baseColour"]])
    by_type: dict[tuple, list[int]] = {}
    test = d["id"] % 10 == 0  # the catalogue's test split (README); histograms are not learned, but keep to it
    for i, (t, c) in enumerate(zip(d["articleType"], colour)):
        if c >= 0 and test[i]:
            by_type.setdefault((t, c), []).append(i)
    types = [t for t in set(t for t, _ in by_type) if sum((t, c) in by_type for c in range(n_colours)) >= k]
    rows, cols = [], []
    for _ in range(products):
        t = types[rng.integers(len(types))]
        cs = rng.choice([c for c in range(n_colours) if (t, c) in by_type], size=k, replace=False)
        rows.append([by_type[(t, c)][rng.integers(len(by_type[(t, c)]))] for c in cs])
        cols.append(cs)
    rows, cols = np.array(rows), np.array(cols)
    x = d["x"]  # every d[...] access decompresses the whole array again
    hist = np.stack([colour_histogram(x[i], bins) for i in rows.ravel()]).reshape(rows.shape + (-1,))
    flag = np.zeros(rows.shape + (1,))
    flag[:, 0] = 1
    parts = [hist, np.eye(n_colours)[cols]] if attrs else [hist]
    return World(np.concatenate(parts + [flag], axis=-1), cols, rng.choice(n_colours, size=shoppers))


def run(world: World, policy: str, rounds: int, seed: int, config: RecommenderConfig, batch: int = 50) -> dict:
    """One policy on the seed's traffic; returns rewards (rounds,), logged events and the recommender."""
    traffic = np.random.default_rng(seed)  # same shoppers, products and click coins for every policy
    shoppers = traffic.integers(len(world.favourites), size=rounds)
    products = traffic.integers(len(world.colours), size=rounds)
    coins = traffic.random(rounds)
    rng = np.random.default_rng(seed + 1)
    rec = ImageRecommender(config)
    contexts = {s: rec.empty_context() for s in range(len(world.favourites))}
    rewards, events, pending = np.zeros(rounds), [], []
    for t, (s, p) in enumerate(zip(shoppers, products)):
        vecs, truth = world.image_vecs[p], world.click_prob(s, p)
        x = rec.candidate_features(vecs, contexts[s])
        props = _propensities(policy, rec, x, truth, rng)
        a = int(rng.choice(len(props), p=props))
        rewards[t] = float(coins[t] < truth[a])
        events.append({"id": t, "features": x, "chosen": a, "propensity": float(props[a]), "reward": rewards[t],
                       "default": 0, "truth": truth})
        pending.append((vecs[a], contexts[s], rewards[t]))
        contexts[s] = rec.observe(contexts[s], vecs[a], bool(rewards[t]))
        if policy == "thompson" and len(pending) >= batch:  # the plugin folds events in periodically
            v, c, r = map(np.array, zip(*pending))
            rec.update(v, c, r)
            pending = []
    return {"rewards": rewards, "events": events, "recommender": rec}


def _propensities(policy, rec, x, truth, rng) -> np.ndarray:
    k = len(x)
    if policy == "thompson":
        return rec.policy(x, rng, default_index=0)
    if policy == "uniform":
        return np.full(k, 1.0 / k)
    if policy == "original":
        return np.eye(k)[0]
    return np.eye(k)[int(np.argmax(truth))]


def evaluate_offpolicy(events: list[dict], learned: ImageRecommender, seed: int) -> dict:
    """OPE of original / uniform / learned policies on `events`, next to each policy's true value there."""
    policies = {"original": offpolicy.always_default, "uniform": offpolicy.uniform,
                "learned-thompson": learned.as_policy(seed), "learned-greedy": offpolicy.greedy(learned.bandit.mean)}
    cached = {name: [np.asarray(fn(e)) for e in events] for name, fn in policies.items()}  # one draw per event
    frozen = {name: (lambda e, n=name: cached[n][e["id"] - events[0]["id"]]) for name in policies}
    report = offpolicy.compare(events, frozen, n_boot=500, seed=seed)
    for name in policies:
        true = np.mean([p @ e["truth"] for p, e in zip(cached[name], events)])
        report["policies"][name]["true"] = float(true)
    return report


def ctr_curves(results: dict[str, np.ndarray], window: int) -> dict[str, list[float]]:
    """Click-through per consecutive window of rounds."""
    return {k: [float(v) for v in r[: len(r) // window * window].reshape(-1, window).mean(axis=1)]
            for k, r in results.items()}


def plot(curves: dict[str, list[float]], window: int, path: Path, title: str) -> None:
    """A line chart of CTR per window, drawn with Pillow."""
    w, h, pad = 640, 360, 50
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    top = max(max(c) for c in curves.values()) * 1.1
    n = len(next(iter(curves.values())))
    xy = lambda i, v: (pad + i * (w - 2 * pad) / max(n - 1, 1), h - pad - v / top * (h - 2 * pad))  # noqa: E731
    draw.line([(pad, pad), (pad, h - pad), (w - pad, h - pad)], fill="black")
    for v in np.linspace(0, top, 5):
        draw.text((5, xy(0, v)[1] - 5), f"{v:.2f}", fill="black")
    for j, (name, c) in enumerate(curves.items()):
        draw.line([xy(i, v) for i, v in enumerate(c)], fill=COLOURS[name], width=2)
        draw.text((w - pad - 110, pad + 14 * j), name, fill=COLOURS[name])
    draw.text((pad, 10), f"{title}: CTR per {window} impressions", fill="black")
    for i in range(0, n, max(n // 5, 1)):
        draw.text((xy(i, 0)[0] - 10, h - pad + 4), f"{(i + 1) * window}", fill="black")
    draw.text((w // 2 - 30, h - pad + 22), "impressions", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", choices=("synthetic", "real"), default="synthetic")
    ap.add_argument("--data", default="../shared/data/fashion-product-images")
    ap.add_argument("--attrs", action="store_true", help="real world: add one-hot baseColour to the histogram")
    ap.add_argument("--rounds", type=int, default=20000)
    ap.add_argument("--shoppers", type=int, default=200)
    ap.add_argument("--rank", type=int, default=4)
    ap.add_argument("--decay", type=float, default=0.7)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--window", type=int, default=1000)
    ap.add_argument("--out", default="/tmp/prodimg_bench/recommender")
    args = ap.parse_args(argv)
    out = Path(args.out)
    summary = {"args": vars(args), "seeds": []}
    for seed in range(args.seeds):
        summary["seeds"].append(one_seed(args, seed, out))
    ctr = {p: np.mean([s["ctr"][p] for s in summary["seeds"]]) for p in POLICIES}
    summary["mean_ctr"] = {p: float(v) for p, v in ctr.items()}
    summary["ope_accuracy"] = ope_accuracy(summary["seeds"])
    print("mean CTR over seeds:", json.dumps(summary["mean_ctr"]), flush=True)
    print("off-policy, all seeds/logs/policies:", json.dumps(summary["ope_accuracy"]), flush=True)
    (out / f"{args.world}{'_attrs' if args.attrs else ''}.json").write_text(json.dumps(summary, indent=1))


def ope_accuracy(rows: list[dict]) -> dict:
    """Per estimator: mean |estimate - true| and how often the 95% interval held the true value."""
    cells = [r for row in rows for key in row if key.startswith("ope_") for r in row[key]["policies"].values()]
    out = {}
    for est in ("ips", "snips", "dm", "dr"):
        err = [abs(r[est]["value"] - r["true"]) for r in cells]
        cover = [r[est]["low"] <= r["true"] <= r[est]["high"] for r in cells]
        out[est] = {"mean_abs_error": float(np.mean(err)), "coverage": float(np.mean(cover)), "n": len(cells)}
    return out


def one_seed(args, seed: int, out: Path) -> dict:
    rng = np.random.default_rng(1000 + seed)
    world = (synthetic_world(rng, shoppers=args.shoppers) if args.world == "synthetic"
             else real_world(args.data, rng, shoppers=args.shoppers, attrs=args.attrs))
    config = RecommenderConfig(image_dim=world.image_vecs.shape[-1], rank=args.rank, decay=args.decay)
    t0 = time.perf_counter()
    runs = {p: run(world, p, args.rounds, seed, config) for p in POLICIES}
    secs = time.perf_counter() - t0
    rewards = {p: r["rewards"] for p, r in runs.items()}
    curves = ctr_curves(rewards, args.window)
    name = f"{args.world}{'_attrs' if args.attrs else ''}_seed{seed}"
    plot(curves, args.window, out / f"ctr_{name}.png", name)
    half = args.rounds // 2
    row = {"seed": seed, "ctr": {p: float(r.mean()) for p, r in rewards.items()},
           "ctr_second_half": {p: float(r[half:].mean()) for p, r in rewards.items()},
           "curves": curves, "sim_seconds": secs, "feature_dim": config.bandit_config().dim}
    print(f"seed {seed} d={row['feature_dim']} ({secs:.0f}s): CTR", json.dumps(row["ctr"]),
          "second half", json.dumps(row["ctr_second_half"]), flush=True)
    learned = runs["thompson"]["recommender"]
    for log in ("uniform", "thompson"):  # logs of fresh traffic: a policy judged on its own training log flatters
        events = run(world, log, args.rounds, seed + 100, config)["events"][half:]
        report = evaluate_offpolicy(events, learned, seed)
        row[f"ope_{log}_log"] = report
        print(f"  off-policy from a fresh {log} log (second half, n={report['n']}):")
        for name_, r in report["policies"].items():
            print(f"    {name_:>16}: true {r['true']:.4f}  " + "  ".join(
                f"{k} {r[k]['value']:.4f} [{r[k]['low']:.4f},{r[k]['high']:.4f}]" for k in ("ips", "snips", "dr"))
                + f"  ess {r['ess']:.0f}")
    return row


if __name__ == "__main__":
    main()
