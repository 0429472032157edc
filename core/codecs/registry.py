"""Codec names and bundles: which codecs exist, where their bundles are, and loading one as a
`Codec` (base.py; the families in kmeans.py and rqvae_numpy.py, torch's in rqvae.py).

A codec codes one body part (features.py: `body` joints 1-21, `hands` joints 25-54, as
axis-angle at 30 fps) into one token per frame:
- k-means (`kmeans-6/9/10/12`): tokens (T,) int64 in [0, k), k = 64, 512, 1024, 4096;
- RQ-VAE (`rqvae-6/9/10/12`): tokens (T, Q) int64 in [0, D), (D, Q) = (8, 2), (8, 3),
  (4, 5), (8, 4);
- downsampled RQ-VAE (`rqvae4-6/9/10/12`): one row of tokens per 4 frames, (ceil(T/4), Q),
  (D, Q) = (64, 4), (64, 6), (32, 8), (64, 8) (the face's: 16 x 6, 8 x 12, 4 x 20, 8 x 16; the
  12-bit hands' 16 x 12, the body's 4 x 12 at 6 and 16 x 10 at 10 bits): the
  same bits per second as the others.
Bits per frame = log2(k) or Q * log2(D), divided by frames_per_latent, computed from the
manifest; bits per second = that x 30. The root orientation
and translation, the face and any part not coded are carried through from the input.

Bundles live in `models/{name}-{part}` (e.g. `models/kmeans-9-body`), `MODELS_DIR` being the
repository's (and the installed extension's) `models/` folder.

    codec = load_codec(codec_folder("rqvae-9", "body"))
    tokens = codec.encode(part_features(motion, "body"))   # (T, 3)
    features = codec.decode(tokens)                         # (T, 63)

Coding whole motions and tokens files is coding.py's.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BundleError, MotionTokensError
from ..parts import CODED_PARTS, PARTS
from ..paths import MODELS_DIR
from .base import Codec, ResidualCodec
from .bundle import MANIFEST, WEIGHTS, Bundle, bits_per_frame, bits_per_second, bundle_folders, load_bundle
from .features import CODEC_FPS, num_features
from .kmeans import KMeansCodec
from .rqvae_numpy import RQVAE4NumpyCodec, RQVAENumpyCodec

#: family -> the class that runs its bundles for inference (numpy, no torch).
FAMILY_CLASSES: dict[str, type[Codec]] = {cls.family: cls for cls in (KMeansCodec, RQVAENumpyCodec, RQVAE4NumpyCodec)}
FAMILIES = tuple(FAMILY_CLASSES)
#: Bits per frame offered by the families, ascending.
OFFERED_BITS = tuple(sorted({bits for cls in FAMILY_CLASSES.values() for bits in cls.BITRATES}))
_NAME = re.compile(rf"^({'|'.join(FAMILIES)})-(\d+)$")


def codec_name(family: str, bits: int) -> str:
    """'kmeans-9', 'rqvae-12', ...; ValueError for an unknown family or bitrate."""
    if family not in FAMILIES:
        raise ValueError(f"unknown codec family {family!r}; families are {', '.join(FAMILIES)}")
    table = FAMILY_CLASSES[family].BITRATES
    if bits not in table:
        raise ValueError(f"{family} codecs come at {', '.join(map(str, table))} bits per frame, not {bits}")
    return f"{family}-{bits}"


def codec_folder(name: str, part: str, models_dir: str | os.PathLike | None = None) -> Path:
    """The bundle folder of codec `name` for `part`: `models_dir/{name}-{part}`."""
    return _models(models_dir) / f"{name}-{part}"


def _models(models_dir) -> Path:
    return Path(MODELS_DIR if models_dir is None else models_dir)


def _not_installed(problem: str, models_dir) -> MotionTokensError:
    """`problem`, then the bundles installed in the models folder and how to list them."""
    where = _models(models_dir)
    installed = [p.name for p in bundle_folders(where)]
    return MotionTokensError(
        f"{problem} in {where} (installed: {', '.join(installed) or 'none'}); list them with `motion-tokens codecs`"
    )


def require_codec_folder(name: str, part: str, models_dir: str | os.PathLike | None = None) -> Path:
    """The bundle folder of codec `name` for `part`; MotionTokensError naming the installed
    bundles when `name` is not a codec name or has no bundle for the part."""
    if not _NAME.match(name):
        raise MotionTokensError(f"{name!r} is not a codec name like 'kmeans-6' or 'rqvae-12' (for the {part})")
    folder = codec_folder(name, part, models_dir)
    if not folder.is_dir():
        raise _not_installed(f"codec {name!r} is not installed for the {part}: no bundle {folder.name}", models_dir)
    return folder


def installed_parts(name: str, models_dir: str | os.PathLike | None = None) -> list[str]:
    """The parts (in PARTS order) for which codec `name` has a bundle; MotionTokensError naming
    the installed bundles when it has none."""
    parts = [part for part in PARTS if codec_folder(name, part, models_dir).is_dir()]
    if not parts:
        raise _not_installed(f"no codec bundle named {name!r}", models_dir)
    return parts


def codec_from_arrays(
    manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None, backend: str = "numpy"
) -> Codec:
    """A Codec from a manifest and its weights (what load_codec does after verifying).

    backend: "numpy" (inference everywhere) or "torch" (the training model, for RQ-VAE).
    """
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    family = manifest.get("family")
    if family not in FAMILY_CLASSES:
        raise ValueError(f"family {family!r} is not a codec family ({', '.join(FAMILIES)})")
    cls = FAMILY_CLASSES[family]
    # Inference runs in numpy (rqvae_numpy.py): the same tokens and decoded features as the
    # torch model (tested), no torch inside Blender, and no 3 s torch import on the command
    # line. Only a residual codec has a torch model besides; k-means has one backend.
    if backend == "torch" and issubclass(cls, ResidualCodec):
        from .rqvae import RQVAE4Codec, RQVAECodec

        cls = RQVAE4Codec if cls.FRAMES_PER_LATENT == 4 else RQVAECodec
    return cls(manifest, tensors, bundle)


def check_codec_manifest(manifest: dict) -> None:
    """Raise ValueError unless the manifest is a consistent codec manifest: kind, part, name
    'family-BITS' whose BITS equal the bits per frame computed from k or D and Q and
    frames_per_latent, bits_per_second (when given) agreeing, and fps 30.

    Codecs take only 30 fps: features are resampled to CODEC_FPS before coding whatever the
    manifest says, so another fps would misstate the bitrate and the tokens' rate; no bundle
    is trained at another rate."""
    if manifest.get("kind") != "codec":
        raise ValueError(f"kind is {manifest.get('kind')!r}, not 'codec'")
    if manifest.get("part") not in CODED_PARTS:
        raise ValueError(f"part {manifest.get('part')!r} is not one of {', '.join(CODED_PARTS)}")
    m = _NAME.match(str(manifest.get("name")))
    if not m or m.group(1) != manifest.get("family"):
        raise ValueError(f"name {manifest.get('name')!r} is not '{manifest.get('family')}-BITS'")
    bits = bits_per_frame(manifest)
    if not math.isclose(bits, int(m.group(2))):
        raise ValueError(f"the name says {m.group(2)} bits per frame but k or D and Q give {bits:g}")
    if "bits_per_frame" in manifest and not math.isclose(float(manifest["bits_per_frame"]), bits):
        raise ValueError(f"bits_per_frame {manifest['bits_per_frame']} disagrees with k or D and Q ({bits:g})")
    if "bits_per_second" in manifest and not math.isclose(float(manifest["bits_per_second"]), bits_per_second(manifest)):
        raise ValueError(f"bits_per_second {manifest['bits_per_second']} disagrees with k or D and Q, fps and "
                         f"frames_per_latent ({bits_per_second(manifest):g})")
    if not math.isclose(float(manifest.get("fps", 0)), CODEC_FPS):
        raise ValueError(f"fps is {manifest.get('fps')!r}; codecs code at {CODEC_FPS:g} fps, the rate features are taken at")


def check_codec_tensors(path: Path, tensors: dict[str, np.ndarray], part: str) -> None:
    """Raise BundleError naming `path` and the tensor unless `mean` and `std` are (F,) for
    `part`, every floating tensor is finite and every `std` entry positive: a NaN weight or a
    zero normaliser would decode to NaN motion."""
    F = num_features(part)
    for key in ("mean", "std"):
        shape = tensors[key].shape if key in tensors else None
        if shape != (F,):
            raise BundleError(path, f"tensor `{key}` is {shape or 'missing'}, expected ({F},) for the {part}; "
                              "reinstall or retrain the bundle")
    for key, value in tensors.items():
        bad = int(np.count_nonzero(~np.isfinite(value))) if value.dtype.kind == "f" else 0
        if bad:
            raise BundleError(path, f"tensor `{key}` holds {bad} non-finite values (NaN or infinity) of {value.size}; "
                              "the weights are damaged: reinstall or retrain the bundle")
    if not (tensors["std"] > 0).all():
        raise BundleError(path, f"tensor `std` holds values down to {tensors['std'].min():g}; a normaliser must be "
                          "positive (features are divided by it): reinstall or retrain the bundle")


def codec_of_bundle(bundle: Bundle, backend: str = "numpy") -> Codec:
    """The Codec of a loaded (hash-verified) bundle after every check a codec needs: the
    manifest's consistency, the tensors (check_codec_tensors), the weights' shapes against the
    manifest. What load_codec and available_codecs share. Raises BundleError."""
    try:
        check_codec_manifest(bundle.manifest)
    except (ValueError, KeyError) as exc:
        raise BundleError(bundle.folder / MANIFEST, f"is not a usable codec bundle ({exc})") from None
    tensors = bundle.tensors()
    check_codec_tensors(bundle.folder / WEIGHTS, tensors, bundle.manifest["part"])
    try:
        return codec_from_arrays(bundle.manifest, tensors, bundle, backend)
    except (ValueError, KeyError, RuntimeError) as exc:  # RuntimeError: state_dict shapes or names wrong
        raise BundleError(bundle.folder / MANIFEST, f"is not a usable codec bundle ({exc})") from None


def load_codec(folder: str | os.PathLike, backend: str = "numpy") -> Codec:
    """The codec in a bundle folder, its files' sha256 verified (nothing is unpickled).

    backend: "numpy" for inference (the default; needs no torch) or "torch" (RQ-VAE's
    training model, for comparing against it).

    Raises BundleError for a missing, tampered or inconsistent bundle.
    """
    return codec_of_bundle(load_bundle(folder), backend)


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
    """The codec bundles under `models_dir` (default MODELS_DIR), sorted by family, bits and
    part, each loaded as `encode` loads it (codec_of_bundle: hashes, manifest, tensors,
    shapes), so nothing is listed that coding then refuses. Raises BundleError naming the
    first bundle that does not load. Checking the 16 shipped bundles takes about 0.04 s (their hashes alone 0.02 s)."""
    infos, damaged = codec_listing(models_dir)
    if damaged:
        raise damaged[0]
    return infos


def codec_listing(models_dir: str | os.PathLike | None = None) -> tuple[list[CodecInfo], list[BundleError]]:
    """(the usable codec bundles under `models_dir`, as `available_codecs` lists them; the
    error of each bundle folder that does not load): a damaged bundle leaves the others
    usable (the Codec panel offers those and names the damaged one)."""
    infos, damaged = [], []
    for path in bundle_folders(_models(models_dir)):
        try:
            bundle = load_bundle(path)
            if bundle.kind != "codec":
                continue
            codec = codec_of_bundle(bundle)
        except BundleError as exc:
            damaged.append(exc)
            continue
        infos.append(CodecInfo(codec.name, codec.part, codec.family, codec.bits_per_frame, codec.bits_per_second,
                               codec.size_label, bundle.folder))
    return sorted(infos, key=lambda c: (c.family, c.bits_per_frame, c.part)), damaged
