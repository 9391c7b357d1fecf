"""Model versions: which weights are active, loading them once per worker process, bundled defaults."""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Callable

from django.core.files.base import ContentFile
from django.db import transaction

from ml.checkpoint import CheckpointError, sha256_bytes

from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.models import ModelVersion

log = logging.getLogger(__name__)

_cache: dict[tuple, object] = {}
_lock = threading.Lock()

# kind -> "module.Class" with a from_checkpoint(path, device=..., expected_sha256=...) classmethod
LOADERS = {
    "gan": "ml.variants.VariantGenerator",
    "cvae": "ml.edits.AttributeEditor",
    "sr": "ml.upscale.Upscaler",
    "mask": "ml.masker.ProductMasker",
    "evaluator": "ml.judge.Judge",
}


class ModelUnavailable(Exception):
    """No usable weights for a kind: nothing trained, nothing bundled, or a damaged file."""


def device() -> str:
    wanted = prodimg_settings.DEVICE
    if wanted != "auto":
        return wanted
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def active_version(kind: str) -> ModelVersion:
    """The active version of a kind, registering the bundled default the first time none exists."""
    version = ModelVersion.objects.filter(kind=kind, active=True).first()
    if version is None:
        version = register_bundled(kind)
    if version is None:
        raise ModelUnavailable(
            f"No active {kind} model. Train one with `manage.py prodimg_train {kind}` "
            f"or activate a version in the admin."
        )
    return version


def register_bundled(kind: str) -> ModelVersion | None:
    """Copy <BUNDLED_WEIGHTS_DIR>/<kind>.safetensors into storage as the active version, if present."""
    folder = prodimg_settings.BUNDLED_WEIGHTS_DIR
    path = Path(folder) / f"{kind}.safetensors" if folder else None
    if path is None or not path.exists():
        return None
    info_path = path.with_suffix(".json")
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    log.info("registering bundled %s weights from %s", kind, path)
    return register_weights(kind, path.read_bytes(), name=f"bundled {path.name}", activate=True,
                            config=info.get("config", {}), metrics=info.get("metrics", {}),
                            command=info.get("command", ""))


def register_weights(kind: str, data: bytes, *, name: str = "", activate: bool = True, config=None,
                     metrics=None, command: str = "") -> ModelVersion:
    """Store a weights file and record it as a ModelVersion (optionally the active one)."""
    version = ModelVersion(kind=kind, name=name, sha256=sha256_bytes(data), config=config or {},
                           metrics=metrics or {}, command=command)
    version.weights.save(f"{kind}-{version.sha256[:12]}.safetensors", ContentFile(data), save=False)
    with transaction.atomic():
        if activate:
            ModelVersion.objects.filter(kind=kind, active=True).update(active=False)
        version.active = activate
        version.save()
    return version


def activate(version: ModelVersion) -> None:
    with transaction.atomic():
        ModelVersion.objects.filter(kind=version.kind, active=True).exclude(pk=version.pk).update(active=False)
        ModelVersion.objects.filter(pk=version.pk).update(active=True)
    version.active = True


def load(version: ModelVersion):
    """The loaded model of a version; loaded once per process (cache keyed by version and sha256)."""
    key = (version.kind, version.pk, version.sha256)
    with _lock:
        if key not in _cache:
            _cache[key] = _load_uncached(version)
        return _cache[key]


def _load_uncached(version: ModelVersion):
    from django.utils.module_loading import import_string

    loader = import_string(LOADERS[version.kind])
    try:
        with version.weights.open("rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError) as exc:
        raise ModelUnavailable(f"weights file of {version} is missing from storage: {exc}") from exc
    if sha256_bytes(data) != version.sha256:
        raise CheckpointError(f"weights file of {version} does not match its recorded sha256 (tampered or truncated)")
    _set_threads()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "weights.safetensors")
        Path(path).write_bytes(data)
        return loader.from_checkpoint(path, device=device(), expected_sha256=version.sha256)


def _set_threads() -> None:
    threads = prodimg_settings.TORCH_THREADS
    if threads:
        import torch

        torch.set_num_threads(int(threads))


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def get_model(kind: str):
    """(version, loaded model) of the active version of a kind."""
    version = active_version(kind)
    return version, load(version)


Loader = Callable[[ModelVersion], object]


def optional_model(kind: str):
    """The loaded active model of a kind, or None when none is trained or bundled (for models that only help,
    like the product mask that keeps a recolour inside the product)."""
    try:
        return get_model(kind)[1]
    except ModelUnavailable:
        return None
