"""The "Speech" section of the sidebar (3D Viewport and Sequencer > Sidebar > Motion Tokens):
the generator and its sampling (`scene.motion_tokens.speech`, panels.properties), Gestures
from Sound Strips, New Variation and the Pin Range. Drawing only reads properties."""

from __future__ import annotations

import bpy

from .properties import GENERATOR_ITEMS


def draw_speech(layout, context) -> None:
    """The Speech settings and buttons, shared by the two sidebars."""
    settings = context.scene.motion_tokens
    speech = settings.speech
    layout.use_property_split = True
    layout.use_property_decorate = False
    col = layout.column()
    col.prop(settings, "target_armature")
    if settings.target_armature is None:
        col.label(text="A new SMPL-X armature is made", icon="INFO")
    col.prop(speech, "generator")
    if not GENERATOR_ITEMS:
        col.label(text="No generator bundle in models/", icon="ERROR")
    col.prop(speech, "temperature")
    col.prop(speech, "top_k")
    col.prop(speech, "seed")
    col = layout.column(align=True)
    col.operator("motion_tokens.gestures_from_sound_strips", icon="SPEAKER")
    col.operator("motion_tokens.new_variation", icon="FILE_REFRESH")
    col = layout.column()
    col.prop(speech, "pin")
    if speech.pin == "FRAMES":
        sub = col.column(align=True)
        sub.prop(speech, "pin_start")
        sub.prop(speech, "pin_end")


class MOTION_TOKENS_PT_speech(bpy.types.Panel):
    bl_label = "Speech"
    bl_idname = "MOTION_TOKENS_PT_speech"
    bl_parent_id = "MOTION_TOKENS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"

    def draw(self, context):
        draw_speech(self.layout, context)


class MOTION_TOKENS_PT_speech_sequencer(bpy.types.Panel):
    bl_label = "Speech"
    bl_idname = "MOTION_TOKENS_PT_speech_sequencer"
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"

    def draw(self, context):
        draw_speech(self.layout, context)


# After the main panel (the 3D Viewport section is its child) and the settings it draws.
CLASSES = (MOTION_TOKENS_PT_speech, MOTION_TOKENS_PT_speech_sequencer)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
