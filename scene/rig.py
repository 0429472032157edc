"""Rig armatures: armatures of the shipped layouts, any armature's rest skeleton, and SMPL-X
motion retargeted onto an armature as a new action.

Frames. `skeleton_from_armature` reads an armature's rest pose as a core Skeleton in SMPL-X
axes *as the object stands in the world*: the object's rotation and (uniform) scale are applied,
its location is not. So an armature imported from an FBX file (often turned 90 degrees about X
with scale 0.01, its bones in centimetres) reads as a person standing upright, in metres.
`retarget_onto_armature` then turns that skeleton about the vertical so that it faces the
source's way (its heading: the horizontal direction from its right hip to its left hip, or
collar, or shoulder, against SMPL-X's), retargets, and turns the motion back into the
armature's own space before keying it. So the motion is played relative to the character:
upright whatever the object's axis conversion, facing and walking where the character faces,
scaled with the object, and placed at the object's location.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np

from ..core import rotations as rot
from ..core.errors import SkeletonError
from ..core.motion import Motion
from ..core.retarget import (
    BoneMap,
    RigDetectionError,
    RigLayout,
    detect_rig,
    match_bones,
    retarget,
    rig_layout,
)
from ..core.retarget.slices import retarget_steps
from ..core.skeleton import Skeleton, offsets_from_positions
from ..core.steps import Steps, run_steps, within
from .actions import WriteResult, write_motion_steps
from .armature import create_armature, missing_bones
from .axes import (
    BLENDER_TO_SMPLX,
    SMPLX_TO_BLENDER,
    vectors_from_blender,
    vectors_to_blender,
)

#: The name of the joint standing for the armature's origin in the skeleton of an armature
#: with several root bones (it is not a bone and is never keyed).
ARMATURE_ORIGIN = "(armature origin)"

#: Object names of the armatures `create_rig_armature` makes.
RIG_OBJECT_NAMES = {"smplx": "SMPL-X", "metahuman": "MetaHuman", "mixamo": "Mixamo", "rigify": "Rigify"}

#: Relative difference of the object's axis scales above which it counts as non-uniform.
_SCALE_TOLERANCE = 1e-3
_UP = np.array([0.0, 0.0, 1.0])
_FORWARD = np.array([0.0, -1.0, 0.0])


@dataclass
class RigRetargetResult:
    """What `retarget_onto_armature` did.

    action, frame_start, frame_end, keys_written: as `WriteResult` (the action is new).
    layout: the name of the layout or map used. mapped: the bones keyed. unmapped: the
    armature's bones left alone (not in the map). missing: the map's bones the armature
    lacks (the SMPL-X joints they follow drive nothing). warnings: from the retargeting and
    the keying.
    """

    action: object
    frame_start: int
    frame_end: int
    keys_written: int
    layout: str
    mapped: list[str]
    unmapped: list[str]
    missing: list[str]
    warnings: list[str] = field(default_factory=list)


def create_rig_armature(layout: RigLayout | str, name: str | None = None, context=None):
    """A new armature object of a rig layout (`core.retarget.rig_layout`: "smplx", "metahuman", "mixamo",
    "rigify", a map file with a "skeleton" block, or a RigLayout) in its rest pose.

    Built as `scene.armature.create_armature` builds one (heads on the layout's rest joints in
    Blender axes, tails towards the children, linked, active and selected, Object mode), then
    the tails the layout fixes (MetaHuman's root) are set. Named `name` (default "SMPL-X",
    "MetaHuman", "Mixamo", "Rigify" or the map's name). Raises SkeletonError for a map without
    a skeleton.
    """
    layout = rig_layout(layout) if not isinstance(layout, RigLayout) else layout
    if layout.skeleton is None:
        raise SkeletonError(
            f"the bone map {layout.name!r} ({layout.path}) has no \"skeleton\" block, so there is no armature "
            'to build from it; add {"skeleton": {"joints": [...]}} to the map or choose a shipped layout'
        )
    context = context or bpy.context
    obj = create_armature(layout.skeleton, name=name or RIG_OBJECT_NAMES.get(layout.name, layout.name), context=context)
    if not layout.tails:
        return obj
    data = obj.data
    try:
        bpy.ops.object.mode_set(mode="EDIT")
        try:
            for bone_name, tail in layout.tails.items():
                bone = data.edit_bones[bone_name]
                bone.tail = vectors_to_blender(np.array(tail))
                direction = np.array(bone.tail) - np.array(bone.head)
                # Local Z forward (-Y), or up for a bone lying along the forward axis.
                bone.align_roll(_UP if abs(direction[1]) > 0.9 * np.linalg.norm(direction) else _FORWARD)
        finally:
            bpy.ops.object.mode_set(mode="OBJECT")
    except BaseException:
        bpy.data.objects.remove(obj)
        bpy.data.armatures.remove(data)
        raise
    context.view_layer.update()
    return obj


def armature_frame(obj) -> tuple[np.ndarray, float]:
    """(R, s): the rotation (3, 3, Blender axes) and uniform scale taking armature space to
    world orientation (`obj.matrix_world` without its translation).

    Raises SkeletonError for a non-uniform scale or a shear (apply the scale first).
    """
    m = np.array(obj.matrix_world, dtype=np.float64)[:3, :3]
    scales = np.linalg.norm(m, axis=0)
    s = float(scales.mean())
    r = m / s if s > 0 else m
    uneven = s <= 0 or np.abs(scales - s).max() > _SCALE_TOLERANCE * s
    if uneven or np.abs(r.T @ r - np.eye(3)).max() > 1e-4 or np.linalg.det(r) < 0:
        raise SkeletonError(
            f"armature {obj.name!r} is scaled unevenly ({', '.join(f'{x:g}' for x in scales)}) or mirrored; "
            "apply its scale (Object > Apply > Scale) before retargeting onto it"
        )
    return r, s


def _bones_parents_first(obj) -> tuple[list, list[int]]:
    """The armature's bones depth first from each root bone, and each one's parent index."""
    bones = list(obj.data.bones)
    order, parents = [], []
    index = {}
    stack = [b for b in bones if b.parent is None][::-1]
    while stack:
        bone = stack.pop()
        index[bone.name] = len(order)
        parents.append(-1 if bone.parent is None else index[bone.parent.name])
        order.append(bone)
        stack.extend(list(bone.children)[::-1])
    return order, parents


def _armature_skeleton(obj) -> Skeleton:
    """The rest skeleton in the armature's own space (SMPL-X axes, armature units), with a
    joint at the armature's origin above the root bones when there are several."""
    if obj is None or obj.type != "ARMATURE":
        label = "nothing" if obj is None else f"{obj.name!r} (a {obj.type.lower()})"
        raise SkeletonError(f"retargeting needs an armature object, got {label}; select an armature")
    bones, parents = _bones_parents_first(obj)
    if not bones:
        raise SkeletonError(f"armature {obj.name!r} has no bones")
    heads = vectors_from_blender(np.array([b.head_local for b in bones], dtype=np.float64))
    names = [b.name for b in bones]
    if sum(p < 0 for p in parents) > 1:
        names = [ARMATURE_ORIGIN] + names
        parents = [-1] + [p + 1 for p in parents]
        heads = np.concatenate([np.zeros((1, 3)), heads])
    return Skeleton(tuple(names), tuple(parents), offsets_from_positions(heads, parents))


def _smplx_frame_turn(r: np.ndarray) -> np.ndarray:
    """The armature-to-world rotation `r` (Blender axes) written in SMPL-X axes: C^T R C."""
    return BLENDER_TO_SMPLX @ r @ SMPLX_TO_BLENDER


def skeleton_from_armature(obj) -> Skeleton:
    """The rest pose of the armature `obj` as a Skeleton: one joint per bone, named and
    parented as the bones (parents first), heads at the bones' rest heads in SMPL-X axes and
    metres, oriented and scaled as the object stands in the world (its location left out).

    An armature with several root bones gets one more joint, `ARMATURE_ORIGIN`, at the
    object's origin, as the root above them. Raises SkeletonError for anything that is not
    an armature, an armature without bones, or an uneven object scale.
    """
    local = _armature_skeleton(obj)
    r, s = armature_frame(obj)
    turn = _smplx_frame_turn(r)
    heads = s * local.rest_positions() @ turn.T
    return Skeleton(local.names, local.parents, offsets_from_positions(heads, local.parents))


#: SMPL-X joint pairs (left, right) whose horizontal direction gives a skeleton's heading,
#: in order of preference.
_HEADING_PAIRS = (("left_hip", "right_hip"), ("left_collar", "right_collar"), ("left_shoulder", "right_shoulder"))


def _heading(skeleton: Skeleton, joints: dict[str, str]) -> float:
    """The angle (radians, about +Y) that turns +X onto the skeleton's rest left-right
    direction in the horizontal plane (SMPL-X axes); 0 when no pair of `joints` (SMPL-X joint
    -> joint of `skeleton`) gives one."""
    rest = skeleton.rest_positions()
    for left, right in _HEADING_PAIRS:
        if left in joints and right in joints:
            d = rest[skeleton.index(joints[left])] - rest[skeleton.index(joints[right])]
            if np.hypot(d[0], d[2]) > 1e-6:
                return float(np.arctan2(-d[2], d[0]))
    return 0.0


def _facing_turn(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> np.ndarray:
    """(3, 3) H: the turn about the vertical (SMPL-X +Y) by the target's heading minus the
    source's; H^T turns the target to face the source's way. A rig map's targets following
    an SMPL-X joint fully (the first such, parents first) stand for that joint."""
    followers: dict[str, str] = {}
    for t in target.names:
        joint = bone_map.pairs.get(t)
        if joint is not None and bone_map.fraction(t) == 1.0:
            followers.setdefault(joint, t)
    pairs = {j: j for j in followers if j in source.names}
    angle = _heading(target, followers) - _heading(source, pairs)
    return rot.axis_rotation_matrix("Y", angle)


def _motion_in_armature_space(motion: Motion, obj, facing: np.ndarray) -> Motion:
    """A motion retargeted onto the world-oriented skeleton of `obj` turned by `facing`^T (to
    face the source's way) brought into the armature's own space, on `_armature_skeleton(obj)`:
    with Q = turn^T H (world orientation -> armature; H = `facing`), every local rotation
    conjugated by Q, translations turned by Q and divided by the object's scale, so its forward
    kinematics is Q p / s of the original's."""
    r, s = armature_frame(obj)
    q = rot.matrix_to_quat(_smplx_frame_turn(r).T @ facing)
    q_inv = rot.quat_conjugate(q)
    rotations = rot.quat_multiply(q, rot.quat_multiply(motion.rotations, q_inv))
    trans = rot.quat_apply(q, motion.trans) / s
    return Motion(_armature_skeleton(obj), motion.fps, rotations, trans, motion.expressions, None, motion.name)


def _resolve(obj, skeleton: Skeleton, bone_map) -> tuple[str, BoneMap, list[str]]:
    """(layout name, the map restricted to and named as the armature's bones, the map's bones
    the armature lacks) for `bone_map`: None (detect the layout), a layout name or map path, a
    RigLayout, or a BoneMap from SMPL-X onto the armature's bones."""
    names = [n for n in skeleton.names if n != ARMATURE_ORIGIN]
    if isinstance(bone_map, BoneMap):
        layout = RigLayout(bone_map.name, bone_map, None, path=bone_map.path)
    elif isinstance(bone_map, RigLayout):
        layout = bone_map
    elif bone_map is None:
        try:
            layout = detect_rig(names)
        except RigDetectionError as exc:
            raise RigDetectionError(f"armature {obj.name!r}: {exc}", exc.candidates) from None
    else:
        layout = rig_layout(bone_map)
    match = match_bones(layout, names)
    if not match.bone_map.pairs:
        raise SkeletonError(
            f"armature {obj.name!r} has none of the bones of the {layout.name!r} map"
            f"{' (' + layout.path + ')' if layout.path else ''}; choose another layout or map file"
        )
    return layout.name, match.bone_map, match.missing


def retarget_onto_armature(obj, smplx_motion: Motion, bone_map=None, frame_start: int = 1,
                           action_name: str | None = None, context=None) -> RigRetargetResult:
    """`retarget_onto_armature_steps` run to the end; the RigRetargetResult."""
    return run_steps(retarget_onto_armature_steps(obj, smplx_motion, bone_map, frame_start, action_name, context))


def retarget_onto_armature_steps(
    obj, smplx_motion: Motion, bone_map=None, frame_start: int = 1, action_name: str | None = None, context=None,
) -> Steps:
    """Retarget SMPL-X motion onto the armature `obj` and key it as a new action.

    bone_map: None to detect the layout from the bone names (`core.retarget.detect_rig`), a
    layout name ("smplx", "metahuman", "mixamo", "rigify"), a map file path, a RigLayout, or a
    BoneMap from SMPL-X onto the armature's bone names. The armature's rest pose is read with
    `skeleton_from_armature` and turned to face the source's way (see the module docstring);
    `core.retarget.retarget` turns the motion into rotations of the mapped bones;
    `scene.actions.write_motion` keys those bones (rotation quaternions) and the
    translation on the first mapped bone (the pelvis, hips), from `frame_start`, at the
    scene's frame rate, in a new action named `action_name` (default the motion's name). The
    armature's other bones are left unkeyed and listed in `unmapped`; the map's bones it lacks
    in `missing`.

    Raises SkeletonError (RigDetectionError when the layout cannot be told) before the scene
    changes: not an armature, uneven scale, no bone of the map, an ambiguous or unknown layout.
    As steps (core.steps): Progress(frames done, 3 x frames) while it retargets and
    computes the keyframe channels a slice of frames at a time, then the keying (the last
    step); the RigRetargetResult.
    """
    skeleton = skeleton_from_armature(obj)
    layout_name, bone_map, missing = _resolve(obj, skeleton, bone_map)
    facing = _facing_turn(smplx_motion.skeleton, skeleton, bone_map)
    facing_the_source = Skeleton(skeleton.names, skeleton.parents, skeleton.offsets @ facing)  # H^T p, rows
    n = smplx_motion.num_frames
    result = yield from within(retarget_steps(lambda m: retarget(m, bone_map, facing_the_source), smplx_motion,
                                              "retargeting onto the rig,"), 0, n, 3 * n)
    motion = _motion_in_armature_space(result.motion, obj, facing)
    mapped = [n for n in skeleton.names if n in bone_map.pairs]
    write: WriteResult = yield from within(write_motion_steps(
        obj, motion, frame_start=frame_start, action_name=action_name, context=context,
        bones=mapped, location_bone=mapped[0],
    ), n, 2 * n, 3 * n)
    unmapped = [n for n in result.unmapped if n != ARMATURE_ORIGIN]
    return RigRetargetResult(
        action=write.action, frame_start=write.frame_start, frame_end=write.frame_end,
        keys_written=write.keys_written, layout=layout_name, mapped=mapped, unmapped=unmapped,
        missing=missing, warnings=result.warnings + write.warnings,
    )


#: Targets of `write_to_target`: a new SMPL-X armature, a new armature of a rig layout, or an
#: existing armature.
TARGET_NEW_SMPLX = "NEW"
TARGET_NEW_LAYOUTS = {"NEW_METAHUMAN": "metahuman", "NEW_MIXAMO": "mixamo", "NEW_RIGIFY": "rigify"}
TARGET_ARMATURE = "ARMATURE"


@dataclass(kw_only=True)
class TargetResult(RigRetargetResult):
    """What `write_to_target` did: as `RigRetargetResult`, plus the armature written onto and
    whether it was made."""

    armature: object
    created: bool


def _remove_made(obj, actions_before: set[int]) -> None:
    """Delete the armature object `obj` made by us, its data and the actions made since."""
    data = obj.data
    bpy.data.objects.remove(obj, do_unlink=True)
    if data is not None and data.users == 0:
        bpy.data.armatures.remove(data)
    for action in [a for a in bpy.data.actions if a.as_pointer() not in actions_before]:
        bpy.data.actions.remove(action)


def write_to_target(context, motion: Motion, target: str, armature=None, bone_map=None, frame_start: int = 1,
                    action_name: str | None = None) -> TargetResult:
    """`write_to_target_steps` run to the end; the TargetResult."""
    return run_steps(write_to_target_steps(context, motion, target, armature, bone_map, frame_start, action_name))


def write_to_target_steps(
    context, motion: Motion, target: str, armature=None, bone_map=None, frame_start: int = 1,
    action_name: str | None = None,
) -> Steps:
    """Put SMPL-X `motion` where an operator's target setting says, as a new action.

    target: "NEW" makes an SMPL-X armature of the motion's own skeleton and keys the motion
    as it is; "NEW_METAHUMAN" (also "NEW_MIXAMO", "NEW_RIGIFY") makes an armature of that rig
    layout and retargets onto it; "ARMATURE" writes onto `armature`: keyed as it is when the
    armature has a bone for every joint of the motion (an SMPL-X armature) and no `bone_map`
    is given, else retargeted with `bone_map` (None: the layout detected from the bone names;
    a layout name or a map file path). Raises MotionTokensError (SkeletonError, LayoutError,
    ...) with the scene as it was: an armature made here is removed again on any failure
    and when the steps (core.steps: the keyframe channels a slice of frames at a
    time, then the keying) are closed before the end; the TargetResult.
    """
    context = context or bpy.context
    if target == TARGET_ARMATURE:
        return (yield from _write_onto(context, armature, motion, bone_map, frame_start, action_name, created=False))
    if target != TARGET_NEW_SMPLX and target not in TARGET_NEW_LAYOUTS:
        raise ValueError(f"unknown target {target!r}")
    actions_before = {a.as_pointer() for a in bpy.data.actions}
    if target == TARGET_NEW_SMPLX:
        obj = create_armature(motion.skeleton, name=RIG_OBJECT_NAMES["smplx"], context=context)
    else:
        obj = create_rig_armature(TARGET_NEW_LAYOUTS[target], context=context)
        bone_map = TARGET_NEW_LAYOUTS[target]
    try:
        return (yield from _write_onto(context, obj, motion, bone_map, frame_start, action_name, created=True))
    except BaseException:
        _remove_made(obj, actions_before)
        raise


def _write_onto(context, obj, motion, bone_map, frame_start, action_name, created: bool) -> Steps:
    """Steps keying `motion` onto `obj` as it is or retargeted; the TargetResult."""
    direct = (
        bone_map is None and obj is not None and obj.type == "ARMATURE"
        and not missing_bones(obj, motion.skeleton.names)
    )
    if direct:
        write = yield from write_motion_steps(obj, motion, frame_start=frame_start, action_name=action_name,
                                              context=context)
        names = set(motion.skeleton.names)
        return TargetResult(
            action=write.action, frame_start=write.frame_start, frame_end=write.frame_end,
            keys_written=write.keys_written, layout="smplx", mapped=list(motion.skeleton.names),
            unmapped=[b.name for b in obj.data.bones if b.name not in names], missing=[],
            warnings=write.warnings, armature=obj, created=created,
        )
    result = yield from retarget_onto_armature_steps(obj, motion, bone_map, frame_start, action_name, context)
    return TargetResult(**vars(result), armature=obj, created=created)
