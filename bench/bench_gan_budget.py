"""The project's GAN against two public baselines at the same CPU budget, on three versions of the real catalogue.

    B=/tmp/gan_budget; P=".venv/bin/python bench/bench_gan_budget.py"
    $P evaluator --setting a --out $B          # the judge of (a) and (c), cached (and one for (b))
    $P train --setting a --model gan --cpu-minutes 10 --out $B      # also: --model dcgan, --model mlp
    $P report --setting a --out $B              # -> $B/a/result.json and $B/a/grid.png

Settings (../shared/data/fashion-product-images/catalog_64x48.npz, split by id % 10 as its README says):
  a  64x48 colour, articleType + baseColour, the 8 commonest of each (as bench/bench_gan.py)
  b  the 10 commonest articleTypes, any colour, converted to 32x32 grayscale (padded square on white), category only
  c  a random 1,000-image subset of (a)'s training images (same test images and judge as (a))
Models: gan (ml.gan with ml.gan_auto's configuration, as `prodimg_train gan` picks it), dcgan (bench/dcgan.py, batch 64),
mlp (bench/bench_cgan_mlp.py: the most used public PyTorch cGAN's shape). Each trains in its own process, one
thread, until it has used --cpu-minutes of process CPU time.

Figures (ml.gan_eval's evaluator-based ones): per attribute, the share of samples the evaluator sees as what was
asked for, over its accuracy on the real test images; per condition (attribute value) the same, on 100 samples per
value against the real test images of that value, the worst named; evaluator-FID over the real train-vs-test floor
at the same N (for (c) the floor uses (a)'s whole training split: it is a property of the real data, not of the
subset); steps and images per CPU-second of training. The benchmark is never a test dependency.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_cgan_mlp  # noqa: E402
from ml import checkpoint, evaluator_train, gan_eval, judge as ml_judge  # noqa: E402
from dcgan import DCGANConfig, DCGANTrainer, DCGenerator  # noqa: E402
from ml.gan import GANConfig, Generator  # noqa: E402
from ml.gan_auto import auto_config  # noqa: E402
from ml.gan_train import GANTrainer  # noqa: E402
from ml.images import fit, tensor_to_pil  # noqa: E402
from ml.vocab import AttributeVocab  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared/data/fashion-product-images"
MODELS = ("gan", "dcgan", "mlp")
JUDGE = {"a": "colour", "b": "gray", "c": "colour"}


def load_setting(setting: str, data: Path = DATA, seed: int = 0) -> dict:
    """train_x / test_x uint8 (n, h, w, c), labels {attribute: values} of each, and the floor's training set."""
    npz = np.load(data / "catalog_64x48.npz", allow_pickle=False)
    ids, x = npz["id"], npz["x"]
    types, colours = npz["articleType"].astype(str), npz["baseColour"].astype(str)
    train = ids % 10 != 0
    if setting == "b":
        keep_t = [t for t, _ in Counter(types[train]).most_common(10)]
        ok = np.isin(types, keep_t)
        x = np.stack([np.asarray(fit(Image.fromarray(im), 32, 32, 1))[..., None] for im in x[ok]])
        labels = {"articleType": types[ok]}
        train = train[ok]
    else:
        keep_t = [t for t, _ in Counter(types[train]).most_common(8)]
        keep_c = [c for c, _ in Counter(colours[train]).most_common(8)]
        ok = np.isin(types, keep_t) & np.isin(colours, keep_c)
        x, train = x[ok], train[ok]
        labels = {"articleType": types[ok], "baseColour": colours[ok]}
    tr, te = np.flatnonzero(train), np.flatnonzero(~train)
    floor_tr = tr
    if setting == "c":
        tr = np.sort(np.random.default_rng(seed).choice(tr, 1000, replace=False))
    pick = lambda rows: {a: list(v[rows]) for a, v in labels.items()}  # noqa: E731
    return {"train_x": x[tr], "train_labels": pick(tr), "test_x": x[te], "test_labels": pick(te),
            "floor_x": x[floor_tr], "floor_labels": pick(floor_tr)}


def judge_path(out: Path, setting: str) -> Path:
    return out / "evaluators" / f"{JUDGE[setting]}.safetensors"


def setting_vocab(d: dict) -> AttributeVocab:
    return AttributeVocab.build(d["floor_labels"])  # the full training split's values (c's subset has them all)


def cmd_evaluator(args) -> None:
    path = judge_path(args.out, args.setting)
    if path.exists():
        print(f"{path} exists")
        return
    d = load_setting(args.setting, args.data)
    vocab = setting_vocab(d)
    start = time.process_time()
    judge = evaluator_train.train_classifier(d["floor_x"], np.array(vocab.encode_many(d["floor_labels"])), vocab,
                                             epochs=None, minutes=args.evaluator_minutes, seed=args.seed + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    evaluator_train.export(judge, vocab, path)
    acc = ml_judge.accuracy(judge, d["test_x"], np.array(vocab.encode_many(d["test_labels"])))
    print(json.dumps({"evaluator": str(path), "cpu_s": round(time.process_time() - start, 1), "test_accuracy": acc}))


def build_trainer(model: str, d: dict, vocab: AttributeVocab, seed: int, gan_model: dict | None = None,
                  gan_train: dict | None = None):
    x, idx = d["train_x"], np.array(vocab.encode_many(d["train_labels"]))
    h, w, c = x.shape[1:]
    if model == "gan":
        plan = auto_config(len(x), h, w, c, vocab.sizes()).apply(gan_model, gan_train)
        trainer = GANTrainer(GANConfig(**plan.model), x, idx, vocab, seed=seed, **plan.train)
        return trainer, {"auto": plan.lines()}
    if model == "dcgan":
        config = DCGANConfig(height=h, width=w, channels=c, attr_sizes=vocab.sizes())
        return DCGANTrainer(config, x, idx, seed=seed, batch_size=64), {"config": asdict(config)}
    config = bench_cgan_mlp.MLPConfig(height=h, width=w, channels=c, attr_sizes=vocab.sizes())
    return bench_cgan_mlp.MLPCGANTrainer(config, x, idx, seed=seed, batch_size=64), {"config": asdict(config)}


def cmd_train(args) -> None:
    d = load_setting(args.setting, args.data, args.seed)
    vocab = setting_vocab(d)
    trainer, info = build_trainer(args.model, d, vocab, args.seed, args.gan_model, args.gan_train)
    folder = args.out / args.setting
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{args.setting}/{args.model}: {len(d['train_x'])} images {d['train_x'].shape[1:]}", flush=True)
    for line in info.get("auto", []):
        print("  " + line, flush=True)
    wall, cpu = time.monotonic(), time.process_time()

    def progress(step: int, losses: dict) -> None:
        if step % args.log_every == 0:
            spent = time.process_time() - cpu
            print(f"step {step} ({step / spent:.2f}/CPU s) "
                  + " ".join(f"{k} {v:.3f}" for k, v in losses.items() if k != "step"), flush=True)

    snapshot = {"done": args.snapshot_at is None}

    def callback(step: int, losses: dict) -> None:
        progress(step, losses)
        if not snapshot["done"] and time.process_time() - cpu >= args.snapshot_at * 60:
            snapshot["done"] = True  # a constant-rate baseline's state at that CPU time, as a run of that budget
            export_run(args, trainer, vocab, args.snapshot_out / args.setting, time.process_time() - cpu,
                       time.monotonic() - wall, info, args.snapshot_at)

    trainer.train(cpu_minutes=args.cpu_minutes, callback=callback)
    export_run(args, trainer, vocab, folder, time.process_time() - cpu, time.monotonic() - wall, info,
               args.cpu_minutes)


def export_run(args, trainer, vocab: AttributeVocab, folder: Path, cpu_s: float, wall_s: float, info: dict,
               cpu_minutes: float) -> None:
    """The sampler's weights and the run's figures, as `report` reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"{args.name or args.model}.safetensors"
    meta = {"vocab": vocab.to_dict(), "setting": args.setting}
    if args.model == "gan":
        trainer.export(weights)
    elif args.model == "dcgan":
        checkpoint.save(weights, checkpoint.state_dict_with_prefix("G", trainer.G),
                        {"kind": "dcgan", "config": asdict(trainer.config), "step": trainer.step_count, **meta})
    else:
        trainer.export(weights, meta)
    batch = trainer.train_config.batch_size if args.model == "gan" else trainer.batch_size
    figures = {"model": args.model, "setting": args.setting, "steps": trainer.step_count,
               "images_seen": trainer.step_count * batch, "batch": batch, "cpu_s": round(cpu_s, 1),
               "wall_s": round(wall_s, 1), "steps_per_cpu_s": round(trainer.step_count / cpu_s, 2),
               "images_per_cpu_s": round(trainer.step_count * batch / cpu_s, 1), "cpu_minutes": cpu_minutes,
               "command": " ".join(sys.argv), **info}
    (folder / f"{args.name or args.model}_train.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps({k: v for k, v in figures.items() if k not in ("config", "auto")}), flush=True)


def load_sampler(model: str, path: Path):
    tensors, meta = checkpoint.load(path)
    if model == "gan":
        G = Generator(GANConfig(**meta["config"]))
        checkpoint.load_prefixed(G, "G", tensors)
        return gan_eval.gan_sampler(G, None)
    if model == "dcgan":
        G = DCGenerator(DCGANConfig(**meta["config"]))
        checkpoint.load_prefixed(G, "G", tensors)
        G.eval()
        return lambda rows, gen: G(torch.randn(len(rows), G.c.z_dim, generator=gen), rows)
    return bench_cgan_mlp.mlp_sampler(bench_cgan_mlp.load(path)[0])


@torch.no_grad()
def per_condition(sampler, judge, vocab: AttributeVocab, test_x, test_idx, per_value: int = 100, seed: int = 0):
    """Per attribute value: generated accuracy (per_value samples, other attributes as in the test rows of that
    value), real accuracy (the test images of that value), their ratio; and the worst value by ratio."""
    rng = np.random.default_rng(seed)
    _, real_pred = gan_eval.judge_outputs(judge, gan_eval.uint8_batch_to_tensor(test_x))
    out = {}
    for k, attribute in enumerate(vocab.attributes):
        rows = {}
        for v in range(1, vocab.sizes()[k]):
            have = np.flatnonzero(test_idx[:, k] == v)
            if len(have) < 5:
                continue
            conds = test_idx[rng.choice(have, per_value)]
            _, pred = gan_eval.judge_outputs(judge, gan_eval.generate(sampler, conds, seed=seed + v))
            gen_acc = float((pred[attribute] == v).mean())
            real_acc = float((real_pred[attribute][have] == v).mean())
            rows[vocab.allowed(attribute)[v - 1]] = {"generated": round(gen_acc, 3), "real": round(real_acc, 3),
                                                     "ratio": round(gen_acc / real_acc, 3) if real_acc else None,
                                                     "test_images": int(len(have))}
        rated = {name: r for name, r in rows.items() if r["ratio"] is not None}
        worst = min(rated, key=lambda name: rated[name]["ratio"]) if rated else None
        out[attribute] = {"values": rows, "worst": worst, "worst_ratio": rated[worst]["ratio"] if worst else None,
                          "worst_generated": min(r["generated"] for r in rows.values()) if rows else None}
    return out


def sample_panel(sampler, vocab: AttributeVocab, title: str, cell: tuple[int, int], columns: int = 6,
                 seed: int = 0) -> Image.Image:
    """Rows: categories; columns: colours (colour settings) or samples; the same z down a column."""
    category, colour = vocab.attributes[0], vocab.attributes[1] if len(vocab.attributes) > 1 else None
    rows, labels = [], []
    for value in vocab.allowed(category):
        attrs = [{category: value, **({colour: c} if colour else {})}
                 for c in (vocab.allowed(colour)[:columns] if colour else [None] * columns)]
        idx = np.array([vocab.encode(a) for a in attrs])
        rows.append([tensor_to_pil(x) for x in gan_eval.generate(sampler, idx, seed=seed)])
        labels.append(value)
    head = f"{title}: columns " + (", ".join(vocab.allowed(colour)[:columns]) if colour else "are samples")
    return gan_eval.draw_sheet(rows, labels, head, cell)


def cmd_report(args) -> None:
    d = load_setting(args.setting, args.data, args.seed)
    vocab = setting_vocab(d)
    judge, judge_vocab = ml_judge.from_checkpoint(judge_path(args.out, args.setting))
    assert judge_vocab.values == vocab.values, "the judge was trained on another vocabulary"
    folder = args.out / args.setting
    test_idx = np.array(vocab.encode_many(d["test_labels"]))
    floor_idx = np.array(vocab.encode_many(d["floor_labels"]))
    result = {"setting": args.setting, "train_images": len(d["train_x"]), "test_images": len(d["test_x"]),
              "size": list(d["train_x"].shape[1:]), "command": " ".join(sys.argv), "models": {}}
    panels = []
    cell = (48, 64) if d["train_x"].shape[1] == 64 else (48, 48)
    names = [m for m in MODELS if (folder / f"{m}.safetensors").exists()] + (args.variants or [])
    for name in names:
        figures = json.loads((folder / f"{name}_train.json").read_text())
        model = figures["model"]
        sampler = load_sampler(model, folder / f"{name}.safetensors")
        ev = gan_eval.evaluate(sampler, judge, d["floor_x"], floor_idx, d["test_x"], test_idx, n=args.n,
                               seed=args.seed)
        figures.update(evaluation=ev, per_condition=per_condition(sampler, judge, vocab, d["test_x"], test_idx,
                                                                  seed=args.seed))
        result["models"][name] = figures
        if name in MODELS:
            panels.append(sample_panel(sampler, vocab, model, cell))
        print(name, json.dumps({"accuracy": ev["accuracy"], "fid_ratio": ev["fid_ratio_to_floor"],
                                 "worst": {a: (p["worst"], p["worst_ratio"])
                                           for a, p in figures["per_condition"].items()}}), flush=True)
    models = result["models"]
    if "gan" in models and "mlp" in models:
        result["gan_fid_over_mlp"] = round(models["gan"]["evaluation"]["fid"] / models["mlp"]["evaluation"]["fid"], 3)
    if "gan" in models and "dcgan" in models:
        result["gan_fid_over_dcgan"] = round(models["gan"]["evaluation"]["fid"]
                                             / models["dcgan"]["evaluation"]["fid"], 3)
    (folder / "result.json").write_text(json.dumps(result, indent=2))
    if panels:
        sheet = Image.new("RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1), max(p.height for p in panels)),
                          "white")
        x = 0
        for p in panels:
            sheet.paste(p, (x, 0))
            x += p.width + 8
        sheet.save(folder / "grid.png", optimize=True)
    print(json.dumps({k: v for k, v in result.items() if k != "models"}), flush=True)


def cmd_table(args) -> None:
    """Markdown rows from every setting's result.json under --out: one row per model."""
    print("| setting | model | steps | images/CPU s | steps/CPU s | accuracy / evaluator's (per attribute) "
          "| worst condition (share of evaluator's) | FID / floor | FID / MLP's |")
    print("|---|---|---:|---:|---:|---|---|---:|---:|")
    for setting in ("a", "b", "c"):
        path = args.out / setting / "result.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        mlp = result["models"].get("mlp", {}).get("evaluation", {}).get("fid")
        for name, m in result["models"].items():
            ev = m["evaluation"]
            acc = ", ".join(f"{a} {v['ratio']:.2f}" for a, v in ev["accuracy"].items())
            worst = ", ".join(f"{p['worst']} {p['worst_ratio']:.2f}" for p in m["per_condition"].values())
            vs_mlp = f"{ev['fid'] / mlp:.2f}" if mlp else ""
            print(f"| {setting} | {name} | {m['steps']} | {m['images_per_cpu_s']} | {m['steps_per_cpu_s']} | {acc} "
                  f"| {worst} | {ev['fid_ratio_to_floor']:.1f} | {vs_mlp} |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("evaluator", "train", "report", "table"))
    p.add_argument("--setting", choices=("a", "b", "c"))
    p.add_argument("--model", choices=MODELS, default="gan")
    p.add_argument("--cpu-minutes", type=float, default=10.0)
    p.add_argument("--evaluator-minutes", type=float, default=4.0)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, default=Path("/tmp/gan_budget"))
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--gan-model", type=json.loads, default={}, help="GANConfig overrides on the auto plan, JSON")
    p.add_argument("--gan-train", type=json.loads, default={}, help="TrainConfig overrides on the auto plan, JSON")
    p.add_argument("--variants", nargs="*", help="report: also these --name runs (not in the grid)")
    p.add_argument("--name", help="file stem for this run's model (default: the model's name), for variants")
    p.add_argument("--snapshot-at", type=float, help="train: also export the run as it was after this many "
                   "CPU-minutes (for the baselines, whose rates do not depend on the budget), into --snapshot-out")
    p.add_argument("--snapshot-out", type=Path, help="train: the --out folder for --snapshot-at's export")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=200)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.action != "table" and not args.setting:
        p.error("--setting is required")
    if args.snapshot_at is not None and (args.model == "gan" or args.snapshot_out is None):
        p.error("--snapshot-at is for the baselines (the GAN's schedule depends on its budget) and needs --snapshot-out")
    {"evaluator": cmd_evaluator, "train": cmd_train, "report": cmd_report, "table": cmd_table}[args.action](args)


if __name__ == "__main__":
    main()
