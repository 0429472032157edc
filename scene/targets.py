"""The armature sources and sinks the pipelines are handed by the operators: where an
import keys its motion (`ImportTarget`), the take a quantize codes and keys back
(`ArmatureTake`), and the motion an export reads (`read_active_motion`). An SMPL-X armature
is read and keyed as it is; any other rig is read back as SMPL-X through its bone map
(`scene.rig_reading`) and keyed through it again (`scene.rig`), as Import keys onto it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import bpy

from ..core.errors import SkeletonError
from ..core.retarget import RigDetectionError
from ..core.steps import Steps
from . import compat
from .actions import read_motion, write_motion_steps
from .armature import missing_bones
from .rig import TARGET_ARMATURE, retarget_onto_armature_steps, write_to_target_steps
from .rig_reading import RigReading, read_rig_motion
from .take import TAKE_KEY, store_take, with_take


@dataclass
class ImportTarget:
    """An import operator's target: target one of "NEW", "NEW_METAHUMAN" (scene.rig's
    targets), "ACTIVE" (the active object) or "ARMATURE" (the object named `armature`)."""

    context: object
    target: str
    frame_start: int
    armature: str = ""
    bone_map: str | None = None

    def _resolved(self):
        """(scene.rig target, armature object or None); SkeletonError when the chosen target
        armature is missing."""
        if self.target == "ACTIVE":
            return TARGET_ARMATURE, self.context.active_object
        if self.target != TARGET_ARMATURE:
            return self.target, None
        obj = bpy.data.objects.get(self.armature) if self.armature else None
        if obj is None:
            raise SkeletonError(
                f"no target armature {self.armature!r}: choose one as Target Armature in the Motion Tokens panel"
                if self.armature else "no target armature chosen: choose one in the Motion Tokens panel"
            )
        return TARGET_ARMATURE, obj

    def __call__(self, motion) -> Steps:
        """Steps keying `motion` onto the target (scene.rig.write_to_target_steps), its
        betas, gender and expressions kept on the new action (scene.take); the TargetResult."""
        target, obj = self._resolved()
        result = yield from write_to_target_steps(self.context, motion, target, armature=obj,
                                                  bone_map=self.bone_map, frame_start=self.frame_start)
        store_take(result.action, motion, result.frame_start)
        return result


def first_keyed_frame(obj, action, names) -> int:
    """The first whole frame keyed on the bones `names` of `obj` in `action`: where
    scene.actions.read_motion starts reading it."""
    prefixes = tuple(f'pose.bones["{bpy.utils.escape_identifier(n)}"].' for n in names)
    starts = [fc.range()[0] for fc in compat.action_fcurves(action, obj) if fc.data_path.startswith(prefixes)]
    if not starts:
        raise SkeletonError(f"action {action.name!r} has no keys on the bones of {obj.name!r}")
    return math.ceil(min(starts) - 1e-6)


def read_as_smplx(obj, skeleton) -> bool:
    """True for an armature with a bone for every joint of `skeleton` (read and keyed as it is,
    whatever bone map is set: the map is for other rigs) and for anything that is no armature
    (refused by scene.actions.read_motion, saying so)."""
    return obj is None or obj.type != "ARMATURE" or not missing_bones(obj, skeleton.names)


def read_rig(context, obj, skeleton, bone_map) -> RigReading:
    """`scene.rig_reading.read_rig_motion` of `obj` onto `skeleton`, a layout it cannot tell
    refused with where to give a bone map."""
    try:
        return read_rig_motion(obj, skeleton, bone_map, context=context)
    except RigDetectionError as exc:
        raise RigDetectionError(
            f"{exc} as the Bone Map in the Motion Tokens panel (it is not an SMPL-X armature either)", exc.candidates,
        ) from None


@dataclass
class ArmatureTake:
    """The active armature's action as the quantize job's source and sink: an SMPL-X armature's
    as it is, any other rig's read back as SMPL-X through its bone map (`bone_map`: None to
    detect the layout, a layout name or a map file) and the decoded motion keyed back on it."""

    context: object
    bone_map: str | None = None
    source: object = field(default=None, init=False)  # the action read
    rig: RigReading | None = field(default=None, init=False)  # how a rig was read

    def read(self, skeleton) -> tuple:
        """(the motion the active armature plays on `skeleton`, with the betas, gender and
        expressions its action keeps, its action's name, its first keyed frame);
        SkeletonError without an armature, a bone map for it or an action."""
        obj = self.context.active_object
        if read_as_smplx(obj, skeleton):
            motion = read_motion(obj, skeleton, context=self.context)  # checks armature, bones and action
            self.source = compat.assigned_action(obj)
            first = first_keyed_frame(obj, self.source, skeleton.names)
        else:
            self.rig = read_rig(self.context, obj, skeleton, self.bone_map)
            motion, self.source, first = self.rig.motion, self.rig.action, self.rig.frame_start
        # An action without take data gives none to its quantized copy: nothing to warn of here.
        return (with_take(motion, self.source, first, []), self.source.name, first)

    def write_steps(self, motion, frame_start: int, action_name: str) -> Steps:
        """Steps keying `motion` on the active armature as a new action it plays
        (scene.actions.write_motion_steps, or scene.rig's retargeting through the map the rig
        was read with: the keyframe channels a slice of frames at a time, then the keying in
        one step), keeping its betas, gender and expressions there when the action read kept
        them; the WriteResult (a RigRetargetResult for a rig, the reading's warnings first)."""
        obj = self.context.active_object
        if self.rig is None:
            write = yield from write_motion_steps(obj, motion, frame_start=frame_start, action_name=action_name,
                                                  context=self.context)
        else:
            write = yield from retarget_onto_armature_steps(obj, motion, self.rig.bone_map, frame_start,
                                                            action_name, self.context)
            write.warnings[:0] = self.rig.warnings
        if self.source is not None and TAKE_KEY in self.source:
            store_take(write.action, motion, write.frame_start)
        return write


def read_active_motion(context, bone_map: str | None = None):
    """A reader for the export job: (skeleton, warnings, notes) -> the motion the active
    armature plays with the betas, gender and expressions its action keeps (scene.take.with_take
    says in `warnings` what is unknown); a rig that is not SMPL-X is read back through its bone
    map (`bone_map`: None to detect the layout), what that loses said in `notes`."""
    def read(skeleton, warnings: list[str], notes: list[str] | None = None):
        obj = context.active_object
        if read_as_smplx(obj, skeleton):
            motion = read_motion(obj, skeleton, context=context)  # checks armature, bones and action
            action = compat.assigned_action(obj)
            return with_take(motion, action, first_keyed_frame(obj, action, skeleton.names), warnings)
        rig = read_rig(context, obj, skeleton, bone_map)
        (warnings if notes is None else notes).extend(rig.warnings)
        return with_take(rig.motion, rig.action, rig.frame_start, warnings)

    return read
