"""Image features for the recommender: one fixed-length vector per candidate image, cached in ImageFeatures.

A vector is [unit-norm embedding, hashed one-hot attributes]; the recommender appends an is-original flag.
The embedding is the active CVAE's posterior mean (`AttributeEditor.embed`) when a CVAE version is active,
otherwise a colour histogram of the photo's non-background pixels, which the project computes itself.
Attributes are hashed into PRODIMG["FEATURE_ATTRIBUTE_BUCKETS"] slots, so any shop's attribute values fit a
fixed length without a vocabulary to keep in step with the catalogue.

Candidates are named by keys: "s<id>" for a host image (an original photo), "g<id>" for a GeneratedImage.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ml.recommender import colour_histogram, image_vector
from prodimg_plugin import weights
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.host import attributes_of, get_image_model
from prodimg_plugin.images import BadSourceImage, open_image_bytes, open_source
from prodimg_plugin.models import GeneratedImage, ImageFeatures, ModelVersion
from prodimg_plugin.storefront.candidates import generated_attributes
from prodimg_plugin.storefront.context import generated_key, parse_key, source_key

log = logging.getLogger(__name__)

SPACE_TTL_SECONDS = 30.0  # how often a process re-reads which CVAE (if any) is active
MEMORY_LIMIT = 100_000  # vectors held per process before the memory cache starts over

_memory: dict[tuple[str, str], np.ndarray] = {}
_space_memo: dict[str, object] = {}


@dataclass(frozen=True)
class FeatureSpace:
    """Which embedding the vectors come from; vectors of different spaces are never mixed."""

    name: str  # e.g. "hist3-h32" or "cvae7-h32"
    cvae: ModelVersion | None = None

    def accepts(self, row: ImageFeatures) -> bool:
        """Whether a stored row was computed in this space."""
        if self.cvae is not None:
            return row.model_version_id == self.cvae.pk
        dim = prodimg_settings.FEATURE_HISTOGRAM_BINS ** 3 + prodimg_settings.FEATURE_ATTRIBUTE_BUCKETS
        return row.model_version_id is None and len(row.vector) == dim


def current_space() -> FeatureSpace:
    """The space vectors are computed in now (re-read every SPACE_TTL_SECONDS per process)."""
    now = time.monotonic()
    if _space_memo and now - _space_memo["at"] < SPACE_TTL_SECONDS:
        return _space_memo["space"]
    cvae = ModelVersion.objects.filter(kind=ModelVersion.Kind.CVAE, active=True).first()
    buckets = prodimg_settings.FEATURE_ATTRIBUTE_BUCKETS
    name = f"cvae{cvae.pk}-h{buckets}" if cvae else f"hist{prodimg_settings.FEATURE_HISTOGRAM_BINS}-h{buckets}"
    _space_memo.update(at=now, space=FeatureSpace(name, cvae))
    return _space_memo["space"]


def clear_cache() -> None:
    """Forget vectors and the feature space held in this process (tests, after activating a CVAE)."""
    _memory.clear()
    _space_memo.clear()


# ----------------------------------------------------------------------------- keys


# ----------------------------------------------------------------------------- attributes and vectors


def attribute_vector(attrs: dict[str, str], buckets: int) -> np.ndarray:
    """Hashed one-hot attributes (buckets,): one 1 per attribute, at a slot fixed by "name=value"."""
    out = np.zeros(buckets)
    for name, value in attrs.items():
        digest = hashlib.blake2b(f"{name}={value}".encode(), digest_size=4).digest()
        out[int.from_bytes(digest, "little") % buckets] += 1.0
    return out


def embedding(picture, attrs: dict[str, str], space: FeatureSpace) -> np.ndarray:
    """The image embedding of a PIL image in `space`."""
    if space.cvae is not None:
        editor = weights.load(space.cvae)
        return np.asarray(editor.embed(picture, attrs), dtype=np.float64)
    thumb = picture.convert("RGB")
    thumb.thumbnail((64, 64))
    return colour_histogram(np.asarray(thumb), bins=prodimg_settings.FEATURE_HISTOGRAM_BINS)


def compute(picture, attrs: dict[str, str], space: FeatureSpace) -> np.ndarray:
    """[unit-norm embedding, hashed attributes] of one image."""
    emb = image_vector(embedding(picture, attrs, space))
    return np.concatenate([emb, attribute_vector(attrs, prodimg_settings.FEATURE_ATTRIBUTE_BUCKETS)])


# ----------------------------------------------------------------------------- cached lookup

def vectors(keys: Iterable[str]) -> dict[str, np.ndarray]:
    """Vectors of candidate keys, from process memory, then ImageFeatures, then computed (and stored).

    An image that cannot be read is left out (and logged), so a broken file costs a candidate, not the page.
    """
    space = current_space()
    out, missing = {}, []
    for key in dict.fromkeys(keys):
        hit = _memory.get((space.name, key))
        if hit is None:
            missing.append(key)
        else:
            out[key] = hit
    if missing:
        found = _load_or_compute(space, missing)
        if len(_memory) + len(found) > MEMORY_LIMIT:
            _memory.clear()
        _memory.update({(space.name, k): v for k, v in found.items()})
        out.update(found)
    return out


def _load_or_compute(space: FeatureSpace, keys: list[str]) -> dict[str, np.ndarray]:
    ids = {"s": [], "g": []}
    for key in keys:
        kind, pk = parse_key(key)
        ids[kind].append(pk)
    out = _stored(space, ids)
    todo_s = [pk for pk in ids["s"] if source_key(pk) not in out]
    todo_g = [pk for pk in ids["g"] if generated_key(pk) not in out]
    out.update(_compute_sources(space, todo_s))
    out.update(_compute_generated(space, todo_g))
    return out


def _stored(space: FeatureSpace, ids: dict[str, list[int]]) -> dict[str, np.ndarray]:
    rows = list(ImageFeatures.objects.filter(generated__isnull=True, source_id__in=ids["s"]))
    rows += list(ImageFeatures.objects.filter(generated_id__in=ids["g"]))
    out = {}
    for row in rows:
        if space.accepts(row):
            key = generated_key(row.generated_id) if row.generated_id else source_key(row.source_id)
            out[key] = np.asarray(row.vector, dtype=np.float64)
    return out


def _compute_sources(space: FeatureSpace, pks: list[int]) -> dict[str, np.ndarray]:
    out = {}
    for image in get_image_model()._default_manager.filter(pk__in=pks):
        try:
            vec = compute(open_source(image), attributes_of(image), space)
        except BadSourceImage as exc:
            log.warning("no recommender features for product image %s: %s", image.pk, exc)
            continue
        _save(space, vec, source=image)
        out[source_key(image.pk)] = vec
    return out


def _compute_generated(space: FeatureSpace, pks: list[int]) -> dict[str, np.ndarray]:
    out = {}
    for generated in GeneratedImage.objects.filter(pk__in=pks).select_related("source"):
        try:
            with generated.image.open("rb") as fh:
                picture = open_image_bytes(fh.read(), f"generated image {generated.pk}")
            vec = compute(picture, generated_attributes(generated), space)
        except (BadSourceImage, OSError, ValueError) as exc:
            log.warning("no recommender features for generated image %s: %s", generated.pk, exc)
            continue
        _save(space, vec, generated=generated)
        out[generated_key(generated.pk)] = vec
    return out


def _save(space: FeatureSpace, vec: np.ndarray, source=None, generated=None) -> None:
    values = {"vector": [round(float(v), 6) for v in vec], "model_version": space.cvae}
    if generated is not None:
        ImageFeatures.objects.update_or_create(generated=generated, defaults=values)
    else:
        ImageFeatures.objects.update_or_create(source=source, generated=None, defaults=values)
