"""The armature sources and sinks the pipelines are handed by the operators: where an
import keys its motion (`ImportTarget`), the take a quantize codes and keys back
(`ArmatureTake`), and the motion an export reads (`read_active_motion`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import bpy

from ..core.errors import SkeletonError
from . import compat
from .actions import WriteResult, read_motion, write_motion
from .rig import TARGET_ARMATURE, TargetResult, write_to_target


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

    def __call__(self, motion) -> TargetResult:
        """Key `motion` onto the target (scene.rig.write_to_target); what was written."""
        target, obj = self._resolved()
        return write_to_target(self.context, motion, target, armature=obj, bone_map=self.bone_map,
                               frame_start=self.frame_start)


def first_keyed_frame(obj, action, names) -> int:
    """The first whole frame keyed on the bones `names` of `obj` in `action`: where
    scene.actions.read_motion starts reading it."""
    prefixes = tuple(f'pose.bones["{bpy.utils.escape_identifier(n)}"].' for n in names)
    starts = [fc.range()[0] for fc in compat.action_fcurves(action, obj) if fc.data_path.startswith(prefixes)]
    if not starts:
        raise SkeletonError(f"action {action.name!r} has no keys on the bones of {obj.name!r}")
    return math.ceil(min(starts) - 1e-6)


@dataclass
class ArmatureTake:
    """The active armature's action as the quantize job's source and sink."""

    context: object

    def read(self, skeleton) -> tuple:
        """(the motion the active armature plays on `skeleton`, its action's name, its first
        keyed frame); SkeletonError without an armature, its bones or an action."""
        obj = self.context.active_object
        motion = read_motion(obj, skeleton, context=self.context)  # checks armature, bones and action
        source = compat.assigned_action(obj)
        return (motion, source.name, first_keyed_frame(obj, source, skeleton.names))

    def write(self, motion, frame_start: int, action_name: str) -> WriteResult:
        """Key `motion` on the active armature as a new action it plays; what was written."""
        return write_motion(self.context.active_object, motion, frame_start=frame_start,
                            action_name=action_name, context=self.context)


def read_active_motion(context):
    """A reader for the export job: skeleton -> the motion the active armature plays."""
    return lambda skeleton: read_motion(context.active_object, skeleton, context=context)
