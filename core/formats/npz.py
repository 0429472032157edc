"""SMPL-X motion in `.npz` files: read BEAT2 and AMASS layouts, write the BEAT2 layout.

Layouts (see DESIGN.md, "Motion files: the SMPL-X npz layout"):
- BEAT2 (`smplxflame_30`), Y up: `poses` (T, 165) axis-angle for the 55 SMPL-X joints in the
  standard order, `trans` (T, 3) metres, `betas` (300,), `expressions` (T, 100) optional,
  `mocap_frame_rate`, `gender`, `model`.
- AMASS SMPL-X, Z up: the same `poses`/`trans`/`betas` (16) plus `root_orient`, `pose_body`,
  `pose_hand`, `pose_jaw`, `pose_eye`, `surface_model_type`, `mocap_frame_rate`. The reader
  turns it to Y up.
- AMASS SMPL-H, Z up: `poses` (T, 156) for 52 joints (no jaw or eyes: they are set to zero),
  `mocap_framerate`.
Nothing is ever unpickled: files are opened with `allow_pickle=False` and an object array in
a key we read is refused.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .. import rotations as rot
from ..errors import (
    CorruptFileError,
    LayoutError,
    OutputError,
    SkeletonError,
    require_file,
)
from ..motion import Motion, require_finite
from ..skeleton import (
    NUM_SMPLX_JOINTS,
    SMPLX_JOINT_NAMES,
    SMPLX_PARENTS,
    smplx_skeleton,
)
from .atomic import write_atomically

#: Keys the BEAT2 layout writes; `extra` arrays may not reuse them.
BEAT2_KEYS = ("poses", "trans", "betas", "expressions", "mocap_frame_rate", "gender", "model")
NUM_BETAS = 300
NUM_EXPRESSIONS = 100

#: Keys only AMASS writes; any of them means the file is Z up.
_AMASS_KEYS = (
    "surface_model_type", "root_orient", "pose_body", "pose_hand", "pose_jaw", "pose_eye", "mocap_framerate",
)
_FRAME_RATE_KEYS = ("mocap_frame_rate", "mocap_framerate")
_SMPLH_WIDTH = 52 * 3  # root + 21 body + 2 x 15 hand joints
_FRAME_BLOCK = 2048  # frames converted to axis-angle at once when writing
_SMPLX_WIDTH = NUM_SMPLX_JOINTS * 3

#: Z-up -> Y-up: -90 degrees about X, so +Z becomes +Y and +Y becomes -Z (a proper rotation).
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def read_smplx_npz(path: str | os.PathLike, fps: float | None = None) -> Motion:
    """The SMPL-X motion in a BEAT2 or AMASS `.npz` file, Y up, on `smplx_skeleton()`.

    fps: if given and different from the file's `mocap_frame_rate`, the motion is resampled
        (slerp) to it.
    Returns a Motion with rotations (T, 55, 4), trans (T, 3) metres, expressions (T, E) or
    None, betas (B,) or None, the file's `gender` (None without one), named after the file.
    Raises MissingFileError, CorruptFileError (not an npz archive, truncated, damaged) or
    LayoutError (a key missing, a shape wrong, NaN values, zero frames, an object array).
    """
    path = Path(require_file(path))
    arrays = load_npz_arrays(path)
    poses = _pose_array(path, arrays)
    T = poses.shape[0]
    trans = _float_array(path, arrays, "trans", (T, 3))
    betas = _float_array(path, arrays, "betas", None, required=False)
    if betas is not None and betas.ndim != 1:
        raise LayoutError(path, f"`betas` must be one row of shape coefficients (B,), got shape {betas.shape}")
    expressions = _float_array(path, arrays, "expressions", None, required=False)
    if expressions is not None and (expressions.ndim != 2 or expressions.shape[0] != T):
        raise LayoutError(
            path, f"`expressions` must be ({T}, E) to match `poses` ({T} frames), got {expressions.shape}"
        )
    file_fps = _frame_rate(path, arrays)

    z_up = _is_z_up(arrays, poses.shape[1])
    if poses.shape[1] == _SMPLH_WIDTH:  # SMPL-H: insert zero jaw and eyes after the body
        poses = np.concatenate([poses[:, :66], np.zeros((T, 9)), poses[:, 66:]], axis=1)
    quats = rot.axis_angle_to_quat(poses.reshape(T, NUM_SMPLX_JOINTS, 3))
    skeleton = smplx_skeleton()
    if z_up:
        quats, trans = _z_up_to_y_up(quats, trans, skeleton.offsets[0])

    motion = Motion(skeleton, file_fps, quats, trans, expressions=expressions, betas=betas, name=path.stem,
                    gender=_gender(arrays))
    if fps is not None and abs(float(fps) - file_fps) > 1e-9:
        motion = motion.resampled(fps)
    return motion


def write_smplx_npz(path: str | os.PathLike, motion: Motion, extra: dict[str, np.ndarray] | None = None) -> Path:
    """Write `motion` in the BEAT2 layout (float32), plus the `extra` arrays, atomically.

    poses (T, 165) axis-angle, trans (T, 3), betas (300,) (the motion's, zero-padded; zeros if
    it has none), expressions (T, 100) (zero-padded; zeros if none), mocap_frame_rate (an int,
    or a float where the frame rate is not a whole number), gender (the motion's, else
    'neutral'), model 'smplx2020'.
    extra: more arrays to store (e.g. `tokens_body`); floating arrays are stored as float32,
    others as given. Names may not clash with the layout's keys and object arrays are refused.
    Raises SkeletonError if the motion is not on the SMPL-X skeleton, OutputError if it has no
    frames, holds NaN or infinite values (core.motion.require_finite) or cannot be written.
    Returns the path written.
    """
    path = Path(path)
    sk = motion.skeleton
    if sk.names != SMPLX_JOINT_NAMES or sk.parents != SMPLX_PARENTS:
        raise SkeletonError(
            f"cannot write {path} in the SMPL-X layout: the motion {motion.name!r} is on a "
            f"{sk.num_joints}-joint skeleton ({', '.join(sk.names[:4])}, ...), not the 55-joint "
            "SMPL-X one; retarget it to SMPL-X first"
        )
    T = motion.num_frames
    if T == 0:
        raise OutputError(f"cannot write {path}: the motion {motion.name!r} has no frames")
    require_finite(motion, path)
    betas = _padded(path, "betas", motion.betas, NUM_BETAS)
    if motion.expressions is None:
        expressions = np.zeros((T, NUM_EXPRESSIONS), dtype=np.float32)
    else:
        expressions = _padded(path, "expressions", motion.expressions, NUM_EXPRESSIONS)
    fps = motion.fps
    frame_rate = np.int32(round(fps)) if abs(fps - round(fps)) < 1e-6 else np.float64(fps)
    arrays = {
        "poses": _poses_float32(motion),
        "trans": motion.trans.astype(np.float32),
        "betas": betas.astype(np.float32),
        "expressions": expressions.astype(np.float32),
        "mocap_frame_rate": np.asarray(frame_rate),
        "gender": np.asarray(motion.gender or "neutral"),
        "model": np.asarray("smplx2020"),
    }
    for name, value in (extra or {}).items():
        if name in arrays:
            raise OutputError(f"cannot write {path}: extra array {name!r} would replace the layout's own key")
        value = np.asarray(value)
        if value.dtype.hasobject:
            raise OutputError(
                f"cannot write {path}: extra array {name!r} holds Python objects; store numbers or strings"
            )
        arrays[name] = value.astype(np.float32) if np.issubdtype(value.dtype, np.floating) else value
    return write_atomically(path, lambda f: np.savez(f, **arrays))


def _poses_float32(motion: Motion) -> np.ndarray:
    """(T, 165) float32 axis-angle, converted _FRAME_BLOCK frames at a time: no float64 copy of
    the whole take (a 100 MB BVH's 80,000 frames would need 106 MB of it, and its page faults)."""
    T = motion.num_frames
    poses = np.empty((T, _SMPLX_WIDTH), dtype=np.float32)
    for start in range(0, T, _FRAME_BLOCK):
        block = rot.quat_to_axis_angle(motion.rotations[start : start + _FRAME_BLOCK])
        poses[start : start + _FRAME_BLOCK] = block.reshape(len(block), _SMPLX_WIDTH)
    return poses


def _gender(arrays) -> str | None:
    """The file's `gender` string, or None where it has none (or not a string)."""
    value = arrays.get("gender")
    if value is None or value.ndim != 0 or value.dtype.kind not in "US":
        return None
    text = value.item()
    return (text.decode() if isinstance(text, bytes) else str(text)).strip() or None


def load_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array in the archive, read without unpickling; refuses damaged files."""
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError:  # neither zip nor .npy: numpy would have to unpickle it, and never does
        raise CorruptFileError(path, "not an .npz archive: it is neither a zip archive nor a .npy array") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CorruptFileError(path, f"not a readable .npz archive, perhaps truncated ({exc})") from None
    if isinstance(data, np.ndarray):
        raise LayoutError(path, f"holds a single .npy array {data.shape}, not an .npz archive of named arrays")
    arrays = {}
    with data:
        for key in data.files:
            try:
                arrays[key] = data[key]
            except ValueError as exc:
                if "allow_pickle" in str(exc):
                    raise LayoutError(
                        path,
                        f"`{key}` is an object array (pickled Python objects), which is never "
                        "unpickled; store it as a plain numeric or string array",
                    ) from None
                raise CorruptFileError(path, f"`{key}` is damaged or truncated ({exc})") from None
            except Exception as exc:  # BadZipFile, EOFError, zlib.error, OSError: a damaged member
                problem = f"`{key}` is damaged or truncated ({type(exc).__name__}: {exc})"
                raise CorruptFileError(path, problem) from None
    return arrays


def _pose_array(path: Path, arrays) -> np.ndarray:
    """(T, 165) or (T, 156) float64 axis-angle poses, checked."""
    if "poses" not in arrays:
        raise LayoutError(
            path,
            "missing key `poses` (the (T, 165) SMPL-X axis-angle poses); "
            f"the file has: {', '.join(arrays) or 'nothing'}",
        )
    poses = arrays["poses"]
    if poses.ndim != 2 or poses.shape[1] not in (_SMPLX_WIDTH, _SMPLH_WIDTH):
        raise LayoutError(
            path,
            f"`poses` has shape {poses.shape}; expected (T, {_SMPLX_WIDTH}) for the 55 SMPL-X joints "
            f"(or (T, {_SMPLH_WIDTH}) for 52 SMPL-H joints)",
        )
    if poses.shape[0] == 0:
        raise LayoutError(path, "`poses` has zero frames")
    return _float_array(path, arrays, "poses", poses.shape)


def _float_array(path: Path, arrays, key: str, shape, required: bool = True) -> np.ndarray | None:
    """arrays[key] as float64, its shape and finiteness checked; None if absent and not required."""
    if key not in arrays:
        if required:
            raise LayoutError(path, f"missing key `{key}`")
        return None
    a = arrays[key]
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise LayoutError(path, f"`{key}` holds {a.dtype} values, expected numbers")
    if shape is not None and a.shape != tuple(shape):
        raise LayoutError(path, f"`{key}` has shape {a.shape}, expected {tuple(shape)}")
    a = a.astype(np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        first = np.unravel_index(np.argmax(bad), a.shape)
        where = f" (first at frame {first[0]})" if a.ndim == 2 else ""
        raise LayoutError(path, f"`{key}` has {int(bad.sum())} NaN or infinite values{where}")
    return a


def _frame_rate(path: Path, arrays) -> float:
    for key in _FRAME_RATE_KEYS:
        if key in arrays:
            value = arrays[key]
            if value.size != 1 or not np.issubdtype(value.dtype, np.number):
                raise LayoutError(path, f"`{key}` must be one number, got {value.dtype} of shape {value.shape}")
            fps = float(value.reshape(()))
            if not (np.isfinite(fps) and fps > 0):
                raise LayoutError(path, f"`{key}` is {fps}; a frame rate must be positive")
            return fps
    raise LayoutError(path, "missing key `mocap_frame_rate`: the file does not say its frame rate")


def _is_z_up(arrays, poses_width: int) -> bool:
    """AMASS files (Z up) carry AMASS-only keys or 52-joint SMPL-H poses; BEAT2 is Y up."""
    return poses_width == _SMPLH_WIDTH or any(k in arrays for k in _AMASS_KEYS)


def _z_up_to_y_up(quats: np.ndarray, trans: np.ndarray, root_rest: np.ndarray):
    """Turn a Z-up motion to Y up: rotate the root orientation and the root's world position.

    The root rotates about its own rest position `root_rest`, so its world position is
    root_rest + trans; that point is rotated and trans re-derived from it.
    """
    q_up = rot.matrix_to_quat(Z_UP_TO_Y_UP)
    quats = quats.copy()
    quats[:, 0] = rot.quat_normalize(rot.quat_multiply(q_up, quats[:, 0]))
    root_world = (root_rest + trans) @ Z_UP_TO_Y_UP.T
    return quats, root_world - root_rest


def _padded(path: Path, key: str, values, width: int) -> np.ndarray:
    """values (..., n) zero-padded to (..., width); zeros (width,) for None; refuses n > width."""
    if values is None:
        return np.zeros(width)
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[-1]
    if n > width:
        raise OutputError(f"cannot write {path}: {key} has {n} coefficients, the layout holds at most {width}")
    pad = [(0, 0)] * (values.ndim - 1) + [(0, width - n)]
    return np.pad(values, pad)
