"""The "Video" section of the sidebar (3D Viewport and Sequencer > Sidebar > Motion Tokens):
Motion from Video on the selected movie strips, with the Codec panel's codecs and the target
armature. Where MediaPipe cannot be loaded (a platform the extension carries no wheel for), it
says so: `.pose` landmark files still work. Drawing only reads properties."""

from __future__ import annotations

import bpy

from ..core.capture.video import mediapipe_available

def draw_capture(layout, context) -> None:
    settings = context.scene.motion_tokens
    layout.use_property_split = True
    layout.use_property_decorate = False
    col = layout.column()
    col.prop(settings, "target_armature")
    col.prop(settings, "capture_mirrored")
    missing = mediapipe_available()
    if missing is not None:
        col.label(text="Video input is not available here; .pose landmark files work", icon="ERROR")
        col.label(text=missing)
    op = col.operator("motion_tokens.motion_from_video", icon="FILE_MOVIE")
    op.mirrored = settings.capture_mirrored


class MOTION_TOKENS_PT_capture(bpy.types.Panel):
    bl_label = "Video"
    bl_idname = "MOTION_TOKENS_PT_capture"
    bl_parent_id = "MOTION_TOKENS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_capture(self.layout, context)


class MOTION_TOKENS_PT_capture_sequencer(bpy.types.Panel):
    bl_label = "Video"
    bl_idname = "MOTION_TOKENS_PT_capture_sequencer"
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"

    def draw(self, context):
        draw_capture(self.layout, context)


CLASSES = (MOTION_TOKENS_PT_capture, MOTION_TOKENS_PT_capture_sequencer)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
