"""The raw fit a capture keeps in its tokens file, beside the decoded motion and the tokens.

Keys on top of the tokens file (core.formats.tokens), all at the file's 30 fps:
- `raw_poses` (T, 165) float32 axis-angle and `raw_trans` (T, 3) metres: the fitted motion
  before coding, in the BEAT2 layout of `poses` and `trans`;
- `found_body`, `found_left_hand`, `found_right_hand` (T,) bool: the frames where MediaPipe
  found that component (the nearest landmark frame of each 30 fps frame); elsewhere the fit
  was filled in or returned to rest, never measured.
A file without them is a plain tokens file; `read_raw_fit` then says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LayoutError, require_file
from ..formats.npz import load_npz_arrays
from ..motion import Motion
from ..skeleton import NUM_SMPLX_JOINTS, smplx_skeleton
from .landmarks import Landmarks

RAW_POSES, RAW_TRANS = "raw_poses", "raw_trans"
FOUND_KEYS = {"body": "found_body", "left_hand": "found_left_hand", "right_hand": "found_right_hand"}


@dataclass(frozen=True)
class RawFit:
    """motion: the raw fit (SMPL-X, the file's fps); found: component -> (T,) bool."""

    motion: Motion
    found: dict[str, np.ndarray]


def found_at(landmarks: Landmarks, num_frames: int, fps: float, start_seconds: float = 0.0) -> dict[str, np.ndarray]:
    """component -> (num_frames,) bool: whether MediaPipe found it in the landmark frame
    nearest to each of `num_frames` frames at `fps` from `start_seconds` into the take."""
    times = start_seconds + np.arange(num_frames) / fps
    src = np.clip(np.rint(times * landmarks.fps).astype(np.int64), 0, landmarks.num_frames - 1)
    masks = {"body": landmarks.body_found, "left_hand": landmarks.left_found, "right_hand": landmarks.right_found}
    return {name: np.asarray(mask, dtype=bool)[src] for name, mask in masks.items()}


def raw_fit_arrays(raw: Motion, found: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The extra arrays of a capture's tokens file (module docstring) for `raw` (SMPL-X, at the
    file's rate) and its `found` masks (found_at)."""
    T = raw.num_frames
    arrays = {RAW_POSES: raw.axis_angle().reshape(T, -1).astype(np.float32),
              RAW_TRANS: raw.trans.astype(np.float32)}
    arrays.update({FOUND_KEYS[name]: np.asarray(mask, dtype=bool) for name, mask in found.items()})
    return arrays


def read_raw_fit(path: str | os.PathLike) -> RawFit:
    """The raw fit in a capture's tokens file; LayoutError naming the file when it has none or
    its shapes disagree."""
    path = Path(require_file(path))
    arrays = load_npz_arrays(path)
    if RAW_POSES not in arrays or RAW_TRANS not in arrays:
        raise LayoutError(path, f"no raw fit ({RAW_POSES}, {RAW_TRANS}): not a capture's tokens file")
    poses, trans = arrays[RAW_POSES], arrays[RAW_TRANS]
    T = poses.shape[0] if poses.ndim == 2 else -1
    if poses.shape != (T, NUM_SMPLX_JOINTS * 3) or trans.shape != (T, 3):
        raise LayoutError(path, f"{RAW_POSES} {poses.shape} and {RAW_TRANS} {trans.shape} are not "
                                f"(T, {NUM_SMPLX_JOINTS * 3}) and (T, 3)")
    found = {}
    for name, key in FOUND_KEYS.items():
        if key in arrays:
            if arrays[key].shape != (T,) or arrays[key].dtype != bool:
                raise LayoutError(path, f"`{key}` is {arrays[key].dtype} {arrays[key].shape}, not ({T},) bool")
            found[name] = arrays[key]
    fps = float(arrays["mocap_frame_rate"]) if "mocap_frame_rate" in arrays else 30.0
    motion = Motion.from_axis_angle(smplx_skeleton(), fps, poses.reshape(T, NUM_SMPLX_JOINTS, 3).astype(np.float64),
                                    trans.astype(np.float64), name=f"{path.stem} raw")
    return RawFit(motion, found)
