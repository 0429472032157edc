"""The codecs' common API: load a bundle as a `Codec`, code motion into tokens and back.

A codec codes one body part (features.py: `body` joints 1-21, `hands` joints 25-54, as
axis-angle at 30 fps) into one token per frame:
- k-means (`kmeans-6/9/10/12`): tokens (T,) int64 in [0, k), k = 64, 512, 1024, 4096;
- RQ-VAE (`rqvae-6/9/10/12`): tokens (T, Q) int64 in [0, D), (D, Q) = (8, 2), (8, 3),
  (32, 2), (8, 4).
Bits per frame = log2(k) or Q * log2(D), computed from the manifest. The root orientation
and translation, the face and any part not coded are carried through from the input.

Bundles live in `models/{name}-{part}` (e.g. `models/kmeans-9-body`), `MODELS_DIR` being the
repository's (and the installed extension's) `models/` folder.

    codec = load_codec(codec_folder("rqvae-9", "body"))
    tokens = codec.encode(part_features(motion, "body"))   # (T, 3)
    features = codec.decode(tokens)                         # (T, 63)
    encoded = encode_motion(motion, "rqvae-9")              # both parts, and the decoded Motion
"""

from __future__ import annotations

import math
import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import BundleError, MotionTokensError
from ..motion import Motion
from .bundle import MANIFEST, Bundle, bits_per_frame, list_bundles, load_bundle
from .features import PARTS, Normalisation, at_codec_rate, num_features, part_features, with_part_features
from .kmeans import centroid_lookup, nearest_centroid

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
FAMILIES = ("kmeans", "rqvae")
#: Bits per frame offered, and the codebook sizes that give them.
KMEANS_K = {6: 64, 9: 512, 10: 1024, 12: 4096}
RQVAE_DQ = {6: (8, 2), 9: (8, 3), 10: (32, 2), 12: (8, 4)}
_NAME = re.compile(r"^(kmeans|rqvae)-(\d+)$")


def codec_name(family: str, bits: int) -> str:
    """'kmeans-9', 'rqvae-12', ...; ValueError for an unknown family or bitrate."""
    if family not in FAMILIES:
        raise ValueError(f"unknown codec family {family!r}; families are {', '.join(FAMILIES)}")
    table = KMEANS_K if family == "kmeans" else RQVAE_DQ
    if bits not in table:
        raise ValueError(f"{family} codecs come at {', '.join(map(str, table))} bits per frame, not {bits}")
    return f"{family}-{bits}"


def codec_folder(name: str, part: str, models_dir: str | os.PathLike | None = None) -> Path:
    """The bundle folder of codec `name` for `part`: `models_dir/{name}-{part}`."""
    return Path(MODELS_DIR if models_dir is None else models_dir) / f"{name}-{part}"


class Codec(ABC):
    """A loaded codec for one part. Subclasses implement `encode` and `decode`.

    name: 'kmeans-9', 'rqvae-12', ...; part: 'body' or 'hands'; manifest: the bundle's;
    bundle: the verified Bundle it was loaded from (None for one built in memory).
    """

    family = ""

    def __init__(self, manifest: dict, normalisation: Normalisation, bundle: Bundle | None = None):
        self.manifest = manifest
        self.name = manifest["name"]
        self.part = manifest["part"]
        self.normalisation = normalisation
        self.bundle = bundle

    @property
    def bits_per_frame(self) -> float:
        return bits_per_frame(self.manifest)

    @property
    def fps(self) -> float:
        return float(self.manifest.get("fps", 30))

    @property
    def bits_per_second(self) -> float:
        return self.bits_per_frame * self.fps

    @property
    def num_features(self) -> int:
        return num_features(self.part)

    def _check_residual_tokens(self, tokens) -> np.ndarray:
        """(T, Q) integer tokens in [0, D) for a residual codec, or MotionTokensError."""
        t = np.asarray(tokens)
        if not np.issubdtype(t.dtype, np.integer) or t.ndim != 2 or t.shape[1] != self.Q:
            raise MotionTokensError(
                f"codec {self.name} ({self.part}) decodes (T, {self.Q}) integer tokens, got {t.dtype} {t.shape}"
            )
        if t.size and (t.min() < 0 or t.max() >= self.D):
            raise MotionTokensError(
                f"codec {self.name} ({self.part}): tokens must lie in [0, {self.D}), got [{t.min()}, {t.max()}]"
            )
        return t

    def _check_features(self, features) -> np.ndarray:
        f = np.asarray(features, dtype=np.float32)
        if f.ndim != 2 or f.shape[1] != self.num_features:
            raise MotionTokensError(
                f"codec {self.name} ({self.part}) codes ({self.num_features},)-wide frames, got features {f.shape}"
            )
        return f

    @abstractmethod
    def encode(self, features) -> np.ndarray:
        """(T, F) axis-angle features -> int64 tokens."""

    @abstractmethod
    def decode(self, tokens) -> np.ndarray:
        """int64 tokens -> (T, F) float32 axis-angle features."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}-{self.part}: {self.bits_per_frame:g} bits/frame>"


class KMeansCodec(Codec):
    """Nearest-centroid coding: tokens (T,) in [0, k)."""

    family = "kmeans"

    def __init__(self, manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None):
        super().__init__(manifest, Normalisation(tensors["mean"], tensors["std"]), bundle)
        self.centroids = np.asarray(tensors["centroids"], dtype=np.float32)
        self.k = int(manifest["k"])
        if self.centroids.shape != (self.k, self.num_features):
            raise ValueError(f"centroids {self.centroids.shape}, expected ({self.k}, {self.num_features})")

    def encode(self, features) -> np.ndarray:
        f = self._check_features(features)
        return nearest_centroid(self.normalisation.normalise(f), self.centroids)

    def decode(self, tokens) -> np.ndarray:
        try:
            normalised = centroid_lookup(np.asarray(tokens), self.centroids)
        except ValueError as exc:
            raise MotionTokensError(f"codec {self.name} ({self.part}): {exc}") from None
        return self.normalisation.denormalise(normalised)


class RQVAECodec(Codec):
    """Convolutional RQ-VAE: tokens (T, Q) in [0, D); needs torch."""

    family = "rqvae"

    def __init__(self, manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None):
        import torch

        from .rqvae import RQVAE, RQVAEConfig

        super().__init__(manifest, Normalisation(tensors["mean"], tensors["std"]), bundle)
        self.config = RQVAEConfig.from_dict(manifest["model_config"])
        self.D, self.Q = int(manifest["D"]), int(manifest["Q"])
        if (self.config.D, self.config.Q, self.config.part) != (self.D, self.Q, self.part):
            raise ValueError("model_config disagrees with the manifest's D, Q or part")
        self.model = RQVAE(self.config)
        state = {k[len("model."):]: torch.from_numpy(np.array(v)) for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(state, strict=True)
        self.model.eval()

    def encode(self, features) -> np.ndarray:
        import torch

        f = self._check_features(features)
        if len(f) == 0:
            return np.zeros((0, self.Q), dtype=np.int64)
        x = torch.from_numpy(self.normalisation.normalise(f))[None]
        with torch.no_grad():
            return self.model.tokens(x)[0].numpy().astype(np.int64)

    def decode(self, tokens) -> np.ndarray:
        import torch

        t = self._check_residual_tokens(tokens)
        if len(t) == 0:
            return np.zeros((0, self.num_features), dtype=np.float32)
        with torch.no_grad():
            out = self.model.decode_tokens(torch.from_numpy(t.astype(np.int64))[None])[0].numpy()
        return self.normalisation.denormalise(out)


def codec_from_arrays(
    manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None, backend: str = "numpy"
) -> Codec:
    """A Codec from a manifest and its weights (what load_codec does after verifying).

    backend: "numpy" (inference everywhere) or "torch" (the training model, for RQ-VAE).
    """
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    family = manifest.get("family")
    if family == "kmeans":
        return KMeansCodec(manifest, tensors, bundle)
    if family == "rqvae" and backend == "torch":
        return RQVAECodec(manifest, tensors, bundle)
    if family == "rqvae":
        # Inference runs in numpy (rqvae_numpy.py): the same tokens and decoded features
        # as the torch model (tested), no torch inside Blender, and no 3 s torch import on the
        # command line.
        from .rqvae_numpy import RQVAENumpyCodec

        return RQVAENumpyCodec(manifest, tensors, bundle)
    raise ValueError(f"family {family!r} is not a codec family ({', '.join(FAMILIES)})")


def check_codec_manifest(manifest: dict) -> None:
    """Raise ValueError unless the manifest is a consistent codec manifest: kind, part, name
    'family-BITS' whose BITS equal the bitrate computed from k or D and Q."""
    if manifest.get("kind") != "codec":
        raise ValueError(f"kind is {manifest.get('kind')!r}, not 'codec'")
    if manifest.get("part") not in PARTS:
        raise ValueError(f"part {manifest.get('part')!r} is not one of {', '.join(PARTS)}")
    m = _NAME.match(str(manifest.get("name")))
    if not m or m.group(1) != manifest.get("family"):
        raise ValueError(f"name {manifest.get('name')!r} is not '{manifest.get('family')}-BITS'")
    bits = bits_per_frame(manifest)
    if not math.isclose(bits, int(m.group(2))):
        raise ValueError(f"the name says {m.group(2)} bits per frame but k or D and Q give {bits:g}")
    if "bits_per_frame" in manifest and not math.isclose(float(manifest["bits_per_frame"]), bits):
        raise ValueError(f"bits_per_frame {manifest['bits_per_frame']} disagrees with k or D and Q ({bits:g})")


def load_codec(folder: str | os.PathLike, backend: str = "numpy") -> Codec:
    """The codec in a bundle folder, its files' sha256 verified (nothing is unpickled).

    backend: "numpy" for inference (the default; needs no torch) or "torch" (RQ-VAE's
    training model, for comparing against it).

    Raises BundleError for a missing, tampered or inconsistent bundle.
    """
    bundle = load_bundle(folder)
    try:
        check_codec_manifest(bundle.manifest)
        return codec_from_arrays(bundle.manifest, bundle.tensors(), bundle, backend)
    except (ValueError, KeyError, RuntimeError) as exc:  # RuntimeError: state_dict shapes or names wrong
        raise BundleError(Path(folder) / MANIFEST, f"is not a usable codec bundle ({exc})") from None


@dataclass(frozen=True)
class CodecInfo:
    """One bundled codec, for listings: name, part, family, bits per frame and second, size
    ('k=512' or 'D=8 x Q=3'), folder."""

    name: str
    part: str
    family: str
    bits_per_frame: float
    bits_per_second: float
    size: str
    folder: Path


def available_codecs(models_dir: str | os.PathLike | None = None) -> list[CodecInfo]:
    """The codec bundles under `models_dir` (default MODELS_DIR), verified, sorted by family,
    bits and part. Raises BundleError if one of them is damaged."""
    infos = []
    for bundle in list_bundles(MODELS_DIR if models_dir is None else models_dir):
        m = bundle.manifest
        if m["kind"] != "codec":
            continue
        try:
            check_codec_manifest(m)
        except (ValueError, KeyError) as exc:
            raise BundleError(bundle.folder / MANIFEST, f"is not a usable codec bundle ({exc})") from None
        size = f"k={m['k']}" if "k" in m else f"D={m['D']} x Q={m['Q']}"
        infos.append(CodecInfo(m["name"], m["part"], m["family"], bundle.bits_per_frame(), bundle.bits_per_second(), size, bundle.folder))
    return sorted(infos, key=lambda c: (c.family, c.bits_per_frame, c.part))


@dataclass
class EncodedMotion:
    """tokens: part -> int64 tokens ((T,) k-means, (T, Q) RQ-VAE) at 30 fps; decoded: the
    motion rebuilt from the tokens (30 fps; root, face and uncoded parts from the input);
    codecs: part -> the Codec used."""

    tokens: dict[str, np.ndarray]
    decoded: Motion
    codecs: dict[str, Codec]


def encode_motion(motion: Motion, name: str, parts=("body", "hands"), models_dir=None) -> EncodedMotion:
    """Code `motion` (any frame rate; resampled to 30 fps) with codec `name` for each part.

    Raises BundleError when a bundle is missing or damaged, SkeletonError when the motion is
    not SMPL-X.
    """
    motion = at_codec_rate(motion)
    tokens, codecs = {}, {}
    decoded = motion
    for part in parts:
        codec = load_codec(codec_folder(name, part, models_dir))
        tokens[part] = codec.encode(part_features(motion, part))
        decoded = with_part_features(decoded, part, codec.decode(tokens[part]))
        codecs[part] = codec
    return EncodedMotion(tokens, replace(decoded, name=f"{motion.name} ({name})"), codecs)


def decode_tokens(tokens: dict, name: str, template: Motion, models_dir=None) -> Motion:
    """The motion that `tokens` (part -> tokens) code with codec `name`.

    template: supplies the skeleton, root orientation and translation, face, and the parts
    not in `tokens`; resampled to 30 fps, it must have as many frames as the tokens.
    """
    motion = at_codec_rate(template)
    for part, part_tokens in tokens.items():
        codec = load_codec(codec_folder(name, part, models_dir))
        n = len(part_tokens)
        if n != motion.num_frames:
            raise MotionTokensError(
                f"{part} tokens cover {n} frames but the template motion {template.name!r} has "
                f"{motion.num_frames} frames at 30 fps; decode with the motion the tokens were made from"
            )
        motion = with_part_features(motion, part, codec.decode(part_tokens))
    return replace(motion, name=f"{template.name} ({name})")
