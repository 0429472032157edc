"""Where code usage is counted: tokens files, motion files coded on the fly, the training data.

- A tokens file (an .npz with a `codec` entry, core/formats/tokens.py) gives its stored
  tokens of the part, after checking that the codec named for the part is this one and that
  the codebook it records (weights sha256, family and size) is this bundle's
  (core.codecs.coding.check_codebooks): tokens of another codebook would count other codes.
- Any other motion file (.npz, .bvh) is read as SMPL-X at the codecs' 30 fps and its part
  coded with the codec (the whole take at once: one encode call, the tokens exact).
- The training data: the bundle's `usage` tensor, the frequency of each code (per level) on
  the training frames when it was made ((k,) or (Q, D)), with the manifest's training frame
  count; counts are rebuilt as frequency x rows (rounded), rows being the frames, or the
  latents (frames / 4) of a downsampled codec.
Folders are searched for .npz and .bvh files (core.codecs.training.dataset.motion_files).
Tokens: (N,) for k-means, (N, Q) for RQ-VAE, N rows (frames; latents for rqvae4).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..codecs.base import Codec
from ..codecs.coding import check_codebooks
from ..codecs.features import part_features
from ..codecs.training.dataset import motion_files
from ..errors import LayoutError, MissingFileError
from ..formats.npz import load_npz_arrays
from ..formats.tokens import CODEC_KEY, TOKEN_KEYS, read_tokens_file
from ..retarget import read_smplx_motion
from .usage import UsageStats, stats_from_frequencies

#: What the training usage is called in lines and headers.
TRAINING_LABEL = "the training data"


def usage_files(paths) -> list[Path]:
    """The files usage is counted on: each file given, and every .npz and .bvh under each
    folder. MissingFileError for a path that does not exist or a folder without motion files."""
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.exists():
            raise MissingFileError(path, "no such file or folder")
    return motion_files(paths)


def is_tokens_file(path: str | os.PathLike) -> bool:
    """Whether `path` is a tokens file: an .npz holding a `codec` entry."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        return False
    try:
        with np.load(path, allow_pickle=False) as archive:  # the names only: nothing is read yet
            return CODEC_KEY in archive.files
    except Exception:  # noqa: BLE001 - the reader says what is wrong with the file
        return CODEC_KEY in load_npz_arrays(path)


def stored_tokens(path: str | os.PathLike, codec: Codec) -> np.ndarray:
    """The tokens of `codec`'s part stored in the tokens file `path`, int64 (N,) or (N, Q).
    LayoutError naming the file when it holds no tokens of the part, names another codec for
    it, records another codebook, or its tokens do not fit the codec."""
    tokens_file = read_tokens_file(path)
    part = codec.part
    if part not in tokens_file.codec_names:
        held = ", ".join(tokens_file.codec_names) or "no part"
        raise LayoutError(tokens_file.path, f"holds tokens of {held}, not of the {part} (`{TOKEN_KEYS[part]}`)")
    named = tokens_file.codec_names[part]
    if named != codec.name:
        raise LayoutError(tokens_file.path, f"its {part} tokens were made by {named}-{part}, not {codec.name}-{part}: "
                          f"they index another codebook; count them with --codec {named}")
    check_codebooks(tokens_file, {part: codec})
    try:
        return codec.check_tokens(tokens_file.tokens[part])
    except ValueError as exc:
        raise LayoutError(tokens_file.path, f"`{TOKEN_KEYS[part]}` {exc}") from None


def coded_tokens(path: str | os.PathLike, codec: Codec, warnings: list[str] | None = None) -> np.ndarray:
    """The tokens `codec` gives the part of the motion file `path` (read as SMPL-X, 30 fps):
    (N,) or (N, Q) int64. The reader's notes go to `warnings`; InputFileError naming the file."""
    motion = read_smplx_motion(path, None, None, warnings)
    return codec.encode(part_features(motion, codec.part))


def file_tokens(path: str | os.PathLike, codec: Codec, warnings: list[str] | None = None) -> np.ndarray:
    """A usage file's tokens of the codec's part: stored (a tokens file) or coded (a motion file)."""
    return stored_tokens(path, codec) if is_tokens_file(path) else coded_tokens(path, codec, warnings)


def training_rows(codec: Codec) -> int:
    """Rows of tokens of the training frames the manifest records: frames, or latents
    (ceil(frames / frames_per_latent), every take padded to whole latents counting as one)."""
    training = codec.manifest.get("training", {})
    frames = int(training.get("train", {}).get("frames", 0))
    return codec.num_latents(frames)


def training_usage(codec: Codec) -> tuple[UsageStats, ...]:
    """One UsageStats per level from the bundle's stored training usage (module docstring).
    LayoutError naming the weights file when the bundle stores none or no frame count."""
    where = codec.bundle.folder if codec.bundle is not None else Path(codec.name)
    tensors = codec.bundle.tensors() if codec.bundle is not None else {}
    rows = training_rows(codec)
    if "usage" not in tensors or rows <= 0:
        raise LayoutError(where, "stores no training usage (a `usage` tensor and the training frame count of its "
                          "manifest); count usage on files instead (--usage)")
    usage = np.asarray(tensors["usage"])
    expected = (codec.codebooks, codec.codebook_size)
    if usage.reshape(-1, usage.shape[-1]).shape != expected:
        raise LayoutError(where, f"its `usage` tensor is {usage.shape}, expected {expected} for {codec.size_label}")
    try:
        return stats_from_frequencies(usage, rows)
    except ValueError as exc:
        raise LayoutError(where, f"its `usage` tensor: {exc}") from None
