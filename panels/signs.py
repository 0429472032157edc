"""The "Signs" section of the sidebar (Sequencer and 3D Viewport > Sidebar > Motion Tokens):
Spot Signs on the selected movie strips (or the active armature's captured action) against the
chosen lexicon, its matching parameters, and what it adds. Drawing only reads properties."""

from __future__ import annotations

import bpy


def draw_signs(layout, context) -> None:
    signs = context.scene.motion_tokens.signs
    layout.use_property_split = True
    layout.use_property_decorate = False
    col = layout.column()
    col.prop(signs, "lexicon")
    col.prop(signs, "language")
    sub = col.column(align=True)
    sub.prop(signs, "threshold")
    sub.prop(signs, "overlap")
    sub = col.column(align=True)
    sub.prop(signs, "window")
    sub.prop(signs, "hop")
    col.prop(signs, "markers")
    col.prop(signs, "sound_strips")
    if signs.sound_strips:
        col.label(text="Plays the lexicon's recorded words, not synthesised speech", icon="INFO")
    col.prop(signs, "subtitles")
    col.operator("motion_tokens.spot_signs", icon="MARKER_HLT")


class MOTION_TOKENS_PT_signs(bpy.types.Panel):
    bl_label = "Signs"
    bl_idname = "MOTION_TOKENS_PT_signs"
    bl_parent_id = "MOTION_TOKENS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_signs(self.layout, context)


class MOTION_TOKENS_PT_signs_sequencer(bpy.types.Panel):
    bl_label = "Signs"
    bl_idname = "MOTION_TOKENS_PT_signs_sequencer"
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_signs(self.layout, context)


CLASSES = (MOTION_TOKENS_PT_signs, MOTION_TOKENS_PT_signs_sequencer)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
