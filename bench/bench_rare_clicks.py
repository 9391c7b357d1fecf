"""Rare-click benchmark: the image choice at real click-through (0.2-1 %), side by side with its alternatives.

    PYTHONPATH=. .venv/bin/python bench/bench_rare_clicks.py --obd /tmp/obp/obp-0.4.1-py3-none-any.whl

1. Simulated shops (bench/rare_clicks_world.py): a list page of 40 products with 2-8 images where the shopper's
   context matters for half the colours; the same where it does not; a wide widget of 60 items and 3 slots. Each
   policy sees the same traffic and click coin flips; taste drifts halfway. Figures are the policies' expected
   click-through (the true click probability of what they showed, so no coin-flip noise) in windows.
2. Off-policy: from the new policy's own log, IPS / SNIPS / DR estimates of the holdout (always the seller's
   main image) against its true value.
3. Timing: one decision with 8 images (p50 / p95) and learning from 100,000 events, on one core.
4. The Open Bandit Dataset's small sample (read from the `obp` wheel, never a dependency; get it with
   `.venv/bin/pip download obp --no-deps -d /tmp/obp`): off-policy estimates of a policy trained on one half of
   the uniform-random log, evaluated on the other half, and the lift report's verdict.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
import zipfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.rare_clicks_policies import BATCH, BetaThompson, LinearGaussian, Oracle, RareClicks, Uniform  # noqa: E402
from bench.rare_clicks_world import Scenario, World  # noqa: E402
from ml import lift  # noqa: E402
from ml.rare_clicks import RareClickConfig, RareClickThompson  # noqa: E402

SCENARIOS = {
    "context matters": Scenario("context matters"),
    "context does not matter": Scenario("context does not matter", context_sd=0.0, appeal_sd=0.5, seed=1),
    "wide widget (60 items, 3 slots)": Scenario("wide widget", products=1, images=(60, 60), slots=3, ctr=0.004,
                                                seed=2),
}
HALF_LIFE = 15_000  # decisions: the bench's clock is the decision count


def run(sc: Scenario, impressions: int | None, seed: int) -> tuple[dict, dict]:
    if impressions:
        sc.impressions = impressions
    world = World(sc)
    policies = [Uniform(), BetaThompson(len(world.colour)), LinearGaussian(world),
                RareClicks(world, HALF_LIFE, base_rate=sc.ctr), Oracle()]
    value = {p.name: np.zeros(sc.impressions) for p in policies}
    log = {"r": [], "p_log": [], "p_main": [], "true_main": [], "arm": []}
    for policy in policies:
        rng, batch, started = np.random.default_rng(seed), [], time.perf_counter()
        for t in range(sc.impressions):
            slots, p = policy.decide(world, t, rng)
            probs = world.probs(t)  # (slots, k)
            exp = probs[np.arange(len(slots)), slots]
            clicks = (world.u[t, :len(slots)] < exp).astype(float)
            value[policy.name][t] = exp.mean()
            batch.append((t, np.asarray(slots), clicks))
            if isinstance(policy, RareClicks) and sc.slots == 1:
                log["r"].append(clicks[0]), log["p_log"].append(p[0, slots[0]]), log["p_main"].append(p[0, 0])
                log["true_main"].append(probs[0, 0]), log["arm"].append(world.images_of(t)[slots[0]])
                log.setdefault("main_shown", []).append(slots[0] == 0)
                log.setdefault("main_arm", []).append(world.images_of(t)[0])
            if len(batch) == BATCH:
                policy.learn(world, batch)
                batch = []
        print(f"  {policy.name}: {time.perf_counter() - started:.0f} s", flush=True)
    return value, log


def summary(sc: Scenario, value: dict) -> dict:
    d = sc.drift_at
    windows = {"at 50k (45-50k)": (d - 5000, d), "after drift (+15-20k)": (d + 15_000, d + 20_000)}
    out = {}
    for label, (a, b) in windows.items():
        v = {name: float(v[a:b].mean()) for name, v in value.items()}
        out[label] = {name: {"ctr": x, "of_oracle": x / v["oracle"], "x_uniform": x / v["uniform"],
                             "x_beta": x / v["beta"]} for name, x in v.items()}
    return out


def offpolicy_holdout(log: dict) -> dict:
    """The holdout's (always image 0) value estimated from the new policy's log, against its true value."""
    r, p_log = np.array(log["r"]), np.array(log["p_log"])
    target = np.array(log["main_shown"], dtype=float)  # the holdout shows image 0 with probability 1
    arms = np.array(log["arm"])
    model = lift.arm_means(arms, r, arms.max() + 1)
    main_arm = np.array(log["main_arm"])
    est = lift.policy_value(r, p_log, target, r_hat=model[arms], r_hat_target=model[main_arm], n_boot=300)
    return {"truth": float(np.mean(log["true_main"])), **{k: est[k] for k in ("ips", "snips", "dr", "ess", "n")}}


def timing() -> dict:
    rng = np.random.default_rng(0)
    model = RareClickThompson(RareClickConfig())
    keys, attrs = [f"g{i}" for i in range(8)], [[f"colour=c{i}", f"style=s{i % 3}"] for i in range(8)]
    ctx = {"device": "mobile", "campaign": "sale", "hour": "h37", "page": "category", "returning": "no"}
    times = []
    for i in range(3000):
        start = time.perf_counter()
        enc = model.encode(keys, attrs, {**ctx, "hour": f"h{i % 168}"}, position=i % 4)
        model.choose(enc, rng)
        times.append(time.perf_counter() - start)
    rows = [model.rows_for(model.encode(keys, attrs, {**ctx, "hour": f"h{i % 168}"}, position=i % 4), i % 8)
            for i in range(100_000)]
    x, r = model.stack_rows(rows), (rng.random(100_000) < 0.005).astype(float)
    start = time.perf_counter()
    for chunk in range(0, 100_000, 5000):  # the plugin's LEARN_BATCH_SIZE
        model.learn(x[chunk:chunk + 5000], r[chunk:chunk + 5000])
    learn_s = time.perf_counter() - start
    return {"decide_p50_ms": 1000 * float(np.percentile(times, 50)),
            "decide_p95_ms": 1000 * float(np.percentile(times, 95)), "learn_100k_s": learn_s,
            "state_bytes": len(model.to_bytes())}


# ----------------------------------------------------------------------------- the Open Bandit Dataset sample

def read_obd(wheel: str, campaign: str = "all") -> tuple[list[dict], dict]:
    with zipfile.ZipFile(wheel) as z:
        text = z.read(f"obp/dataset/obd/random/{campaign}/{campaign}.csv").decode()
        items = z.read(f"obp/dataset/obd/random/{campaign}/item_context.csv").decode()
    head, *lines = text.splitlines()
    cols = head.split(",")
    rows = [dict(zip(cols, line.split(","))) for line in lines]
    ih, *ilines = items.splitlines()
    icols = ih.split(",")
    attrs = {}
    for line in ilines:
        item = dict(zip(icols, line.split(",")))
        attrs[item["item_id"]] = [f"f{j}={item[f'item_feature_{j}'][:8]}" for j in (1, 2, 3)]
    return rows, attrs


def obd_report(wheel: str, seed: int = 0) -> dict:
    """Train on the first half of the uniform-random log, evaluate the learned policy on the second half."""
    rows, attrs = read_obd(wheel)
    keys = sorted(attrs, key=int)
    model = RareClickThompson(RareClickConfig(base_rate=0.004, min_impressions=0))
    half = len(rows) // 2
    ctx_of = lambda row: {f"u{j}": row[f"user_feature_{j}"][:8] for j in range(4)}  # noqa: E731
    train = []
    for row in rows[:half]:
        enc = model.encode([row["item_id"]], [attrs[row["item_id"]]], ctx_of(row), position=int(row["position"]))
        train.append(model.rows_for(enc, 0))
    model.learn(model.stack_rows(train), np.array([float(r["click"]) for r in rows[:half]]))
    rng = np.random.default_rng(seed)
    r, p_log, p_tgt = [], [], []
    for row in rows[half:]:
        enc = model.encode(keys, [attrs[k] for k in keys], ctx_of(row))
        p = model.choose(enc, rng).propensities[0]
        r.append(float(row["click"]))
        p_log.append(float(row["propensity_score"]))
        p_tgt.append(p[keys.index(row["item_id"])])
    est = lift.policy_value(np.array(r), np.array(p_log), np.array(p_tgt), n_boot=500)
    logged = lift.observed(np.array(r))
    ratio = {"value": est["snips"]["value"] / logged["value"], "low": est["snips"]["low"] / logged["value"],
             "high": est["snips"]["high"] / logged["value"]}
    return {"n_eval": len(r), "clicks": int(sum(r)), "logged_ctr": logged, **{k: est[k] for k in ("ips", "snips")},
            "ess": est["ess"], "lift_vs_uniform": ratio, "verdict": lift.verdict(est["ess"], ratio)}


# ----------------------------------------------------------------------------- the curve

def curve_png(path: Path, sc: Scenario, value: dict, window: int = 2500) -> None:
    colours = {"uniform": (60, 60, 200), "beta": (230, 140, 0), "linear (current)": (40, 150, 40),
               "rare-click (new)": (200, 40, 40), "oracle": (110, 110, 110)}
    w, h, pad = 900, 460, 60
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    n = sc.impressions // window
    series = {k: v[: n * window].reshape(n, window).mean(axis=1) for k, v in value.items()}
    top = max(s.max() for s in series.values()) * 1.1
    x_of = lambda i: pad + (w - 2 * pad) * (i + 0.5) / n  # noqa: E731
    y_of = lambda v: h - pad - (h - 2 * pad) * v / top  # noqa: E731
    draw.rectangle([pad, pad, w - pad, h - pad], outline="black")
    for frac in (0.25, 0.5, 0.75):
        v = top * frac
        draw.line([pad, y_of(v), w - pad, y_of(v)], fill=(225, 225, 225))
        draw.text((5, y_of(v) - 6), f"{100 * v:.2f}%", fill="black")
    xd = pad + (w - 2 * pad) * sc.drift_at / sc.impressions
    draw.line([xd, pad, xd, h - pad], fill=(180, 180, 180), width=2)
    draw.text((xd + 4, pad + 4), "drift", fill="black")
    for i, (name, s) in enumerate(series.items()):
        draw.line([(x_of(j), y_of(v)) for j, v in enumerate(s)], fill=colours[name], width=3)
        draw.text((pad + 10 + 150 * i, h - pad + 25), name, fill=colours[name])
    draw.text((pad, 20), f"click-through per {window} impressions, '{sc.name}' (base CTR {100 * sc.ctr:.1f} %)",
              fill="black")
    draw.text((w - pad - 120, h - pad + 8), f"{sc.impressions:,} impressions", fill="black")
    img.save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impressions", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--obd", help="path of the obp wheel (skipped when absent)")
    ap.add_argument("--png", default="docs/images/rare_clicks_curve.png")
    ap.add_argument("--only", help="run only the scenario whose name starts with this")
    args = ap.parse_args()
    out = {"timing": timing()}
    print(json.dumps(out["timing"], indent=1), flush=True)
    for name, sc in SCENARIOS.items():
        if args.only and not name.startswith(args.only):
            continue
        print(name, flush=True)
        value, log = run(sc, args.impressions, args.seed)
        out[name] = summary(sc, value)
        if log["r"]:
            out[name]["off-policy holdout"] = offpolicy_holdout(log)
        if name == "context matters":
            curve_png(Path(args.png), sc, value)
        print(json.dumps(out[name], indent=1), flush=True)
    if args.obd:
        out["obd"] = obd_report(args.obd, args.seed)
        print(json.dumps(out["obd"], indent=1))
    Path("bench/rare_clicks_results.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
