"""Helpers for the bundle-checking tests: copies of the shipped bundles, damaged on purpose
with their manifests' sha256 recomputed (so only the checks past the hash can catch them)."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from motion_tokens.core.codecs.registry import MODELS_DIR
from safetensors.numpy import load_file, save_file

MANIFEST, WEIGHTS = "manifest.json", "weights.safetensors"
HAS_SHIPPED = (MODELS_DIR / "kmeans-6-body" / MANIFEST).is_file()


def copy_bundle(models: Path, name: str) -> Path:
    """A copy of the shipped bundle `name` (e.g. 'kmeans-6-body') in the models folder."""
    models.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(MODELS_DIR / name, models / name))


def rehash(folder: Path) -> None:
    """Set the manifest's sha256 of the weights to the file's (hashlib), as a forger would."""
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["files"][WEIGHTS] = hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()
    (folder / MANIFEST).write_text(json.dumps(manifest))


def edit_manifest(folder: Path, **fields) -> None:
    """Set (or, for a value of None, remove) manifest fields."""
    manifest = json.loads((folder / MANIFEST).read_text())
    for key, value in fields.items():
        if value is None:
            manifest.pop(key, None)
        else:
            manifest[key] = value
    (folder / MANIFEST).write_text(json.dumps(manifest))


def edit_tensors(folder: Path, change) -> None:
    """Rewrite the weights with change(tensors) applied (a dict edited in place), rehashed."""
    tensors = {k: np.array(v) for k, v in load_file(str(folder / WEIGHTS)).items()}
    change(tensors)
    save_file(tensors, str(folder / WEIGHTS))
    rehash(folder)
