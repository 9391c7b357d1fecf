"""Training data: the host catalogue through the plugin, or a folder + labels CSV (benchmarks)."""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ml import images as ml_images
from prodimg_plugin.host import attributes_of, get_image_model
from prodimg_plugin.images import BadSourceImage, open_source

log = logging.getLogger(__name__)


@dataclass
class Dataset:
    images: np.ndarray  # uint8 (n, h, w, c) at the model's size
    labels: dict[str, list[str]]  # attribute -> one value per image
    skipped: list[str]  # why some images were left out


def from_catalogue(height: int, width: int, channels: int = 3, limit: int | None = None,
                   progress=None) -> Dataset:
    """Every host product image, fitted to (height, width), with the attributes hook's labels."""
    qs = get_image_model()._default_manager.order_by("pk")
    if limit:
        qs = qs[:limit]
    arrays, rows, skipped = [], [], []
    for image in qs.iterator(chunk_size=200):
        try:
            pil = open_source(image)
        except BadSourceImage as exc:
            skipped.append(str(exc))
            continue
        arrays.append(_array(ml_images.fit(pil, height, width, channels)))
        rows.append(attributes_of(image))
        if progress:
            progress(len(arrays))
    return Dataset(_stack(arrays, height, width, channels), _columns(rows), skipped)


def from_folder(folder: str | Path, labels_csv: str | Path, attributes: list[str], height: int, width: int,
                channels: int = 3, image_column: str = "original", split: str | None = "train",
                limit: int | None = None) -> Dataset:
    """Images named in a CSV column, relative to `folder`; attribute columns as labels; rows of `split` only."""
    folder = Path(folder)
    arrays, rows, skipped = [], [], []
    with open(labels_csv, newline="") as fh:
        for row in csv.DictReader(fh):
            if split and row.get("split", split) != split:
                continue
            name = row.get(image_column) or ""
            path = folder / name
            if not name or not path.is_file():
                continue
            try:
                with Image.open(path) as im:
                    arrays.append(_array(ml_images.fit(im, height, width, channels)))
            except OSError as exc:
                skipped.append(f"{name}: {exc}")
                continue
            rows.append({a: str(row.get(a, "")).strip().lower() for a in attributes})
            if limit and len(arrays) >= limit:
                break
    return Dataset(_stack(arrays, height, width, channels), _columns(rows), skipped)


def _array(pil: Image.Image) -> np.ndarray:
    arr = np.asarray(pil, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def _stack(arrays, height, width, channels) -> np.ndarray:
    return np.stack(arrays) if arrays else np.zeros((0, height, width, channels), np.uint8)


def _columns(rows: list[dict]) -> dict[str, list[str]]:
    keys = sorted({k for r in rows for k in r})
    return {k: [r.get(k, "") for r in rows] for k in keys}
