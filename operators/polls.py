"""The poll and the bone map shared by the operators that work on the active armature's action."""

from __future__ import annotations

import bpy

from ..scene.compat import assigned_action


def active_armature_with_action(cls, context) -> bool:
    """True when the active object is an armature playing an action; else False, with the
    reason set as the poll message Blender shows on the greyed-out button (and bpy.ops
    raises headless)."""
    obj = context.active_object
    if obj is None or obj.type != "ARMATURE":
        what = "nothing is active" if obj is None else f"{obj.name!r} is a {obj.type.lower()}"
        cls.poll_message_set(f"Select an armature playing an action ({what})")
        return False
    if assigned_action(obj) is None:
        cls.poll_message_set(f"{obj.name!r} plays no action: import or key a motion onto it first")
        return False
    return True


def chosen_bone_map(operator, context) -> str | None:
    """The bone map for reading a rig that is not SMPL-X: the operator's `bone_map_file`, else
    the panel's Bone Map (a path relative to the .blend made absolute; a layout name stays
    as it is), else None (detect it)."""
    value = operator.bone_map_file.strip()
    if not value:
        settings = getattr(context.scene, "motion_tokens", None)
        value = settings.bone_map_file.strip() if settings is not None else ""
    if not value:
        return None
    return bpy.path.abspath(value)
