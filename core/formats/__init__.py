"""Motion files: read any supported file as SMPL-X motion, write by suffix.

- `.npz`: SMPL-X motion (BEAT2 or AMASS layout on reading, BEAT2 on writing), see `npz`.
- `.bvh`: any skeleton (see `bvh`); on reading it is retargeted onto SMPL-X with the shipped
  bone map that fits its joint names.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from ..errors import InputFileError, OutputError
from ..motion import Motion
from ..retarget import bone_map_for, retarget_to_smplx
from ..skeleton import smplx_skeleton
from .bvh import read_bvh, write_bvh
from .npz import read_smplx_npz, write_smplx_npz

__all__ = [
    "MOTION_SUFFIXES", "read_motion", "read_smplx_motion", "write_motion", "read_bvh", "write_bvh", "read_smplx_npz", "write_smplx_npz",
]

log = logging.getLogger(__name__)

#: The motion file types read_motion and write_motion handle.
MOTION_SUFFIXES = (".npz", ".bvh")


def read_motion(path: str | os.PathLike, fps: float | None = 30.0) -> Motion:
    """The SMPL-X motion in `path`, resampled to `fps` (None keeps the file's rate).

    `.npz` files are read as SMPL-X; `.bvh` files are read on their own skeleton and
    retargeted with the shipped bone map that fits their joint names (its warnings and the
    SMPL-X joints left at rest are logged). Raises InputFileError (a subclass of it for a
    missing or damaged file) or SkeletonError when no shipped bone map fits a BVH skeleton.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return read_smplx_npz(path, fps=fps)
    if suffix == ".bvh":
        source = read_bvh(path)
        result = retarget_to_smplx(source, bone_map_for(source.skeleton.names))
        for warning in result.warnings:
            log.warning("%s: %s", path, warning)
        if result.unmapped:
            log.info("%s: SMPL-X joints kept at rest: %s", path, ", ".join(result.unmapped))
        motion = result.motion
        return motion if fps is None else motion.resampled(fps)
    raise InputFileError(
        path,
        f"cannot read {suffix or 'a file without a suffix'} as motion; motion files are {' or '.join(MOTION_SUFFIXES)}",
    )


def read_smplx_motion(path: str | os.PathLike, fps: float | None, smplx_model: str | os.PathLike | None) -> Motion:
    """The motion in `path` as SMPL-X at `fps` (None: the file's rate); on the exact skeleton
    of the user's model for the file's body shape when `smplx_model` (a folder holding
    SMPLX_NEUTRAL.npz) is given, else on the approximate skeleton."""
    motion = read_motion(path, fps=fps)
    if smplx_model is not None:
        skeleton = smplx_skeleton(model_folder=smplx_model, betas=motion.betas)
        motion = dataclasses.replace(motion, skeleton=skeleton)
    return motion


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
