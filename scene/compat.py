"""Small functions that decide where the Blender Python API differs between versions.

Targets Blender 4.2 LTS and newer; tested on bpy 4.5 (LTS) and 5.0.
- Actions: from 4.4 an action is "slotted": F-curves live in a channelbag, per slot, inside a
  keyframe strip of a layer, and an object plays one slot of its action. Before 4.4 they live
  in `action.fcurves` (removed in 5.0). Both containers have `.fcurves` and `.groups`.
- Sequencer: `sequence_editor.strips` / `strips_all` from 4.4 (then `sequences` /
  `sequences_all`, removed in 5.0).
Everything else in `scene/` goes through these, never through `hasattr` checks of its own.
"""

from __future__ import annotations

import bpy


def has_slotted_actions() -> bool:
    """True where actions have slots and layers (Blender 4.4+)."""
    return hasattr(bpy.types, "ActionSlot")


def new_object_action(obj, name: str):
    """A new empty action for `obj`, and the container to create its F-curves in.

    Returns (action, container, slot): on 4.4+ the container is the channelbag of a new
    object slot named after `obj` (in one layer with one keyframe strip), before 4.4 the
    action itself; slot is None before 4.4. Nothing is assigned to `obj` yet (see
    `assign_action`), so removing the action undoes everything this did.
    """
    action = bpy.data.actions.new(name)
    if not has_slotted_actions():
        action.id_root = "OBJECT"
        return action, action, None
    slot = action.slots.new(id_type="OBJECT", name=obj.name)
    strip = action.layers.new("Layer").strips.new(type="KEYFRAME")
    return action, strip.channelbag(slot, ensure=True), slot


def new_fcurve(container, data_path: str, index: int, group_name: str):
    """A new F-curve in `container` (channelbag or legacy action), in the named channel group
    (made when missing), so the Dope Sheet shows it under its bone."""
    fcurve = container.fcurves.new(data_path, index=index)
    group = container.groups.get(group_name)
    if group is None:
        group = container.groups.new(group_name)
    fcurve.group = group
    return fcurve


def assign_action(obj, action, slot) -> None:
    """Make `obj` play `action` (and on 4.4+ its `slot`)."""
    anim = obj.animation_data or obj.animation_data_create()
    anim.action = action
    if slot is not None:
        anim.action_slot = slot


def copy_object_action(obj, action, name: str):
    """A copy of `action` named `name` (keys, groups and ID properties copied), and on 4.4+
    the copy's slot that holds what `obj` plays of `action` (None before 4.4). Nothing is
    assigned; removing the copy undoes everything this did."""
    copy = action.copy()
    copy.name = name
    if not has_slotted_actions():
        return copy, None
    anim = obj.animation_data
    playing = anim.action_slot if anim is not None and anim.action == action else None
    identifier = playing.identifier if playing is not None else None
    slot = next((s for s in copy.slots if s.identifier == identifier), None)
    return copy, slot or next((s for s in copy.slots if s.target_id_type in {"OBJECT", "UNSPECIFIED"}), None)


def assigned_action(obj):
    """The action `obj` plays directly (not through the NLA), or None."""
    anim = obj.animation_data
    return anim.action if anim is not None else None


def action_fcurves(action, obj=None) -> list:
    """The F-curves of `action` that animate `obj`, for reading.

    On 4.4+ these are the F-curves of one slot: the slot `obj` plays when `action` is its
    assigned action, else the first object slot; an action without slots has none. Before 4.4
    all of `action.fcurves`.
    """
    if not has_slotted_actions():
        return list(action.fcurves)
    slot = None
    anim = obj.animation_data if obj is not None else None
    if anim is not None and anim.action == action:
        slot = anim.action_slot
    if slot is None:
        slot = next((s for s in action.slots if s.target_id_type in {"OBJECT", "UNSPECIFIED"}), None)
    if slot is None:
        return []
    curves = []
    for layer in action.layers:
        for strip in layer.strips:
            if strip.type != "KEYFRAME":
                continue
            channelbag = strip.channelbag(slot)
            if channelbag is not None:
                curves.extend(channelbag.fcurves)
    return curves


def sequence_strips(scene, include_meta_contents: bool = False) -> list:
    """The sequencer strips of `scene` (top level, or with the contents of meta strips too);
    [] when the scene has no sequence editor."""
    editor = scene.sequence_editor
    if editor is None:
        return []
    if hasattr(editor, "strips"):
        return list(editor.strips_all if include_meta_contents else editor.strips)
    return list(editor.sequences_all if include_meta_contents else editor.sequences)


def sequence_strip_collection(scene):
    """The collection that creates top-level strips (`.new_sound`, `.new_movie`, ...), making
    the scene's sequence editor when missing."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    return editor.strips if hasattr(editor, "strips") else editor.sequences


def strip_selected(strip) -> bool:
    return bool(strip.select)


def set_strip_selected(strip, selected: bool) -> None:
    strip.select = selected
