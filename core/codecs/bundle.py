"""Model bundles: a folder with `manifest.json` and `weights.safetensors` (DESIGN.md).

Loading checks the manifest against its one schema (manifest_schema.py: every field's type and
range), verifies the sha256 of every file the manifest lists and refuses a mismatch; nothing is
ever unpickled (weights are read with safetensors' numpy API, so no torch is needed to load).
The bitrate is computed from the manifest (log2(k), or Q * log2(D), bits per latent, divided by
`frames_per_latent`, 1 when absent), never stored as a figure.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BundleError
from .manifest_schema import FORMAT_VERSION, check_manifest

MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def bits_per_latent(manifest: dict) -> float:
    """log2(k) for a single codebook of k entries, Q * log2(D) for Q residual codebooks of D:
    the bits of one row of tokens."""
    if "k" in manifest:
        return math.log2(int(manifest["k"]))
    if "D" in manifest and "Q" in manifest:
        return int(manifest["Q"]) * math.log2(int(manifest["D"]))
    raise KeyError("the manifest gives neither k nor D and Q")


def frames_per_latent(manifest: dict) -> int:
    """Frames one row of tokens codes: the manifest's `frames_per_latent`, 1 when absent."""
    return int(manifest.get("frames_per_latent", 1))


def bits_per_frame(manifest: dict) -> float:
    """bits_per_latent / frames_per_latent."""
    return bits_per_latent(manifest) / frames_per_latent(manifest)


def bits_per_second(manifest: dict) -> float:
    """bits_per_latent x fps / frames_per_latent (fps 30 when absent)."""
    return bits_per_frame(manifest) * float(manifest.get("fps", 30))


@dataclass(frozen=True)
class Bundle:
    """A verified bundle: its folder and parsed manifest."""

    folder: Path
    manifest: dict

    @property
    def name(self) -> str:
        return self.manifest["name"]

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def family(self) -> str:
        return self.manifest["family"]

    @property
    def fps(self) -> float:
        return float(self.manifest.get("fps", 30))

    @property
    def weights_sha256(self) -> str:
        """The verified sha256 of the weights file: what identifies a codebook in tokens files."""
        return self.manifest["files"][WEIGHTS]

    def bits_per_frame(self) -> float:
        try:
            return bits_per_frame(self.manifest)
        except (KeyError, ValueError) as exc:
            raise BundleError(self.folder / MANIFEST, f"cannot compute the bitrate: {exc}") from None

    def bits_per_second(self) -> float:
        return self.bits_per_frame() * self.fps

    @property
    def frames_per_latent(self) -> int:
        return frames_per_latent(self.manifest)

    def tensors(self) -> dict[str, np.ndarray]:
        """The weights as numpy arrays (safetensors, no unpickling); arrays stored as float16
        (to halve a large bundle) come back as float32, which holds them exactly."""
        from safetensors.numpy import load_file

        path = self.folder / WEIGHTS
        try:
            tensors = load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types for damaged headers
            raise BundleError(path, f"cannot be read as safetensors ({exc})") from None
        return {k: v.astype(np.float32) if v.dtype == np.float16 else v for k, v in tensors.items()}


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise BundleError(path, "no manifest.json: not a model bundle folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(path, f"is not valid JSON ({exc})") from None
    check_manifest(path, manifest)
    if WEIGHTS not in manifest["files"]:
        raise BundleError(path, f"'files' must map {WEIGHTS} (and any other file) to its sha256")
    return manifest


def load_bundle(folder: str | os.PathLike) -> Bundle:
    """Read and verify a bundle: manifest fields, then the sha256 of every listed file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BundleError(folder, "no such bundle folder")
    manifest = _read_manifest(folder)
    for name, expected in manifest["files"].items():
        path = folder / name
        if Path(name).name != name:
            raise BundleError(folder / MANIFEST, f"file name {name!r} must not contain a folder")
        if not path.is_file():
            raise BundleError(path, "is listed in the manifest but missing")
        actual = sha256_of(path)
        if actual != expected:
            raise BundleError(
                path,
                f"sha256 {actual[:12]}... does not match the manifest's {str(expected)[:12]}...: "
                "the file was changed or damaged; reinstall the bundle",
            )
    return Bundle(folder, manifest)


def write_bundle(folder: str | os.PathLike, manifest: dict, tensors: dict[str, np.ndarray]) -> Bundle:
    """Write weights and manifest (with the files' sha256 filled in) and return the bundle.

    Both files are written to temporary names first and renamed, so a failure leaves an
    existing bundle as it was.
    """
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    temps = []
    try:
        fd, tmp_weights = tempfile.mkstemp(dir=folder, suffix=".safetensors.tmp")
        os.close(fd)
        temps.append(tmp_weights)
        save_file(arrays, tmp_weights)
        manifest = dict(manifest, format=FORMAT_VERSION, files={WEIGHTS: sha256_of(tmp_weights)})
        fd, tmp_manifest = tempfile.mkstemp(dir=folder, suffix=".json.tmp")
        temps.append(tmp_manifest)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp_weights, folder / WEIGHTS)
        os.replace(tmp_manifest, folder / MANIFEST)
    finally:
        for tmp in temps:
            if os.path.exists(tmp):
                os.remove(tmp)
    return load_bundle(folder)


def bundle_folders(models_dir: str | os.PathLike) -> list[Path]:
    """The folders directly under `models_dir` that hold a manifest, sorted by name (none
    when `models_dir` is not a folder); not yet verified."""
    models_dir = Path(models_dir)
    return sorted(p for p in models_dir.iterdir() if (p / MANIFEST).is_file()) if models_dir.is_dir() else []


def list_bundles(models_dir: str | os.PathLike) -> list[Bundle]:
    """Every verified bundle folder directly under `models_dir`, sorted by name."""
    return [load_bundle(p) for p in bundle_folders(models_dir)]
