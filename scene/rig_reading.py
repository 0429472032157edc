"""A rig armature's action read back as SMPL-X motion: the inverse of `scene.rig`'s keying.

The action is sampled in bulk (`scene.pose_sampling`: one `foreach_get` per F-curve where a
key sits on every frame, as the extension writes them), its pose quaternions turned into local
rotations on the armature's own rest skeleton (`scene.actions.motion_from_pose_channels`),
brought out of the armature's space into the shared frame the forward retargeting used
(`scene.rig_space.RigSpace.from_armature`) and read back through the inverse of the bone map
(`core.retarget.inverse.retarget_from_rig`).

Translation. The forward keys the path on the first mapped bone (the pelvis, Hips, DEF-spine)
with its ancestors (MetaHuman's root) unkeyed. To read a rig keyed elsewhere too (root motion
on MetaHuman's root), the locations of every bone from the root down to that bone are read,
each moving its bone and everything below it by its parent's posed rotation times its rest
rotation times the location, as Blender poses it; other bones' locations are not read (the
rest offsets are fixed, as in `scene.actions.read_motion`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import bpy
import numpy as np

from ..core import rotations as rot
from ..core.errors import SkeletonError
from ..core.kinematics import global_quats
from ..core.motion import Motion
from ..core.retarget import BoneMap, retarget_from_rig
from ..core.skeleton import Skeleton
from . import compat
from .actions import check_armature, motion_from_pose_channels, scene_fps
from .armature import rest_matrices
from .axes import vectors_from_blender
from .pose_sampling import bone_curves, channel, keyed_frames, rotation_quaternions
from .rig_space import ARMATURE_ORIGIN, RigSpace, rig_space


@dataclass
class RigReading:
    """What `read_rig_motion` read.

    motion: the SMPL-X motion (scene frame rate; frame 0 on `frame_start`). action: the action
    read; frame_start: its first keyed whole frame. layout: the layout or map used; bone_map:
    the map as matched to the armature's bones (hand it back to `scene.rig` to key onto the
    same rig). unread: the SMPL-X joints no bone is read from (at rest). warnings: for the user.
    """

    motion: Motion
    action: object
    frame_start: int
    layout: str
    bone_map: BoneMap
    unread: list[str]
    warnings: list[str] = field(default_factory=list)


def _chain_to(skeleton: Skeleton, joint: int) -> list[int]:
    """The joints from the root down to `joint`, root first."""
    chain = [joint]
    while skeleton.parents[chain[-1]] >= 0:
        chain.append(skeleton.parents[chain[-1]])
    return chain[::-1]


def _armature_motion(obj, space: RigSpace, curves: dict, frames: np.ndarray, fps: float) -> Motion:
    """The action's pose on the armature's own rest skeleton (`space.own`, SMPL-X axes,
    armature units): every bone's local rotation; as translation, the root's displacement
    that puts the first mapped bone where the bone locations from the root down to it do."""
    own = space.own
    bones = [n for n in own.names if n != ARMATURE_ORIGIN]
    first = len(own.names) - len(bones)  # 1 with the origin joint standing above several roots
    pose_q = np.tile([1.0, 0.0, 0.0, 0.0], (len(frames), own.num_joints, 1))
    pose_q[:, first:] = np.stack([rotation_quaternions(curves, obj.pose.bones[n], frames) for n in bones], axis=1)
    rest = np.tile(np.eye(3), (own.num_joints, 1, 1))
    rest[first:] = rest_matrices(obj, bones)[:, :3, :3]
    motion = motion_from_pose_channels(own, fps, pose_q, np.zeros((len(frames), 3)), rest)
    anchor = next(j for j, n in enumerate(own.names) if n in space.bone_map.pairs)
    glob = global_quats(motion.rotations, own.parents)
    trans = np.zeros((len(frames), 3))
    for j in _chain_to(own, anchor):  # a few bones, each over all frames at once
        if own.names[j] == ARMATURE_ORIGIN:
            continue
        location = channel(curves, obj.pose.bones[own.names[j]], "location", 3, frames)
        moved = vectors_from_blender(location @ rest[j].T)  # B l, in SMPL-X axes
        p = own.parents[j]
        trans += moved if p < 0 else rot.quat_apply(glob[:, p], moved)
    return replace(motion, trans=trans)


def read_rig_motion(obj, smplx: Skeleton, bone_map=None, action=None, context=None) -> RigReading:
    """The SMPL-X motion (on `smplx`) that the rig armature `obj`'s action plays.

    bone_map: None to detect the layout from the bone names, a layout name, a map file path, a
    RigLayout or a BoneMap (as `scene.rig.retarget_onto_armature` takes it). action: default the
    one `obj` plays. Read over the keyed frame range of the action's bone curves at the scene's
    frame rate, every bone in any rotation mode (channels without keys keep the pose bone's
    current value). The motion has no betas or expressions (`scene.take.with_take` adds what
    the action keeps).

    Raises SkeletonError (RigDetectionError when the layout cannot be told) naming the armature
    before reading any frame: not an armature, no action, no keys on its bones, a map that
    covers none or too little of it (`core.retarget.inverse`).
    """
    context = context or bpy.context
    check_armature(obj, [], "reading a rig's motion")
    action = action or compat.assigned_action(obj)
    if action is None:
        raise SkeletonError(f"armature {obj.name!r} plays no action; assign the action to read")
    space = rig_space(obj, smplx, bone_map)
    curves = bone_curves(obj, action, [n for n in space.own.names if n in space.bone_map.pairs])
    if not curves:
        raise SkeletonError(f"action {action.name!r} has no keys on the bones of {obj.name!r} that the "
                            f"{space.layout!r} bone map reads")
    curves = bone_curves(obj, action, [n for n in space.own.names if n != ARMATURE_ORIGIN])
    frames = keyed_frames(curves)
    own_motion = _armature_motion(obj, space, curves, frames, scene_fps(context.scene))
    try:
        result = retarget_from_rig(space.from_armature(own_motion), space.bone_map, smplx)
    except SkeletonError as exc:
        raise SkeletonError(f"armature {obj.name!r}: {exc}") from None
    motion = Motion(smplx, result.motion.fps, result.motion.rotations, result.motion.trans, name=action.name)
    return RigReading(motion, action, int(frames[0]), space.layout, space.bone_map, result.unmapped,
                      [f"{obj.name!r} ({space.layout}): {w}" for w in result.warnings])
