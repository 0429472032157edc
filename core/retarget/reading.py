"""Read any motion file as SMPL-X motion: the readers' own motion, retargeted where needed."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from ..errors import SkeletonError, pass_on
from ..formats import bvh_joint_names, read_bvh, read_motion
from ..motion import Motion
from ..skeleton import smplx_skeleton
from .bone_maps import BoneMap, bone_map_for
from .hands import hand_side, retarget_hand
from .transfer import retarget_to_smplx

log = logging.getLogger(__name__)


def read_smplx_motion(
    path: str | os.PathLike,
    fps: float | None,
    smplx_model: str | os.PathLike | None = None,
    warnings: list[str] | None = None,
) -> Motion:
    """The motion in `path` as SMPL-X (55 joints) at `fps` (None: the file's rate).

    `.npz` files are SMPL-X already. A `.bvh` is read on its own skeleton and retargeted onto
    SMPL-X with the shipped bone map that fits its joint names (Bandai's; a BVH with SMPL-X
    joint names through the identity map), then resampled. A hand-only BVH (ManipNet's: a
    wrist and its fingers) goes onto the SMPL-X hand its file name names (`hands`), the body
    at rest. With `smplx_model` (a folder
    holding SMPLX_NEUTRAL.npz) the motion is put on the exact skeleton of the user's model for
    the file's body shape, else it stays on the approximate one.
    Notes for the user (the reader's, the retargeting's, the SMPL-X joints left at rest) are
    appended to `warnings`, or logged when it is None. Raises InputFileError (a subclass of it
    for a missing or damaged file) or SkeletonError, naming the file, when no shipped bone map
    fits a BVH or its tree is not the one its joint names promise (`checks`); a warning when
    its left and right look swapped.
    """
    path = Path(path)
    if path.suffix.lower() == ".bvh":
        motion = _bvh_as_smplx(path, fps, warnings)
    else:
        motion = read_motion(path, fps=fps, warnings=warnings)
    if smplx_model is not None:
        skeleton = smplx_skeleton(model_folder=smplx_model, betas=motion.betas)
        motion = dataclasses.replace(motion, skeleton=skeleton)
    return motion


def _bvh_as_smplx(path: Path, fps: float | None, warnings: list[str] | None) -> Motion:
    # Retarget at the file's own rate and resample after: the transfer is per frame, so this
    # keeps every captured frame's pose exact.
    try:
        bone_map = bone_map_for(bvh_joint_names(path))
        if bone_map.is_hand_only:
            return _hand_as_smplx(path, bone_map, fps, warnings)
        result = retarget_to_smplx(read_motion(path, fps=None, warnings=warnings), bone_map)
    except SkeletonError as exc:  # the skeleton is the file's: say which file
        raise SkeletonError(f"{path}: {exc}") from None
    pass_on(result.warnings, warnings, log, path, logging.WARNING)
    if result.unmapped:
        pass_on([f"SMPL-X joints kept at rest: {', '.join(result.unmapped)}"], warnings, log, path)
    motion = result.motion
    return motion if fps is None else motion.resampled(fps)


def _hand_as_smplx(path: Path, bone_map: BoneMap, fps: float | None, warnings: list[str] | None) -> Motion:
    side = hand_side(path, bone_map)  # before the frames are read: a badly named file fails fast
    source = read_bvh(path, units=bone_map.metres_per_unit or "auto", warnings=warnings)
    result = retarget_hand(source, bone_map, side)
    pass_on(result.warnings, warnings, log, path, logging.WARNING)
    pass_on([f"a {bone_map.name} {side} hand without a body: only the {side} fingers move"], warnings, log, path)
    motion = result.motion
    return motion if fps is None else motion.resampled(fps)
