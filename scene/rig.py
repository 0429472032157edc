"""Rig armatures: armatures of the shipped layouts, and SMPL-X motion retargeted onto an
armature as a new action (the frames it is played in: `scene.rig_space`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np

from ..core.errors import SkeletonError
from ..core.motion import Motion
from ..core.retarget import RigLayout, retarget, rig_layout
from ..core.retarget.slices import retarget_steps
from ..core.steps import Steps, run_steps, within
from .actions import WriteResult, write_motion_steps
from .armature import create_armature, missing_bones
from .axes import vectors_to_blender
from .rig_space import ARMATURE_ORIGIN, armature_frame, rig_space, skeleton_from_armature  # noqa: F401 (re-exported)

#: Object names of the armatures `create_rig_armature` makes.
RIG_OBJECT_NAMES = {"smplx": "SMPL-X", "metahuman": "MetaHuman", "mixamo": "Mixamo", "rigify": "Rigify"}

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
    `skeleton_from_armature` and turned to face the source's way (see `scene.rig_space`);
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
    space = rig_space(obj, smplx_motion.skeleton, bone_map)
    n = smplx_motion.num_frames
    result = yield from within(retarget_steps(lambda m: retarget(m, space.bone_map, space.skeleton), smplx_motion,
                                              "retargeting onto the rig,"), 0, n, 3 * n)
    motion = space.to_armature(result.motion)
    mapped = [name for name in space.own.names if name in space.bone_map.pairs]
    write: WriteResult = yield from within(write_motion_steps(
        obj, motion, frame_start=frame_start, action_name=action_name, context=context,
        bones=mapped, location_bone=mapped[0],
    ), n, 2 * n, 3 * n)
    unmapped = [n for n in result.unmapped if n != ARMATURE_ORIGIN]
    return RigRetargetResult(
        action=write.action, frame_start=write.frame_start, frame_end=write.frame_end,
        keys_written=write.keys_written, layout=space.layout, mapped=mapped, unmapped=unmapped,
        missing=space.missing, warnings=result.warnings + write.warnings,
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
