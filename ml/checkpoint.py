"""Checkpoints without pickle: safetensors tensors plus JSON metadata (config, vocabulary, anything small).

A checkpoint file alone is enough to rebuild its model: the config travels inside it. `load` refuses a file
whose sha256 differs from the one recorded when it was made (a tampered or truncated weights file).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

FORMAT_VERSION = "1"


class CheckpointError(Exception):
    """A weights file that is missing, damaged, tampered with or of the wrong kind."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dumps(tensors: dict[str, torch.Tensor], meta: dict) -> bytes:
    """Serialise tensors and JSON-able metadata to safetensors bytes."""
    flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    header = {"format_version": FORMAT_VERSION, "meta": json.dumps(meta, sort_keys=True)}
    return st_save(flat, metadata=header)


def loads(data: bytes, expected_sha256: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Parse safetensors bytes made by `dumps`; check the sha256 first when one is given."""
    if expected_sha256 and sha256_bytes(data) != expected_sha256:
        raise CheckpointError("weights file does not match its recorded sha256 (tampered or truncated)")
    try:
        tensors = st_load(data)
        header = _read_metadata(data)
    except (SafetensorError, ValueError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"weights file is not a valid prodimg checkpoint: {exc}") from exc
    return tensors, json.loads(header.get("meta", "{}"))


def _read_metadata(data: bytes) -> dict:
    if len(data) < 8:
        raise ValueError("file too short")
    n = int.from_bytes(data[:8], "little")
    if n <= 0 or 8 + n > len(data):
        raise ValueError("bad header length")
    return json.loads(data[8 : 8 + n]).get("__metadata__", {})


def save(path: str | os.PathLike, tensors: dict[str, torch.Tensor], meta: dict) -> str:
    """Write a checkpoint atomically; return its sha256."""
    data = dumps(tensors, meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return sha256_bytes(data)


def load(path: str | os.PathLike, expected_sha256: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a checkpoint written by `save`."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise CheckpointError(f"weights file not found: {path}") from exc
    return loads(data, expected_sha256)


def state_dict_with_prefix(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """`module.state_dict()` with every key under `prefix.` (several modules share one file)."""
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_prefixed(module: torch.nn.Module, prefix: str, tensors: dict[str, torch.Tensor]) -> None:
    """Load the `prefix.` part of a flat tensor dict into `module` (strict)."""
    cut = len(prefix) + 1
    module.load_state_dict({k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")})
