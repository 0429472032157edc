"""Motion files: read any supported file as the motion on its own skeleton, write by suffix.

- `.npz`: SMPL-X motion (BEAT2 or AMASS layout on reading, BEAT2 on writing), see `npz`.
- `.bvh`: any skeleton, read on its own hierarchy (see `bvh`).
Reading a file as SMPL-X motion, whatever its skeleton, is `core.retarget.read_smplx_motion`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputFileError, OutputError
from ..motion import Motion
from .bvh import bvh_joint_names, read_bvh, write_bvh
from .npz import read_smplx_npz, write_smplx_npz

__all__ = [
    "MOTION_SUFFIXES", "read_motion", "write_motion", "bvh_joint_names", "read_bvh", "write_bvh", "read_smplx_npz", "write_smplx_npz",
]

#: The motion file types read_motion and write_motion handle.
MOTION_SUFFIXES = (".npz", ".bvh")


def read_motion(path: str | os.PathLike, fps: float | None = None, warnings: list[str] | None = None) -> Motion:
    """The motion in `path` on the file's own skeleton, resampled to `fps` (None keeps the
    file's rate).

    `.npz` files hold SMPL-X motion (55 joints); `.bvh` files give their own hierarchy, in
    metres. Notes on what reading approximated (a BVH's guessed unit, joints whose movement
    is approximated) are appended to `warnings`, or logged when it is None. Raises
    InputFileError (a subclass of it for a missing or damaged file).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return read_smplx_npz(path, fps=fps)
    if suffix == ".bvh":
        motion = read_bvh(path, warnings=warnings)
        return motion if fps is None else motion.resampled(fps)
    raise InputFileError(
        path,
        f"cannot read {suffix or 'a file without a suffix'} as motion; motion files are {' or '.join(MOTION_SUFFIXES)}",
    )


def write_motion(path: str | os.PathLike, motion: Motion) -> Path:
    """Write `motion` by the suffix of `path`: `.npz` (SMPL-X, BEAT2 layout) or `.bvh` (cm).

    Raises OutputError for any other suffix or an unwritable path, SkeletonError when an
    `.npz` is asked for a motion that is not on the SMPL-X skeleton.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return write_smplx_npz(path, motion)
    if suffix == ".bvh":
        return write_bvh(path, motion)
    raise OutputError(
        f"cannot write {path}: unsupported suffix {suffix or '(none)'!r}; motion files are "
        f"{' or '.join(MOTION_SUFFIXES)}"
    )
