"""Sampling an action's keyed pose-bone channels over whole frames, in bulk where the keys
allow it: one key on every frame (what `scene.actions.write_motion` writes) is read with one
`foreach_get` per F-curve; anything else (sparse keys, modifiers) is evaluated frame by frame,
as Blender would play it.
"""

from __future__ import annotations

import math

import bpy
import numpy as np

from ..core import rotations as rot
from ..core.errors import SkeletonError
from . import compat


def bone_curves(obj, action, names) -> dict:
    """{(data_path, array_index): F-curve} of `action`'s curves on the pose bones `names` of `obj`."""
    prefixes = tuple(f'pose.bones["{bpy.utils.escape_identifier(n)}"].' for n in names)
    return {
        (fc.data_path, fc.array_index): fc
        for fc in compat.action_fcurves(action, obj)
        if fc.data_path.startswith(prefixes)
    }


def keyed_frames(curves: dict) -> np.ndarray:
    """(n,) the whole frames from the first keyed frame of `curves` to the last (float64)."""
    starts, ends = zip(*(fc.range() for fc in curves.values()))
    return np.arange(math.ceil(min(starts) - 1e-6), math.floor(max(ends) + 1e-6) + 1, dtype=np.float64)


#: Blender's Euler rotation modes: "XYZ" applies X first, so R = Rz @ Ry @ Rx.
_EULER_MODES = {"XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"}
_AXIS = {"X": 0, "Y": 1, "Z": 2}


def sample_curve(fcurve, frames: np.ndarray) -> np.ndarray:
    """(n,) values of `fcurve` at the integer `frames`: straight from the keys when there is
    one key on each of those frames, else by evaluating the curve (its interpolation,
    modifiers and all) frame by frame."""
    points = fcurve.keyframe_points
    if len(points) == len(frames) and not fcurve.modifiers:
        co = np.empty(2 * len(points), dtype=np.float32)
        points.foreach_get("co", co)
        co = co.reshape(-1, 2)
        if np.array_equal(co[:, 0], frames.astype(np.float32)):
            return co[:, 1].astype(np.float64)
    return np.array([fcurve.evaluate(f) for f in frames], dtype=np.float64)


def channel(curves: dict, pose_bone, prop: str, size: int, frames: np.ndarray) -> np.ndarray:
    """(n, size) values of the pose bone's property `prop` over `frames`; components without a
    curve keep the property's current value, as Blender does when it evaluates the pose."""
    path = pose_bone.path_from_id(prop)
    static = np.array(getattr(pose_bone, prop), dtype=np.float64)
    out = np.empty((len(frames), size))
    for i in range(size):
        fcurve = curves.get((path, i))
        out[:, i] = static[i] if fcurve is None else sample_curve(fcurve, frames)
    return out


def rotation_quaternions(curves: dict, pose_bone, frames: np.ndarray) -> np.ndarray:
    """(n, 4) the pose bone's rotation over `frames`, in whichever rotation mode it uses."""
    mode = pose_bone.rotation_mode
    if mode == "QUATERNION":
        return rot.quat_normalize(channel(curves, pose_bone, "rotation_quaternion", 4, frames))
    if mode == "AXIS_ANGLE":
        angle_axis = channel(curves, pose_bone, "rotation_axis_angle", 4, frames)
        axis = angle_axis[:, 1:] / np.maximum(np.linalg.norm(angle_axis[:, 1:], axis=-1, keepdims=True), 1e-12)
        return rot.axis_angle_to_quat(axis * angle_axis[:, :1])
    if mode in _EULER_MODES:
        xyz = channel(curves, pose_bone, "rotation_euler", 3, frames)
        order = mode[::-1]  # the matrix product order of core.rotations.euler_to_matrix
        angles = xyz[:, [_AXIS[a] for a in order]]
        return rot.matrix_to_quat(rot.euler_to_matrix(angles, order))
    raise SkeletonError(f"bone {pose_bone.name!r} has rotation mode {mode!r}, which cannot be read")
