"""Motion coded per part, and tokens files: the decoded motion plus the tokens that make it.

A tokens file is an `.npz` in the BEAT2 layout (the decoded motion: `poses`, `trans`, ...,
at the codecs' 30 fps) with, on top (DESIGN.md, "Ours on top"):
- `tokens_body`, `tokens_hands`: int32 tokens of each coded part, (T,) for k-means (values in
  [0, k)) or (T, Q) for RQ-VAE (values in [0, D)), T the frames of `poses`;
- `codec`: the bundle of each coded part, as one string of bundle names separated by spaces,
  e.g. "kmeans-6-body kmeans-6-hands" (bundle `models/kmeans-6-body`, and so on);
- `token_fps`: tokens per second (the bundles' fps, 30).
Decoding needs only the tokens and the side information the codecs do not code: the root
orientation (`poses[:, :3]`), the translation and the face are taken from the file, the coded
parts from the tokens (their `poses` columns are not read).

Reading checks every key, dtype, shape and token range against the named bundles and refuses
a file with a message naming it; nothing is unpickled.
"""

from __future__ import annotations

import os
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, LayoutError, OutputError, require_file
from ..formats.npz import read_smplx_npz, write_smplx_npz
from ..motion import Motion
from .features import PARTS, at_codec_rate, part_features, position_rmse_cm, with_part_features
from .registry import Codec, EncodedMotion, codec_folder, load_codec

#: The file key of each part's tokens.
TOKEN_KEYS = {part: f"tokens_{part}" for part in PARTS}
CODEC_KEY = "codec"
TOKEN_FPS_KEY = "token_fps"
_BUNDLE_NAME = re.compile(r"^((?:kmeans|rqvae)-\d+)-(" + "|".join(PARTS) + r")$")


def bundle_names(codec_names: dict[str, str]) -> str:
    """The `codec` string of a tokens file: {'body': 'kmeans-6'} -> 'kmeans-6-body'."""
    return " ".join(f"{name}-{part}" for part, name in codec_names.items())


def codec_label(codec_names: dict[str, str]) -> str:
    """A short label of the codecs used: 'kmeans-6' when every part uses it, else
    'kmeans-6 body, kmeans-9 hands'."""
    names = set(codec_names.values())
    if len(names) == 1:
        return names.pop()
    return ", ".join(f"{name} {part}" for part, name in codec_names.items())


def encode_parts(motion: Motion, codec_names: dict[str, str], models_dir=None) -> EncodedMotion:
    """Code each part of `motion` with its codec: codec_names maps part -> codec name
    ('body' -> 'kmeans-6', 'hands' -> 'rqvae-9'); any frame rate (resampled to 30 fps).

    Every bundle is loaded (and verified) before anything is coded. The decoded motion is at
    30 fps, its root, face and uncoded parts those of the input. Raises BundleError for a
    missing or damaged bundle, SkeletonError when the motion is not SMPL-X.
    """
    codecs = {part: load_codec(codec_folder(name, part, models_dir)) for part, name in codec_names.items()}
    motion30 = at_codec_rate(motion)
    tokens, decoded = {}, motion30
    for part, codec in codecs.items():
        tokens[part] = codec.encode(part_features(motion30, part))
        decoded = with_part_features(decoded, part, codec.decode(tokens[part]))
    return EncodedMotion(tokens, replace(decoded, name=f"{motion.name} ({codec_label(codec_names)})"), codecs)


def part_rmse_cm(original: Motion, decoded: Motion, parts) -> dict[str, float]:
    """Per part, the RMSE (cm) between the joint positions (forward kinematics of the part
    alone, features.part_positions) of `original` and `decoded`, both taken at 30 fps."""
    return {part: position_rmse_cm(part_features(original, part), part_features(decoded, part), part) for part in parts}


def write_tokens_file(path: str | os.PathLike, encoded: EncodedMotion) -> Path:
    """Write the decoded motion and its tokens (module docstring) to the `.npz` at `path`,
    atomically. Raises OutputError for another suffix or an unwritable path."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise OutputError(f"{path}: a tokens file is an .npz; give the output a .npz suffix")
    fps = {codec.fps for codec in encoded.codecs.values()}
    if len(fps) != 1:
        raise OutputError(f"cannot write {path}: the codecs code at different rates ({sorted(fps)} fps)")
    extra = {TOKEN_KEYS[part]: np.asarray(t, dtype=np.int32) for part, t in encoded.tokens.items()}
    extra[CODEC_KEY] = np.asarray(bundle_names({part: c.name for part, c in encoded.codecs.items()}))
    extra[TOKEN_FPS_KEY] = np.asarray(fps.pop(), dtype=np.float32)
    return write_smplx_npz(path, encoded.decoded, extra=extra)


@dataclass(frozen=True)
class TokensFile:
    """A checked tokens file. tokens: part -> int64 tokens; codecs: part -> the loaded Codec
    named in the file; token_fps; template: the file's motion (root, translation and face are
    what decoding keeps)."""

    path: Path
    tokens: dict[str, np.ndarray]
    codecs: dict[str, Codec]
    token_fps: float
    template: Motion

    def decoded(self) -> Motion:
        """The motion the tokens code: the template with each coded part decoded from its tokens."""
        motion = self.template
        for part, tokens in self.tokens.items():
            motion = with_part_features(motion, part, self.codecs[part].decode(tokens))
        return motion


def _token_arrays(path: Path) -> dict[str, np.ndarray]:
    """The tokens, codec and token_fps arrays present in the archive (no unpickling)."""
    wanted = (*TOKEN_KEYS.values(), CODEC_KEY, TOKEN_FPS_KEY)
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError:
        raise CorruptFileError(path, "not an .npz archive: it is neither a zip archive nor a .npy array") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CorruptFileError(path, f"not a readable .npz archive, perhaps truncated ({exc})") from None
    if isinstance(data, np.ndarray):
        raise LayoutError(path, f"holds a single .npy array {data.shape}, not an .npz tokens file")
    arrays = {}
    with data:
        for key in (k for k in wanted if k in data.files):
            try:
                arrays[key] = data[key]
            except ValueError as exc:
                if "allow_pickle" in str(exc):
                    raise LayoutError(path, f"`{key}` is an object array (pickled Python objects), which is never unpickled") from None
                raise CorruptFileError(path, f"`{key}` is damaged or truncated ({exc})") from None
            except Exception as exc:  # BadZipFile, EOFError, zlib.error: a damaged member
                raise CorruptFileError(path, f"`{key}` is damaged or truncated ({type(exc).__name__}: {exc})") from None
    return arrays


def _codec_names(path: Path, arrays: dict) -> dict[str, str]:
    """part -> codec name from the file's `codec` string, checked against its token keys."""
    present = [part for part, key in TOKEN_KEYS.items() if key in arrays]
    if not present:
        raise LayoutError(
            path,
            f"holds no tokens ({', '.join(f'`{k}`' for k in TOKEN_KEYS.values())}): not a tokens file; "
            "make one with `motion-tokens encode MOTION --codec NAME --out TOKENS.npz`",
        )
    if CODEC_KEY not in arrays:
        raise LayoutError(path, "missing key `codec`: the file does not say which codec bundles made its tokens")
    value = arrays[CODEC_KEY]
    if value.shape != () or value.dtype.kind not in "US":
        raise LayoutError(path, f"`codec` must be one string of bundle names, got {value.dtype} of shape {value.shape}")
    text = str(value.item().decode("utf-8", "replace") if value.dtype.kind == "S" else value.item())
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


def _load_named_codec(path: Path, name: str, part: str, models_dir) -> Codec:
    folder = codec_folder(name, part, models_dir)
    if not folder.is_dir():
        installed = sorted(p.name for p in folder.parent.iterdir() if p.is_dir()) if folder.parent.is_dir() else []
        raise LayoutError(
            path,
            f"names the codec bundle {name}-{part}, which is not installed in {folder.parent} "
            f"(installed: {', '.join(installed) or 'none'})",
        )
    return load_codec(folder)


def _checked_tokens(path: Path, key: str, value: np.ndarray, codec: Codec, frames: int) -> np.ndarray:
    """The tokens as int64, their dtype, shape (frames match `poses`) and range checked."""
    if value.dtype.kind not in "iu":
        raise LayoutError(path, f"`{key}` holds {value.dtype} values; tokens are integers")
    if codec.family == "kmeans":
        shape, size, what = (frames,), codec.k, f"k-means codec {codec.name}: k={codec.k}"
    else:
        shape, size, what = (frames, codec.Q), codec.D, f"RQ-VAE codec {codec.name}: D={codec.D}, Q={codec.Q}"
    if value.shape != shape:
        raise LayoutError(
            path, f"`{key}` has shape {value.shape}, expected {shape} ({what}; {frames} frames in `poses`)"
        )
    if value.size and (value.min() < 0 or value.max() >= size):
        raise LayoutError(
            path, f"`{key}` holds tokens in [{value.min()}, {value.max()}], outside [0, {size}) ({what})"
        )
    return value.astype(np.int64)


def read_tokens_file(path: str | os.PathLike, models_dir=None) -> TokensFile:
    """Read and check a tokens file (module docstring) and load the bundles it names from
    `models_dir` (default the shipped models/).

    Raises MissingFileError, CorruptFileError, LayoutError (no tokens, no or a malformed
    `codec`, a bundle that is not installed, wrong dtype, shape or range, a `token_fps` that is
    not the codecs' rate, a motion that is not the file's) naming the file; BundleError when a
    named bundle is damaged.
    """
    path = Path(require_file(path))
    arrays = _token_arrays(path)
    names = _codec_names(path, arrays)
    codecs = {part: _load_named_codec(path, name, part, models_dir) for part, name in names.items()}

    if TOKEN_FPS_KEY not in arrays:
        raise LayoutError(path, "missing key `token_fps`: the file does not say its token rate")
    fps_value = arrays[TOKEN_FPS_KEY]
    if fps_value.size != 1 or fps_value.dtype.kind not in "iuf":
        raise LayoutError(path, f"`token_fps` must be one number, got {fps_value.dtype} of shape {fps_value.shape}")
    token_fps = float(fps_value.reshape(()))
    for part, codec in codecs.items():
        if abs(token_fps - codec.fps) > 1e-6:
            raise LayoutError(path, f"`token_fps` is {token_fps:g} but codec {codec.name}-{part} codes {codec.fps:g} tokens a second")

    template = read_smplx_npz(path)
    if abs(template.fps - token_fps) > 1e-6:
        raise LayoutError(
            path, f"the motion is at {template.fps:g} fps (`mocap_frame_rate`) but the tokens at {token_fps:g} (`token_fps`)"
        )
    tokens = {
        part: _checked_tokens(path, TOKEN_KEYS[part], arrays[TOKEN_KEYS[part]], codec, template.num_frames)
        for part, codec in codecs.items()
    }
    return TokensFile(path, tokens, codecs, token_fps, template)

