"""Taste-driven generation and the shopper's own history, simulated at real click rates (bench/taste_world.py).

    PYTHONPATH=. .venv/bin/python bench/bench_taste.py          # ~10 min on one core

1. History: the rare-click sampler with and without the colours each shopper clicked lately in their context, in a
   shop where returning shoppers have a favourite colour (and in one where they have none).
2. Proposals: the sampler serves phase 1 and logs it; `ml.taste` reads the log into tastes and proposals (colours
   a segment prefers that a product lacks). Phase 2 serves the same traffic three times: nothing added, the
   proposed variants added, or as many random variants (colours the product lacks) added to the same products.
   The raise is the proposed products' click-through in phase 2 over the "nothing added" run. Where shoppers have
   no colour taste, nothing should be proposed.
3. Timing: one decision with and without the history's tokens.
Figures are the true click probability of what was shown (no coin-flip noise); every run sees the same shoppers.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.rare_clicks_policies import BATCH, RareClicks  # noqa: E402
from bench.taste_world import TasteScenario, TasteWorld  # noqa: E402
from ml import taste  # noqa: E402
from ml.rare_clicks import RareClickThompson  # noqa: E402

HALF_LIFE = 30_000  # decisions


def serve(world: TasteWorld, policy: RareClicks, start: int, stop: int, seed: int, log: dict | None = None):
    """Decisions start..stop-1: (t,) true click probability of what was shown; appends to `log` what the plugin's
    events table would hold (segments, shown colour, product, graded reward)."""
    rng, batch, value = np.random.default_rng(seed), [], np.zeros(stop - start)
    for t in range(start, stop):
        slots, p = policy.decide(world, t, rng)
        shown = slots[0]
        value[t - start] = world.probs(t)[0, shown]
        reward = world.outcome(t, shown)
        batch.append((t, np.array([shown]), np.array([reward])))
        if log is not None:
            log["segments"].append(world.segments_of(t))
            log["value"].append(f"c{world.colours[world.product[t]][shown]}")
            log["product"].append(str(world.product[t]))
            log["reward"].append(reward)
            log["propensity"].append(p[0, shown])
        if len(batch) == BATCH:
            policy.learn(world, batch)
            batch = []
    return value


def history(sc: TasteScenario, seed: int, regular: int = 50) -> dict:
    """Click-through in the second half with and without the history tokens, overall and for the shoppers who
    come back most (at least `regular` impressions in the run: the same shoppers in both runs)."""
    out = {}
    for with_history in (False, True):
        world = TasteWorld(sc)
        world.with_history = with_history
        value = serve(world, RareClicks(world, HALF_LIFE, base_rate=sc.ctr), 0, sc.impressions, seed)
        frequent = np.bincount(world.shopper, minlength=sc.shoppers)[world.shopper] >= regular
        half = sc.impressions // 2
        out["with history" if with_history else "without"] = {
            "ctr": float(value[half:].mean()), "ctr_regulars": float(value[half:][frequent[half:]].mean()),
            "share_regulars": float(frequent[half:].mean())}
    a, b = out["with history"], out["without"]
    out["ratio"], out["ratio_regulars"] = a["ctr"] / b["ctr"], a["ctr_regulars"] / b["ctr_regulars"]
    return out


def proposals_from(log: dict, world: TasteWorld, config: taste.TasteConfig) -> tuple[list, list]:
    """(claimed tastes, proposals) from a phase's log, as the plugin makes them from its events."""
    outcome = (np.array(log["reward"]) > 0).astype(float)  # clicked or bought, as the plugin counts them
    tested = taste.segment_tastes(log["segments"], np.array(log["value"]), np.array(log["product"]), outcome,
                                  np.array(log["propensity"]), config)
    claims = [t for t in tested if taste.is_taste(t, config)]
    lacking = {str(p): {f"c{c}" for c in world.lacks(p)} for p in range(world.sc.products)}
    seen = taste.segment_traffic(log["segments"], log["product"])
    return claims, taste.propose(claims, lacking, seen)


def generation(sc: TasteScenario, phase1: int, phase2: int, seed: int) -> dict:
    world = TasteWorld(sc, impressions=phase1 + phase2)
    world.with_history = False  # this measures the proposals alone
    policy = RareClicks(world, HALF_LIFE, base_rate=sc.ctr)
    log = {"segments": [], "value": [], "product": [], "reward": [], "propensity": []}
    serve(world, policy, 0, phase1, seed, log)
    claims, proposed = proposals_from(log, world, taste.TasteConfig())
    out = {"claims": [vars(t) for t in claims],
           "proposals": [{"product": p.product, "value": p.value, "segment": p.taste.segment} for p in proposed]}
    if not proposed:
        return out
    rng = np.random.default_rng(seed + 99)
    per_product: dict[int, int] = {}
    for p in proposed:
        per_product[int(p.product)] = per_product.get(int(p.product), 0) + 1
    random_adds = [(p, int(c)) for p, n in per_product.items() for c in rng.permutation(world.lacks(p))[:n]]
    arms = {"nothing added": [], "proposed": [(int(p.product), int(p.value[1:])) for p in proposed],
            "random": random_adds}
    state = policy.model.to_bytes()
    affected = np.isin(world.product[phase1:], list(per_product))
    for name, adds in arms.items():
        arm_world = copy.deepcopy(world)
        for product, colour in adds:
            arm_world.add(product, colour)
        arm_policy = RareClicks(arm_world, HALF_LIFE, base_rate=sc.ctr)
        arm_policy.model = RareClickThompson.from_bytes(state)
        value = serve(arm_world, arm_policy, phase1, phase1 + phase2, seed + 1)
        out[name] = {"ctr_affected": float(value[affected].mean()), "added": len(adds)}
    base = out["nothing added"]["ctr_affected"]
    raise_p, raise_r = out["proposed"]["ctr_affected"] - base, out["random"]["ctr_affected"] - base
    out["raise"] = {"proposed": raise_p, "random": raise_r, "ratio": raise_p / raise_r if raise_r > 0 else None}
    return out


def decision_timing(n: int = 3000) -> dict:
    """One decision with 8 images (4 attributes each) on one core: the context alone, and with the attributes of
    the shopper's last 3 clicked images (what the history adds)."""
    model, rng = RareClickThompson(), np.random.default_rng(0)
    keys = [f"g{i}" for i in range(8)]
    attrs = [["category=tee", f"colour=c{i}", "pattern=solid", "kind=variant"] for i in range(8)]
    ctx = ["device=phone", "page=category", "campaign=sale", "returning=yes", "hour=mon-08", "segment=vip"]
    liked = sorted({f"liked:{t}" for i in (1, 3, 5) for t in attrs[i]})
    out = {}
    for name, tokens in (("context", ctx), ("context + history", ctx + liked)):
        times = []
        for i in range(n):
            start = time.perf_counter()
            model.choose(model.encode(keys, attrs, tokens, position=i % 4), rng)
            times.append(time.perf_counter() - start)
        out[name] = {"p50_ms": 1000 * float(np.percentile(times, 50)), "p95_ms": 1000 * float(np.percentile(times, 95))}
    return out


SHOP = TasteScenario("colour tastes", favourite=0.0)
NO_TASTE = TasteScenario("no taste", tastes={}, noise_sd=0.0, seed=1)  # only each image's own appeal
FAVOURITES = TasteScenario("favourite colours", tastes={}, favourite=1.5, seed=2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phase1", type=int, default=200_000)
    ap.add_argument("--phase2", type=int, default=60_000)
    ap.add_argument("--history", type=int, default=200_000, help="impressions of each history run (0: skip it)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="bench/taste_results.json")
    args = ap.parse_args()
    out = {"decision timing": decision_timing()}
    print(json.dumps(out, indent=1), flush=True)
    for sc in (SHOP, NO_TASTE):
        started = time.perf_counter()
        out[f"generation, {sc.name}"] = generation(sc, args.phase1, args.phase2, args.seed)
        print(sc.name, f"{time.perf_counter() - started:.0f} s", json.dumps(out[f"generation, {sc.name}"], indent=1),
              flush=True)
    for sc in (FAVOURITES, NO_TASTE) if args.history else ():
        sc.impressions = args.history
        out[f"history, {sc.name}"] = history(sc, args.seed)
        print(sc.name, json.dumps(out[f"history, {sc.name}"], indent=1), flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
