"""Motions written to and read from armature actions, in bulk.

The transform. For a bone j with rest rotation B_j in armature space (`bone.matrix_local`)
and a motion whose local rotation of joint j is L_j (SMPL-X axes), Blender's pose is

    P_j = B_j^-1 (C L_j C^T) B_j          (the pose bone's quaternion, rotation mode QUATERNION)
    t_0 = B_0^-1 (C trans)               (the root bone's location)

with C the axis change of `axes`. Then every bone's evaluated rotation in armature space is
(C G_j C^T) B_j and its head lies at C p_j, where G_j and p_j are the motion's forward
kinematics, as long as the armature's rest heads are at C times the skeleton's rest joint
positions (bone rolls and rest orientations can be anything). Keys are in the armature
object's own space, as every action is: the evaluated world pose is `obj.matrix_world` applied
to that, so moving, turning or scaling the object places the whole motion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np

from ..core import rotations as rot
from ..core.errors import MotionTokensError, SkeletonError
from ..core.motion import Motion, require_finite
from ..core.skeleton import Skeleton
from ..core.steps import Progress, Steps, chunk_what, frame_chunks, run_steps
from . import compat
from .armature import missing_bones, rest_matrices
from .axes import vectors_from_blender, vectors_to_blender
from .pose_sampling import bone_curves, channel, keyed_frames, rotation_quaternions

#: `FCurve.keyframe_points.foreach_set("interpolation", ...)` value of LINEAR.
_LINEAR = 1
#: Rest heads further than this from the skeleton's rest pose get a warning.
_REST_TOLERANCE = 0.01  # metres
_MAX_ACTION_NAME = 50  # characters; Blender 4.x cuts ID names at 63 bytes


@dataclass
class WriteResult:
    """What `write_motion` made: the action, its frame range (inclusive), how many keys it
    holds and what the user should know (rest pose differences, a replaced action kept)."""

    action: object
    frame_start: int
    frame_end: int
    keys_written: int
    warnings: list[str] = field(default_factory=list)


def scene_fps(scene) -> float:
    """The scene's frame rate in frames per second (fps / fps_base)."""
    return scene.render.fps / scene.render.fps_base


def unique_action_name(base: str) -> str:
    """`base`, or `base [2]`, `base [3]`, ... : the first name no action has yet."""
    base = (base.strip() or "Motion")[:_MAX_ACTION_NAME]
    if bpy.data.actions.get(base) is None:
        return base
    k = 2
    while bpy.data.actions.get(f"{base} [{k}]") is not None:
        k += 1
    return f"{base} [{k}]"


def _quats_to_blender(q: np.ndarray) -> np.ndarray:
    """(..., 4) rotations in SMPL-X axes -> the same rotations in Blender axes: the vector part
    turns with the axes (the quaternion of C R C^T is (w, C v))."""
    return np.concatenate([q[..., :1], vectors_to_blender(q[..., 1:])], axis=-1)


def _quats_from_blender(q: np.ndarray) -> np.ndarray:
    return np.concatenate([q[..., :1], vectors_from_blender(q[..., 1:])], axis=-1)


def sign_continuous(q: np.ndarray) -> np.ndarray:
    """(T, ..., 4) quaternions with each frame's sign flipped where needed so that consecutive
    frames have a non-negative dot product (q and -q are one rotation, but interpolating
    between them per channel would spin the long way round)."""
    q = np.array(q, dtype=np.float64)
    if len(q) < 2:
        return q
    flips = np.sum(q[1:] * q[:-1], axis=-1) < 0  # (T-1, ...)
    sign = np.cumprod(np.where(flips, -1.0, 1.0), axis=0)
    q[1:] *= sign[..., None]
    return q


def pose_quaternions(local_rotations: np.ndarray, rest_rotations: np.ndarray, before_signed=None) -> np.ndarray:
    """(T, J, 4) pose-bone quaternions, sign-continuous over time, for local rotations
    (T, J, 4) in SMPL-X axes on bones with rest rotations (J, 3, 3) in armature space.

    For a slice, `local_rotations` starts with the frame before it and `before_signed` (J, 4)
    is that frame's result: the slice's T - 1 frames are returned, signs continuing it (flips
    are by +-1 only, so slices together equal the whole to the bit)."""
    rest_q = rot.matrix_to_quat(rest_rotations)  # (J, 4)
    local_b = _quats_to_blender(local_rotations)  # (T, J, 4)
    pose_q = sign_continuous(rot.quat_normalize(rot.quat_multiply(rot.quat_conjugate(rest_q), rot.quat_multiply(local_b, rest_q))))
    if before_signed is None:
        return pose_q
    carried = np.where(np.sum(pose_q[0] * before_signed, axis=-1) < 0, -1.0, 1.0)  # (J,)
    return pose_q[1:] * carried[:, None]


def pose_channels(motion: Motion, rest_rotations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pose-bone values that make an armature play `motion`.

    rest_rotations: (J, 3, 3) rest rotation of each joint's bone in armature space.
    Returns (quaternions (T, J, 4) sign-continuous over time, root location (T, 3)).
    """
    location = vectors_to_blender(motion.trans) @ rest_rotations[0]  # B_0^T v, row vectors
    return pose_quaternions(motion.rotations, rest_rotations), location


def motion_from_pose_channels(skeleton: Skeleton, fps: float, pose_q, location, rest_rotations, name="") -> Motion:
    """The inverse of `pose_channels`: pose-bone quaternions (T, J, 4) and root location
    (T, 3) on bones with rest rotations (J, 3, 3) -> a Motion on `skeleton`."""
    rest_q = rot.matrix_to_quat(rest_rotations)
    local_b = rot.quat_multiply(rest_q, rot.quat_multiply(rot.quat_normalize(pose_q), rot.quat_conjugate(rest_q)))
    trans = vectors_from_blender(np.asarray(location, dtype=np.float64) @ rest_rotations[0].T)
    return Motion(skeleton, fps, rot.quat_normalize(_quats_from_blender(local_b)), trans, name=name)


def check_armature(obj, names, what: str) -> None:
    """Raise SkeletonError unless `obj` is an armature with a bone for every name."""
    if obj is None or obj.type != "ARMATURE":
        label = "nothing" if obj is None else f"{obj.name!r} (a {obj.type.lower()})"
        raise SkeletonError(f"{what} needs an armature object, got {label}; select an armature")
    if obj.animation_data is not None and obj.animation_data.use_tweak_mode:
        raise SkeletonError(
            f"armature {obj.name!r} is in NLA tweak mode; leave it (Tab in the NLA editor) first"
        )
    if obj.pose is None:  # a new armature object gets its pose at the next view layer update
        bpy.context.view_layer.update()
        if obj.pose is None:
            raise SkeletonError(f"armature {obj.name!r} has no pose; link it into the scene's view layer")
    missing = missing_bones(obj, names)
    if missing:
        shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        raise SkeletonError(
            f"armature {obj.name!r} has no bones named {shown} ({len(missing)} of the "
            f"{len(names)} joints of the motion's skeleton); use an armature with these bone "
            f"names (Add > Armature from the SMPL-X skeleton) or retarget the motion to it first"
        )


def _rest_pose_warning(obj, skeleton: Skeleton, names: list[str]) -> str | None:
    """A warning when the rest heads of the bones `names`, relative to the first of them, are
    more than 1 cm from the skeleton's (Blender axes); None when they agree."""
    bones = obj.data.bones
    heads = np.array([bones[n].head_local for n in names], dtype=np.float64)
    expected = vectors_to_blender(skeleton.rest_positions()[[skeleton.index(n) for n in names]])
    error = np.linalg.norm((heads - heads[0]) - (expected - expected[0]), axis=-1)
    worst = int(np.argmax(error))
    if error[worst] <= _REST_TOLERANCE:
        return None
    return (
        f"the rest pose of {obj.name!r} differs from the motion's skeleton by up to "
        f"{100 * error[worst]:.1f} cm (bone {names[worst]!r}); the joint rotations are "
        f"applied as they are, so joint positions differ by about as much"
    )


def _keyed_bones(skeleton: Skeleton, bones, location_bone: str | None) -> tuple[list[str], str]:
    """(the joints to key, in skeleton order; the joint whose bone gets the translation),
    checked: all are joints of `skeleton`, and no keyed joint is an ancestor of the location
    bone (its translation assumes the bones above it at rest)."""
    if bones is None:
        keyed = list(skeleton.names)
    else:
        wanted = set(bones)
        unknown = sorted(wanted - set(skeleton.names))
        if unknown:
            raise ValueError(f"bones to key are not joints of the motion's skeleton: {', '.join(unknown)}")
        keyed = [n for n in skeleton.names if n in wanted]
    location = skeleton.names[0] if location_bone is None else location_bone
    j = skeleton.index(location)
    ancestors = []
    while skeleton.parents[j] >= 0:
        j = skeleton.parents[j]
        ancestors.append(skeleton.names[j])
    keyed_above = [a for a in ancestors if a in set(keyed)]
    if keyed_above:
        raise ValueError(f"the location bone {location!r} has keyed ancestors ({', '.join(keyed_above)})")
    return keyed, location


def _key_curve(container, data_path: str, index: int, group: str, frames: np.ndarray, values: np.ndarray) -> None:
    """One F-curve with a LINEAR key at each of `frames` (n,) holding `values` (n,)."""
    fcurve = compat.new_fcurve(container, data_path, index, group)
    points = fcurve.keyframe_points
    points.add(len(frames))
    co = np.empty((len(frames), 2), dtype=np.float32)
    co[:, 0] = frames
    co[:, 1] = values
    points.foreach_set("co", co.ravel())
    points.foreach_set("interpolation", np.full(len(frames), _LINEAR, dtype=np.int32))
    fcurve.update()


def write_motion(obj, motion: Motion, frame_start=1, action_name=None, context=None, bones=None, location_bone=None):
    """`write_motion_steps` run to the end; the WriteResult."""
    return run_steps(write_motion_steps(obj, motion, frame_start, action_name, context, bones, location_bone))


def write_motion_steps(obj, motion: Motion, frame_start: int = 1, action_name: str | None = None, context=None,
                       bones=None, location_bone: str | None = None, chunk: int | None = None) -> Steps:
    """Key `motion` onto the armature `obj` as a new action, and make `obj` play it.

    The armature needs a bone named as each joint of the motion's skeleton, in the skeleton's
    rest pose (any bone rolls); other bones are left alone. The motion is resampled to the
    scene's frame rate and keyed from `frame_start` on, one LINEAR key per frame: the
    rotation quaternion of every joint's bone (rotation mode set to QUATERNION) and the
    location of the root bone (see the module docstring for the transform).

    bones: the joints to key (default: all); the bones of the other joints are not keyed and
    need not exist (a retargeted rig's unmapped bones, a joint standing for the armature's
    origin). location_bone: the joint whose bone is keyed with the motion's translation
    (default: the root). Its ancestors must not be keyed: they are taken to stay at rest, so
    the bone moves by the root's translation t as `B^-1 (C t)` (B its rest rotation).

    The action gets `action_name` (default: the motion's name) or, when an action already
    has that name, the first free "<name> [k]"; no existing action is changed. When the
    action `obj` played before is left with no user, it gets a fake user so it is kept.

    Raises SkeletonError naming the object and the missing bones before anything in the scene
    changes; on any error the half-made action is removed and the bones' rotation modes
    restored.

    As steps (core.steps): Progress(frames done, 2 x frames handed in) while the keyframe
    channels are computed `chunk` frames at a time, then one step keys them all (the bulk
    `foreach_set`s) and makes the action, so closing the steps before that leaves the scene
    as it was; the WriteResult.
    """
    context = context or bpy.context
    require_finite(motion, f"the armature {obj.name!r}")
    keyed, location_bone, frame_start = _write_checks(obj, motion, frame_start, bones, location_bone)
    units = motion.num_frames  # Progress counts the frames handed in, whatever the scene's rate
    motion = motion.resampled(scene_fps(context.scene))
    n = motion.num_frames
    pose_q, location = yield from _keyed_channels(obj, motion, keyed, location_bone, chunk, units)
    frames = np.arange(frame_start, frame_start + n, dtype=np.float64)
    warnings = [w for w in (_rest_pose_warning(obj, motion.skeleton, keyed),) if w]
    yield Progress(units, 2 * units, f"keying {n} frames of {len(keyed)} bones")
    previous = compat.assigned_action(obj)
    action = _key_new_action(obj, unique_action_name(action_name or motion.name), keyed, location_bone,
                             frames, pose_q, location)
    if previous is not None and previous != action and previous.users == 0:
        previous.use_fake_user = True
        warnings.append(f"the action {previous.name!r} that {obj.name!r} played before is kept with a fake user")
    keys = n * (4 * len(keyed) + 3)
    return WriteResult(action, frame_start, frame_start + n - 1, keys, warnings)


def _write_checks(obj, motion: Motion, frame_start, bones, location_bone) -> tuple[list[str], str, int]:
    """(the joints to key, the location bone, the whole first frame) for `write_motion`, or
    SkeletonError / MotionTokensError / ValueError before anything in the scene changes."""
    keyed, location_bone = _keyed_bones(motion.skeleton, bones, location_bone)
    check_armature(obj, keyed + ([location_bone] if location_bone not in keyed else []), "writing a motion")
    if motion.num_frames == 0:
        raise MotionTokensError(f"motion {motion.name!r} has no frames; nothing to write to {obj.name!r}")
    if int(frame_start) != frame_start:
        raise ValueError(f"frame_start must be a whole frame, got {frame_start}")
    return keyed, location_bone, int(frame_start)


def _keyed_channels(obj, motion: Motion, keyed: list[str], location_bone: str, chunk, units: int) -> Steps:
    """Steps of `chunk` frames, Progress out of 2 x `units`; (pose quaternions (T, len(keyed), 4),
    location (T, 3) of the location bone) making `obj` play `motion` (at the scene's rate)."""
    rest = rest_matrices(obj, keyed)[:, :3, :3]
    local = motion.rotations[:, [motion.skeleton.index(n) for n in keyed]]
    n = motion.num_frames
    pose_q = np.empty(local.shape)
    for frames in frame_chunks(n, chunk):
        yield Progress(frames.start * units // max(n, 1), 2 * units, chunk_what("keyframe channels,", frames, n))
        if frames.start == 0:
            pose_q[frames] = pose_quaternions(local[frames], rest)
        else:  # from the frame before, so the signs continue across the slices
            pose_q[frames] = pose_quaternions(local[frames.start - 1 : frames.stop], rest, pose_q[frames.start - 1])
    location_rest = rest_matrices(obj, [location_bone])[0, :3, :3]
    return pose_q, vectors_to_blender(motion.trans) @ location_rest  # B^T (C t), row vectors


def _key_new_action(obj, name: str, keyed, location_bone, frames, pose_q, location):
    """A new action `name` keyed with the channels and assigned to `obj`; the action. On any
    error the half-made action is removed, the action `obj` played and the bones' rotation
    modes restored, and the error raised again."""
    pose_bones = [obj.pose.bones[n] for n in keyed]
    old_modes = [pb.rotation_mode for pb in pose_bones]
    previous = compat.assigned_action(obj)
    previous_slot = obj.animation_data.action_slot if previous is not None and compat.has_slotted_actions() else None
    action, container, slot = compat.new_object_action(obj, name)
    try:
        for j, pb in enumerate(pose_bones):
            pb.rotation_mode = "QUATERNION"
            path = pb.path_from_id("rotation_quaternion")
            for i in range(4):
                _key_curve(container, path, i, pb.name, frames, pose_q[:, j, i])
        mover = obj.pose.bones[location_bone]
        for i in range(3):
            _key_curve(container, mover.path_from_id("location"), i, mover.name, frames, location[:, i])
        compat.assign_action(obj, action, slot)
    except BaseException:
        if previous is not None:
            compat.assign_action(obj, previous, previous_slot)
        elif obj.animation_data is not None:
            obj.animation_data.action = None
        bpy.data.actions.remove(action)
        for pb, mode in zip(pose_bones, old_modes):
            pb.rotation_mode = mode
        raise
    return action


# --- reading -----------------------------------------------------------------------------

def read_motion(obj, skeleton: Skeleton, action=None, context=None) -> Motion:
    """The motion an armature action plays, on `skeleton` (the inverse of `write_motion`).

    Reads `action` (default: the one `obj` plays) over its keyed frame range, one Motion frame
    per scene frame, at the scene's frame rate; frame 0 of the Motion is the first keyed
    frame. Bones are matched to joints by name and may use any rotation mode; channels
    without keys keep the pose bone's current value. Bone locations other than the root's
    are not read (the skeleton's offsets are fixed).
    """
    context = context or bpy.context
    check_armature(obj, skeleton.names, "reading a motion")
    action = action or compat.assigned_action(obj)
    if action is None:
        raise SkeletonError(f"armature {obj.name!r} plays no action; assign the action to read")
    curves = bone_curves(obj, action, skeleton.names)
    if not curves:
        raise SkeletonError(
            f"action {action.name!r} has no keys on the bones of {obj.name!r} named as the skeleton's joints"
        )
    frames = keyed_frames(curves)
    pose_bones = [obj.pose.bones[name] for name in skeleton.names]
    pose_q = np.stack([rotation_quaternions(curves, pb, frames) for pb in pose_bones], axis=1)
    location = channel(curves, pose_bones[0], "location", 3, frames)
    rest = rest_matrices(obj, skeleton.names)[:, :3, :3]
    return motion_from_pose_channels(skeleton, scene_fps(context.scene), pose_q, location, rest, name=action.name)
