"""The tokens file: motion coded per part, as the decoded motion plus the tokens that make it.

A tokens file is an `.npz` in the BEAT2 layout (the decoded motion: `poses`, `trans`, ...,
at the codecs' 30 fps) with, on top (DESIGN.md, "Ours on top"):
- `tokens_body`, `tokens_hands`: int32 tokens of each coded part, (T,) for k-means (values in
  [0, k)) or (T, Q) for RQ-VAE (values in [0, D)), T the frames of `poses`;
- `codec`: the bundle of each coded part, as one string of bundle names `NAME-PART` separated
  by spaces, e.g. "kmeans-6-body kmeans-6-hands" (bundle `models/kmeans-6-body`, and so on);
- `token_fps`: frames per second of the codecs (their fps, 30: the rate of per-frame tokens);
- `token_fps_body`, `token_fps_hands`, ...: rows of tokens per second of each part where its
  codec codes several frames into one latent (30 / 4 = 7.5 for rqvae4; T_part =
  ceil(T x token_fps_part / token_fps) rows); files without them (all older ones) have every
  part at `token_fps`;
- `codec_sha256_body`, `codec_sha256_hands`: the sha256 (64 hex digits) of the
  `weights.safetensors` of the bundle that made each part's tokens, and `codec_layout_body`,
  `codec_layout_hands`: its family and size fields, e.g. "kmeans k=64" or "rqvae D=8 Q=3".
  They say which codebook the tokens index, so a file is never decoded silently by another one
  (a renamed `codec`, a retrained bundle of the same name): `load_tokens_codecs` refuses a
  mismatch. Files written before these keys (none for a part) read with no record for it.
Decoding needs only the tokens and the side information the codecs do not code: the root
orientation (`poses[:, :3]`), the translation and the face are taken from the file, the coded
parts from the tokens (their `poses` columns are not read).

This module reads and writes the layout; it knows no codec. What needs the named bundles (are
they installed, do the tokens' shape and range and the rate fit them) is checked by
`core.codecs.coding.load_tokens_codecs`. Nothing is unpickled.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import LayoutError, OutputError, require_file
from ..motion import Motion
from ..parts import CODED_PARTS
from .npz import load_npz_arrays, read_smplx_npz, write_smplx_npz

#: The file key of each part's tokens.
TOKEN_KEYS = {part: f"tokens_{part}" for part in CODED_PARTS}
#: The frames where generation windows met (generate's output; core/inertialization.py).
SEAMS_KEY = "seam_frames"
CODEC_KEY = "codec"
TOKEN_FPS_KEY = "token_fps"
#: The file keys of each part's codebook record (`Codebook`).
SHA256_KEYS = {part: f"codec_sha256_{part}" for part in CODED_PARTS}
#: The file keys of each part's own token rate (absent: `token_fps`).
PART_FPS_KEYS = {part: f"token_fps_{part}" for part in CODED_PARTS}
LAYOUT_KEYS = {part: f"codec_layout_{part}" for part in CODED_PARTS}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_LAYOUT = re.compile(r"^([a-z][a-z0-9]*)((?: [A-Za-z]+=\d+)+)$")
# A bundle name: codec name (family-BITS, the family maybe ending in digits: rqvae4) then the part.
_BUNDLE_NAME = re.compile(r"^([a-z][a-z0-9]*-\d+)-(" + "|".join(CODED_PARTS) + r")$")


@dataclass(frozen=True)
class Codebook:
    """Which codebook made a part's tokens: sha256 of the bundle's weights file, the family
    ('kmeans', 'rqvae') and its size fields ({'k': 64} or {'D': 8, 'Q': 3})."""

    sha256: str
    family: str
    size: dict[str, int]

    @property
    def layout(self) -> str:
        """'kmeans k=64', 'rqvae D=8 Q=3': the `codec_layout_*` string."""
        return " ".join([self.family, *(f"{key}={value}" for key, value in self.size.items())])


@dataclass(frozen=True)
class TokensFile:
    """A tokens file whose layout is checked. tokens: part -> the integer tokens as stored
    ((T,) or (T, Q), T the frames of `template`); codec_names: part -> codec name
    ('kmeans-6'), the same parts; token_fps: tokens per second; template: the file's motion
    (root, translation and face are what decoding keeps); codebooks: part -> the Codebook that
    made its tokens, for the parts the file records one for (none in older files);
    part_token_fps: part -> its rows of tokens per second, for the parts whose rate is not
    token_fps (none in older files; `fps_of` gives every part's); seam_frames: the frames where
    generation windows met, at which the motion was smoothed (core/inertialization.py) and
    decoding smooths it again (none for encoded motion and older files)."""

    path: Path
    tokens: dict[str, np.ndarray]
    codec_names: dict[str, str]
    token_fps: float
    template: Motion
    codebooks: dict[str, Codebook]
    part_token_fps: dict[str, float] = field(default_factory=dict)
    seam_frames: tuple[int, ...] = ()

    def fps_of(self, part: str) -> float:
        """The part's rows of tokens per second."""
        return self.part_token_fps.get(part, self.token_fps)


def bundle_names(codec_names: dict[str, str]) -> str:
    """The `codec` string of a tokens file: {'body': 'kmeans-6'} -> 'kmeans-6-body'."""
    return " ".join(f"{name}-{part}" for part, name in codec_names.items())


def write_tokens_file(
    path: str | os.PathLike, motion: Motion, tokens: dict[str, np.ndarray], codec_names: dict[str, str],
    token_fps: float, codebooks: dict[str, Codebook] | None = None, part_token_fps: dict[str, float] | None = None,
    seam_frames=(), extra: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write `motion` (the decoded motion, at token_fps) and its tokens (part -> (T,) or (T, Q)
    integers; codec_names part -> codec name; codebooks part -> the Codebook that made them,
    which `codec.coding.write_encoded` always gives; part_token_fps part -> its rows of tokens
    per second where it is not token_fps) to the `.npz` at `path`, atomically; `extra`: more
    arrays beside them (a capture's raw fit, core.capture.file).
    Raises OutputError for another suffix or an unwritable path."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise OutputError(f"{path}: a tokens file is an .npz; give the output a .npz suffix")
    extra = dict(extra or {})
    extra.update({TOKEN_KEYS[part]: np.asarray(t, dtype=np.int32) for part, t in tokens.items()})
    extra[CODEC_KEY] = np.asarray(bundle_names(codec_names))
    extra[TOKEN_FPS_KEY] = np.asarray(token_fps, dtype=np.float32)
    for part, fps in (part_token_fps or {}).items():
        if abs(float(fps) - float(token_fps)) > 1e-9:
            extra[PART_FPS_KEYS[part]] = np.asarray(fps, dtype=np.float32)
    for part, codebook in (codebooks or {}).items():
        extra[SHA256_KEYS[part]] = np.asarray(codebook.sha256)
        extra[LAYOUT_KEYS[part]] = np.asarray(codebook.layout)
    if len(seam_frames):
        extra[SEAMS_KEY] = np.asarray(seam_frames, dtype=np.int64)
    return write_smplx_npz(path, motion, extra=extra)


def read_tokens_file(path: str | os.PathLike) -> TokensFile:
    """Read a tokens file (module docstring) and check its layout.

    Raises MissingFileError, CorruptFileError, LayoutError naming the file: no tokens, no or a
    malformed `codec` (or one that disagrees with the token keys), no or a malformed
    `token_fps`, a motion that is not the file's (`read_smplx_npz`), tokens that are not
    integers.
    """
    path = Path(require_file(path))
    arrays = load_npz_arrays(path)
    codec_names = _codec_names(path, arrays)
    token_fps = _token_fps(path, arrays)
    template = read_smplx_npz(path)
    tokens = {}
    for part in codec_names:
        key = TOKEN_KEYS[part]
        if arrays[key].dtype.kind not in "iu":
            raise LayoutError(path, f"`{key}` holds {arrays[key].dtype} values; tokens are integers")
        tokens[part] = arrays[key]
    codebooks = {part: book for part in codec_names if (book := _codebook(path, arrays, part)) is not None}
    rates = {part: _token_fps(path, arrays, PART_FPS_KEYS[part]) for part in codec_names if PART_FPS_KEYS[part] in arrays}
    return TokensFile(path, tokens, codec_names, token_fps, template, codebooks, rates,
                      _seam_frames(path, arrays, template.num_frames))


def _seam_frames(path: Path, arrays: dict, num_frames: int) -> tuple[int, ...]:
    """The file's `seam_frames` (increasing frame indices inside the motion), () when absent."""
    if SEAMS_KEY not in arrays:
        return ()
    seams = arrays[SEAMS_KEY]
    if seams.ndim != 1 or seams.dtype.kind not in "iu":
        raise LayoutError(path, f"`{SEAMS_KEY}` must be a list of frame indices, got {seams.dtype} of shape {seams.shape}")
    if len(seams) and (seams.min() < 0 or seams.max() >= num_frames or np.any(np.diff(seams) <= 0)):
        raise LayoutError(path, f"`{SEAMS_KEY}` must be increasing frames in [0, {num_frames}), got {seams.tolist()[:8]}")
    return tuple(int(b) for b in seams)


def _codebook(path: Path, arrays: dict, part: str) -> Codebook | None:
    """The part's Codebook record; None when the file has none (written before records)."""
    sha_key, layout_key = SHA256_KEYS[part], LAYOUT_KEYS[part]
    if sha_key not in arrays and layout_key not in arrays:
        return None
    sha256, layout = (_string(path, arrays, key) for key in (sha_key, layout_key))
    if not _SHA256.match(sha256):
        raise LayoutError(path, f"`{sha_key}` is {sha256!r}, not a sha256 (64 lower-case hex digits)")
    m = _LAYOUT.match(layout)
    if not m:
        raise LayoutError(path, f"`{layout_key}` is {layout!r}, not a codebook layout like 'kmeans k=64' or 'rqvae D=8 Q=3'")
    size = {key: int(value) for key, value in (field.split("=") for field in m.group(2).split())}
    return Codebook(sha256, m.group(1), size)


def _string(path: Path, arrays: dict, key: str) -> str:
    """The one string stored under `key`; LayoutError when it is missing or not a string."""
    if key not in arrays:
        raise LayoutError(path, f"missing key `{key}` (its codebook record is incomplete); re-encode the motion")
    value = arrays[key]
    if value.shape != () or value.dtype.kind not in "US":
        raise LayoutError(path, f"`{key}` must be one string, got {value.dtype} of shape {value.shape}")
    return str(value.item().decode("utf-8", "replace") if value.dtype.kind == "S" else value.item())


def _token_fps(path: Path, arrays: dict, key: str = TOKEN_FPS_KEY) -> float:
    if key not in arrays:
        raise LayoutError(path, f"missing key `{key}`: the file does not say its token rate")
    value = arrays[key]
    if value.size != 1 or value.dtype.kind not in "iuf":
        raise LayoutError(path, f"`{key}` must be one number, got {value.dtype} of shape {value.shape}")
    rate = float(value.reshape(()))
    if not (np.isfinite(rate) and rate > 0):
        raise LayoutError(path, f"`{key}` is {rate:g}; a token rate is a positive number")
    return rate


def _codec_string(path: Path, arrays: dict) -> str:
    if CODEC_KEY not in arrays:
        raise LayoutError(path, "missing key `codec`: the file does not say which codec bundles made its tokens")
    value = arrays[CODEC_KEY]
    if value.shape != () or value.dtype.kind not in "US":
        raise LayoutError(path, f"`codec` must be one string of bundle names, got {value.dtype} of shape {value.shape}")
    return _string(path, arrays, CODEC_KEY)


def _codec_names(path: Path, arrays: dict) -> dict[str, str]:
    """part -> codec name from the file's `codec` string, checked against its token keys."""
    present = [part for part, key in TOKEN_KEYS.items() if key in arrays]
    if not present:
        raise LayoutError(
            path,
            f"holds no tokens ({', '.join(f'`{k}`' for k in TOKEN_KEYS.values())}): not a tokens file; "
            "make one with `motion-tokens encode MOTION --codec NAME --out TOKENS.npz`",
        )
    text = _codec_string(path, arrays)
    names = {}
    for bundle in text.split():
        m = _BUNDLE_NAME.match(bundle)
        if not m:
            raise LayoutError(
                path, f"`codec` names {bundle!r}, which is not a codec bundle name like 'kmeans-6-body' or 'rqvae-9-hands'"
            )
        name, part = m.groups()
        if part in names:
            raise LayoutError(path, f"`codec` names two bundles for the {part}: {names[part]}-{part} and {bundle}")
        names[part] = name
    missing = [p for p in present if p not in names]
    extra = [p for p in names if p not in present]
    if missing or extra:
        raise LayoutError(
            path,
            f"`codec` ({text!r}) and the tokens disagree: "
            + "; ".join(
                [f"no bundle named for `{TOKEN_KEYS[p]}`" for p in missing]
                + [f"a bundle named for the {p} but no `{TOKEN_KEYS[p]}`" for p in extra]
            ),
        )
    return {part: names[part] for part in present}
