"""The kinds prodimg knows, in one place: model kinds, job handlers and evaluations.

Each table is a `Registry`, one idiom for all (as django-imagekit's `registry.py`): register / unregister / get; a
name registered twice raises `AlreadyRegistered`, an unknown one `NotRegistered`, whose message lists the names
that are. An entry may be the object or its dotted path, imported on each `get`. `register_builtins()` fills them when the app is ready;
entries are dotted paths, imported when first used, so starting a web process imports no torch.

Adding a model kind is one registration (from your app's `AppConfig.ready()`, or here for a built-in one):

    from prodimg_plugin.kinds import ModelKind, model_kinds

    model_kinds.register("depth", ModelKind(
        loader="myshop.depth.DepthModel",                 # a class with from_checkpoint(path, device=, expected_sha256=)
        training="myshop.depth.DepthTraining",            # a prodimg_plugin.training.base.KindTraining, or None
        help="depth maps for shadows",
    ))

`manage.py prodimg_train depth` and `prodimg_models` then know it, and `weights.get_model("depth")` loads it.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Iterator, TypeVar

from django.utils.module_loading import import_string

# ---- the registry idiom --------------------------------------------------------------------------------------

T = TypeVar("T")


class AlreadyRegistered(Exception):
    """A name registered twice (unregister it first to replace it)."""


class NotRegistered(LookupError):
    """A name nobody registered; the message lists the names that are."""


class Registry(Generic[T]):
    """Names -> entries (objects or dotted paths to them) of one kind of extension."""

    def __init__(self, what: str):
        self.what = what  # how the messages call an entry: "job handler", "model kind", ...
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, entry: T | str | None = None):
        """Register `entry` under `name`; without `entry`, return a decorator that registers what it decorates."""
        if entry is None:
            def decorator(obj: T) -> T:
                self.register(name, obj)
                return obj
            return decorator
        if name in self._entries:
            raise AlreadyRegistered(f"{self.what} {name!r} is already registered; unregister it first to replace it")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        if name not in self._entries:
            raise NotRegistered(self._missing(name))
        del self._entries[name]

    def get(self, name: str) -> T:
        """The entry of `name` (a dotted path is imported now)."""
        try:
            entry = self._entries[name]
        except (KeyError, TypeError):
            raise NotRegistered(self._missing(name)) from None
        return import_string(entry) if isinstance(entry, str) else entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    @contextmanager
    def replaced(self, name: str, entry: T | str) -> Iterator[None]:
        """Register `entry` under `name` for the duration of a `with` block, in place of any entry there (tests)."""
        previous = self._entries.get(name)
        self._entries[name] = entry
        try:
            yield
        finally:
            if previous is None:
                self._entries.pop(name, None)
            else:
                self._entries[name] = previous

    def _missing(self, name) -> str:
        known = ", ".join(self.names()) or "none"
        return f"no {self.what} {name!r} is registered (registered: {known})"


# ---- the tables ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelKind:
    """What prodimg needs to know of a kind of model."""

    loader: str | type  # class (or its dotted path) with from_checkpoint(path, device=..., expected_sha256=...)
    training: str | type | None = None  # a training.base.KindTraining (or its path); None: not trained by prodimg_train
    help: str = ""

    def loader_class(self) -> type:
        return import_string(self.loader) if isinstance(self.loader, str) else self.loader

    def training_class(self) -> type | None:
        return import_string(self.training) if isinstance(self.training, str) else self.training


model_kinds: Registry[ModelKind] = Registry("model kind")
# job kind -> handler(job, image: PIL.Image, attributes: dict, progress: callable) -> list[Result]
# (generation/handler.py says what a handler is)
# (PRODIMG["JOB_HANDLERS"] replaces a built-in handler from the settings)
job_handlers: Registry = Registry("job handler")
# evaluation name -> evaluation.base.Evaluation (run, format, add_arguments, help) for `prodimg_eval <name>`
evaluations: Registry = Registry("evaluation")

BUILTIN_MODEL_KINDS = {
    "gan": ModelKind("ml.variants.VariantGenerator", "prodimg_plugin.training.gan.GanTraining",
                     "variants: colourways and design variations"),
    "cvae": ModelKind("ml.edits.AttributeEditor", "prodimg_plugin.training.cvae.CvaeTraining", "attribute edits"),
    "sr": ModelKind("ml.upscale.Upscaler", "prodimg_plugin.training.sr.SrTraining", "2x super-resolution"),
    "mask": ModelKind("ml.masker.ProductMasker", "prodimg_plugin.training.mask.MaskTraining",
                      "product mask: background removal, recolouring inside the product"),
    "evaluator": ModelKind("ml.judge.Judge", None,
                           "confidence of generated images (trained by `prodimg_eval gan` or `cvae`)"),
}
BUILTIN_JOB_HANDLERS = {
    "variants": "prodimg_plugin.generation.variants.make_variants",
    "edits": "prodimg_plugin.generation.edits.make_edits",
    "enhance": "prodimg_plugin.generation.enhance.make_enhanced",
}
BUILTIN_EVALUATIONS = {
    "recommender": "prodimg_plugin.evaluation.recommender.RECOMMENDER",
    "gan": "prodimg_plugin.evaluation.gan.GAN",
    "cvae": "prodimg_plugin.evaluation.cvae.CVAE",
}

_filled = False


def register_builtins() -> None:
    """Fill the tables with prodimg's own kinds (once per process; called by the app's ready())."""
    global _filled
    if _filled:
        return
    _filled = True
    for name, kind in BUILTIN_MODEL_KINDS.items():
        model_kinds.register(name, kind)
    for name, handler in BUILTIN_JOB_HANDLERS.items():
        job_handlers.register(name, handler)
    for name, evaluation in BUILTIN_EVALUATIONS.items():
        evaluations.register(name, evaluation)


def trainable() -> list[str]:
    """The model kinds `prodimg_train` can train."""
    return [name for name in model_kinds.names() if model_kinds.get(name).training is not None]
