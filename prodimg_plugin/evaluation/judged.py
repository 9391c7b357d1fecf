"""What the evaluations judged by the evaluator classifier share (gan, cvae): their options, the catalogue's
train / held-out split, and the evaluator itself (loaded, or trained and registered)."""
from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ml import checkpoint, evaluator_train
from ml import judge as ml_judge
from ml.images import fit
from ml.vocab import AttributeVocab
from prodimg_plugin import weights
from prodimg_plugin.evaluation.base import EvaluationError
from prodimg_plugin.host import attributes_of, get_image_model
from prodimg_plugin.images import BadSourceImage, open_source
from prodimg_plugin.models import ModelVersion
from prodimg_plugin.training import datasets


@dataclass
class Sample:
    image: Image.Image  # the original, full resolution
    attrs: dict[str, str]


@dataclass
class JudgedEvalOptions:
    """What every evaluation judged by the evaluator classifier needs: the data, its split, the evaluator."""

    out_dir: Path = Path("artifacts/eval")
    from_folder: Path | None = None  # benchmark catalogue: images named in --labels, split column train / test
    labels: Path | None = None
    attributes: list[str] = field(default_factory=lambda: ["articleType", "baseColour"])
    image_column: str = "original"
    test_split: str = "test"
    evaluator: Path | None = None  # reuse this evaluator checkpoint when it exists; else train and write it
    evaluator_minutes: float = 1.0
    evaluator_size: tuple[int, int] = (64, 48)  # (height, width) the evaluator judges at, whatever the model's
    seed: int = 0


def judged_arguments(parser, defaults: JudgedEvalOptions, out_help: str, split_help: str) -> None:
    """The command-line options of JudgedEvalOptions' fields (a kind adds its own after these)."""
    d = defaults
    parser.add_argument("--out", type=Path, default=d.out_dir, help=f"{out_help} (default {d.out_dir})")
    parser.add_argument("--from-folder", type=Path,
                        help="a folder of images named in --labels (default: the catalogue)")
    parser.add_argument("--labels", type=Path, help="CSV with the image column, the attributes and a split column")
    parser.add_argument("--attributes", default=",".join(d.attributes), help="CSV columns the model was trained on")
    parser.add_argument("--image-column", default=d.image_column)
    parser.add_argument("--test-split", default=d.test_split, help=split_help)
    parser.add_argument("--evaluator", type=Path, help="reuse this evaluator checkpoint if it exists, else write it")
    parser.add_argument("--evaluator-minutes", type=float, default=d.evaluator_minutes)
    parser.add_argument("--seed", type=int, default=d.seed)


def judged_options(options: dict) -> dict:
    """Parsed command-line options -> JudgedEvalOptions' keyword arguments; bad combinations are refused."""
    if options.get("from_folder") and not options.get("labels"):
        raise EvaluationError("--from-folder needs --labels CSV")
    return dict(out_dir=options["out"], from_folder=options.get("from_folder"), labels=options.get("labels"),
                attributes=[a.strip() for a in options["attributes"].split(",") if a.strip()],
                image_column=options["image_column"], test_split=options["test_split"],
                evaluator=options.get("evaluator"), evaluator_minutes=options["evaluator_minutes"],
                seed=options["seed"])


def catalogue_splits(height: int, width: int, channels: int) -> tuple[datasets.Dataset, list[Sample]]:
    """Every fifth host image (by pk) held out as a full-size original; the rest as training thumbnails."""
    arrays, rows, samples, skipped = [], [], [], []
    for image in get_image_model()._default_manager.order_by("pk").iterator(chunk_size=200):
        try:
            pil, attrs = open_source(image), attributes_of(image)
        except BadSourceImage as exc:
            skipped.append(str(exc))
            continue
        if image.pk % 5 == 0:
            samples.append(Sample(pil, attrs))
        else:
            arrays.append(np.asarray(fit(pil, height, width, channels)).reshape(height, width, channels))
            rows.append(attrs)
    images = np.stack(arrays) if arrays else np.zeros((0, height, width, channels), np.uint8)
    labels = {a: [r.get(a, "") for r in rows] for a in sorted({k for r in rows for k in r})}
    return datasets.Dataset(images, labels, skipped), samples


def load_or_train_evaluator(opts: JudgedEvalOptions, train: datasets.Dataset, vocab: AttributeVocab, say):
    """The evaluator classifier: the given checkpoint when it exists with this vocabulary, else trained now."""
    path = Path(opts.evaluator or opts.out_dir / "evaluator.safetensors")
    if opts.evaluator and path.exists():
        model, saved = ml_judge.from_checkpoint(path)
        if saved.values == vocab.values:
            say(f"Evaluator loaded from {path}.")
            return model, path
    say(f"Training the evaluator for {opts.evaluator_minutes} min on the train split.")
    idx = np.array(vocab.encode_many(train.labels)) if train.labels else np.zeros((len(train.images), 0))
    model = evaluator_train.train_classifier(train.images, idx, vocab, epochs=None,
                                             minutes=opts.evaluator_minutes, seed=opts.seed + 1)
    evaluator_train.export(model, vocab, path)
    register_evaluator(path, {"train_images": len(train.images), "minutes": opts.evaluator_minutes}, say)
    return model, path


def register_evaluator(path: Path, metrics: dict, say) -> None:
    """Register a freshly trained evaluator as the active ModelVersion of kind "evaluator" when none is active,
    so that every generated image gets a confidence (services.confidence); an active one is left in place."""
    active = ModelVersion.objects.filter(kind=ModelVersion.Kind.EVALUATOR, active=True).first()
    if active is not None:
        say(f"Evaluator written to {path}; {active} stays the one that scores generated images.")
        return
    _, meta = checkpoint.load(path)
    version = weights.register_weights(
        ModelVersion.Kind.EVALUATOR, Path(path).read_bytes(), name=f"prodimg_eval {path.name}",
        config={"model": meta["config"], "vocab": meta["vocab"]}, metrics=metrics, command=_command_line())
    say(f"Registered the evaluator as {version}: it now scores every generated image.")


def _command_line() -> str:
    """The command that is running, as recorded on a ModelVersion."""
    return "manage.py " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["prodimg_eval"] else "manage.py prodimg_eval"


def train_evaluator(path: Path, cpu_minutes: float, seed: int = 0, command: str = "", on_step=None):
    """Train the evaluator classifier on the whole catalogue (64x48) within `cpu_minutes` of this process's CPU
    time, write it to `path` and make it the active evaluator (it scores every generated image from now on)."""
    data = datasets.from_catalogue(64, 48, 3)
    if len(data.images) == 0:
        raise EvaluationError("no readable product photos to train the evaluator on")
    vocab = AttributeVocab.build(data.labels, min_count=2, max_values=48)
    idx = np.array(vocab.encode_many(data.labels)) if data.labels else np.zeros((len(data.images), 0))
    model = evaluator_train.train_classifier(data.images, idx, vocab, epochs=None, cpu_minutes=cpu_minutes,
                                             seed=seed, callback=on_step)
    evaluator_train.export(model, vocab, path)
    _, meta = checkpoint.load(path)
    return weights.register_weights(
        ModelVersion.Kind.EVALUATOR, Path(path).read_bytes(), name=f"evaluator on {len(data.images)} photos",
        config={"model": meta["config"], "vocab": meta["vocab"]},
        metrics={"train_images": len(data.images), "cpu_minutes": cpu_minutes}, command=command)
