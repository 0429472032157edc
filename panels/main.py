"""The sidebar panel (View3D > Sidebar > Motion Tokens) and the scene settings it shows
(`scene.motion_tokens`). Drawing only reads properties: no file access, no computation."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, PointerProperty, StringProperty

from ..operators.export_motion import MOTION_TOKENS_OT_export_motion
from ..operators.import_motion import TARGET_ITEMS, MOTION_TOKENS_OT_import_motion


class MotionTokensSettings(bpy.types.PropertyGroup):
    """Settings of the Motion Tokens panel, one per scene (`scene.motion_tokens`)."""

    import_target: EnumProperty(name="Target", items=TARGET_ITEMS, default="NEW")
    use_current_frame: BoolProperty(
        name="Start at Current Frame", default=True,
        description="Start imported actions at the scene's current frame instead of Start Frame",
    )
    frame_start: IntProperty(name="Start Frame", default=1, description="First frame of imported actions")
    smplx_model_folder: StringProperty(
        name="SMPL-X Model", subtype="DIR_PATH",
        description="Optional folder holding your licensed SMPLX_NEUTRAL.npz: exact joints for "
        "new armatures and exports instead of the approximate ones",
    )


class MOTION_TOKENS_PT_main(bpy.types.Panel):
    bl_label = "Motion Tokens"
    bl_idname = "MOTION_TOKENS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"

    def draw(self, context):
        settings = context.scene.motion_tokens
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False

        col = layout.column()
        col.prop(settings, "import_target")
        col.prop(settings, "use_current_frame")
        row = col.row()
        row.enabled = not settings.use_current_frame
        row.prop(settings, "frame_start")
        col.prop(settings, "smplx_model_folder")

        col = layout.column(align=True)
        col.operator(MOTION_TOKENS_OT_import_motion.bl_idname, icon="IMPORT")
        col.operator(MOTION_TOKENS_OT_export_motion.bl_idname, icon="EXPORT")


CLASSES = (MotionTokensSettings, MOTION_TOKENS_PT_main)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.motion_tokens = PointerProperty(type=MotionTokensSettings)


def unregister():
    del bpy.types.Scene.motion_tokens
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
