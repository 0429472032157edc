"""The armature sources and sinks the pipelines are handed by the operators: where an
import keys its motion (`ImportTarget`), the take a quantize codes and keys back
(`ArmatureTake`), and the motion an export reads (`read_active_motion`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import bpy

from ..core.errors import SkeletonError
from ..core.steps import Steps
from . import compat
from .actions import read_motion, write_motion_steps
from .rig import TARGET_ARMATURE, write_to_target_steps
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


@dataclass
class ArmatureTake:
    """The active armature's action as the quantize job's source and sink."""

    context: object
    source: object = field(default=None, init=False)  # the action read

    def read(self, skeleton) -> tuple:
        """(the motion the active armature plays on `skeleton`, with the betas, gender and
        expressions its action keeps, its action's name, its first keyed frame);
        SkeletonError without an armature, its bones or an action."""
        obj = self.context.active_object
        motion = read_motion(obj, skeleton, context=self.context)  # checks armature, bones and action
        self.source = compat.assigned_action(obj)
        first = first_keyed_frame(obj, self.source, skeleton.names)
        # An action without take data gives none to its quantized copy: nothing to warn of here.
        return (with_take(motion, self.source, first, []), self.source.name, first)

    def write_steps(self, motion, frame_start: int, action_name: str) -> Steps:
        """Steps keying `motion` on the active armature as a new action it plays
        (scene.actions.write_motion_steps: the keyframe channels a slice of frames at a time,
        then the keying in one step), keeping its betas, gender and expressions there when
        the action read kept them; the WriteResult."""
        write = yield from write_motion_steps(self.context.active_object, motion, frame_start=frame_start,
                                              action_name=action_name, context=self.context)
        if self.source is not None and TAKE_KEY in self.source:
            store_take(write.action, motion, write.frame_start)
        return write


def read_active_motion(context):
    """A reader for the export job: (skeleton, warnings) -> the motion the active armature
    plays with the betas, gender and expressions its action keeps (scene.take.with_take
    says in `warnings` what is unknown)."""
    def read(skeleton, warnings: list[str]):
        obj = context.active_object
        motion = read_motion(obj, skeleton, context=context)  # checks armature, bones and action
        action = compat.assigned_action(obj)
        return with_take(motion, action, first_keyed_frame(obj, action, skeleton.names), warnings)

    return read
