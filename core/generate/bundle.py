"""Generator bundles: `models/gen-<codec>/` with manifest.json (kind `generator`) and
weights.safetensors, written and read through core.codecs.bundle (sha256 of every file,
the one manifest schema, nothing unpickled).

Weights: `model.<name>` the network's state_dict entries (model.py; numpy_model.py reads the
same names), and beside them the audio filters the features are computed with, under the names
core.audio.AudioFilters.to_tensors gives them (`audio.*`), so generation inside Blender needs
nothing but the bundle.

Manifest fields beyond the common ones:
    family        "masked-transformer"
    codec         the codec name the token streams come from ("kmeans-10")
    codecs        part -> {"name": bundle name "kmeans-10-body", "family", "sha256": its weights'}
    token_fps     token frames per second (the codecs' fps / frames_per_latent)
    model_config  GeneratorConfig.to_dict()
    audio         {"sample_rate", "fps", "features": C}
    data, training, evaluation, seed, command, notes   what made it and how well it does
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..codecs.bundle import MANIFEST, Bundle, load_bundle, write_bundle
from ..errors import BundleError
from .config import GeneratorConfig

KIND = "generator"
FAMILY = "masked-transformer"
MODEL_PREFIX = "model."


def generator_tensors(model_arrays: dict[str, np.ndarray], audio_arrays: dict[str, np.ndarray]) -> dict:
    """The bundle's weights: the network's arrays under `model.`, the audio filters' as named."""
    out = {MODEL_PREFIX + k: np.asarray(v, dtype=np.float32) for k, v in model_arrays.items()}
    clash = [k for k in audio_arrays if k.startswith(MODEL_PREFIX)]
    if clash:
        raise ValueError(f"audio filter tensors must not be named {MODEL_PREFIX}*: {clash}")
    out.update({k: np.asarray(v) for k, v in audio_arrays.items()})
    return out


def split_tensors(tensors: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """(network arrays without their `model.` prefix, the other arrays: the audio filters')."""
    model = {k[len(MODEL_PREFIX):]: v for k, v in tensors.items() if k.startswith(MODEL_PREFIX)}
    audio = {k: v for k, v in tensors.items() if not k.startswith(MODEL_PREFIX)}
    return model, audio


def write_generator_bundle(folder: str | os.PathLike, manifest: dict, model_arrays: dict,
                           audio_arrays: dict) -> Bundle:
    """Write a generator bundle (kind and family filled in) and return it verified."""
    manifest = dict(manifest, kind=KIND, family=FAMILY)
    GeneratorConfig.from_dict(manifest["model_config"])  # refuse to write what cannot be loaded
    return write_bundle(folder, manifest, generator_tensors(model_arrays, audio_arrays))


def check_generator_manifest(bundle: Bundle) -> GeneratorConfig:
    """The config of a generator bundle; BundleError naming the manifest and the problem."""
    path = bundle.folder / MANIFEST
    m = bundle.manifest
    if m.get("kind") != KIND:
        raise BundleError(path, f"is a {m.get('kind')!r} bundle, not a generator")
    if m.get("family") != FAMILY:
        raise BundleError(path, f"family {m.get('family')!r} is not {FAMILY!r}; this version cannot run it")
    try:
        cfg = GeneratorConfig.from_dict(m.get("model_config"))
        codecs = m["codecs"]
        for part in cfg.parts:
            entry = codecs[part]
            if not all(isinstance(entry.get(k), str) for k in ("name", "family", "sha256")):
                raise ValueError(f"codecs[{part!r}] must give name, family and sha256")
        token_fps = float(m["token_fps"])
        if not 0 < token_fps <= 1000:
            raise ValueError(f"token_fps {token_fps} is outside (0, 1000]")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(path, f"is not a usable generator manifest ({exc!r}); retrain the generator") from None
    return cfg


def check_codec_bundles(bundle: Bundle, models_dir: Path) -> None:
    """BundleError unless every codec bundle the generator was trained with is installed in
    `models_dir` with the weights (sha256) it was trained with: tokens of another codebook
    would decode to other poses."""
    for part, entry in bundle.manifest["codecs"].items():
        folder = models_dir / entry["name"]
        if not folder.is_dir():
            raise BundleError(bundle.folder / MANIFEST, f"needs the codec bundle {entry['name']} for the {part}, "
                              f"which is not installed in {models_dir}")
        installed = load_bundle(folder).weights_sha256
        if installed != entry["sha256"]:
            raise BundleError(folder, f"weights sha256 {installed[:12]}... are not the {entry['sha256'][:12]}... "
                              f"generator {bundle.name} was trained with; retrain it "
                              f"(motion-tokens train-generator --codec {bundle.manifest.get('codec')})")
