"""The sidebar panel (View3D > Sidebar > Motion Tokens) and the scene settings it shows
(`scene.motion_tokens`). Drawing only reads properties: no file access, no computation."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, PointerProperty, StringProperty

from ..operators.export_motion import MOTION_TOKENS_OT_export_motion
from ..operators.import_motion import TARGET_ITEMS, MOTION_TOKENS_OT_import_motion
from .codec import MotionTokensCodecSettings


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
    codec: PointerProperty(type=MotionTokensCodecSettings, name="Codec", description="Codec family and bitrates")
    target_armature: PointerProperty(
        type=bpy.types.Object, name="Target Armature", poll=lambda self, obj: obj.type == "ARMATURE",
        description="The armature that the Target Armature choice writes motion onto (SMPL-X, MetaHuman, "
        "Mixamo, Rigify, or your own through a bone map)",
    )
    bone_map_file: StringProperty(
        name="Bone Map", subtype="FILE_PATH",
        description="Optional bone map file (JSON: rig bone -> SMPL-X joint) for writing onto an armature; "
        "empty: detected from the bone names",
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
        if settings.import_target == "ARMATURE":
            col.prop(settings, "target_armature")
        if settings.import_target in ("ACTIVE", "ARMATURE"):
            col.prop(settings, "bone_map_file")
        col.prop(settings, "use_current_frame")
        row = col.row()
        row.enabled = not settings.use_current_frame
        row.prop(settings, "frame_start")
        col.prop(settings, "smplx_model_folder")

        col = layout.column(align=True)
        col.operator(MOTION_TOKENS_OT_import_motion.bl_idname, icon="IMPORT")
        col.operator(MOTION_TOKENS_OT_export_motion.bl_idname, icon="EXPORT")


# The codec settings first: MotionTokensSettings points to them.
CLASSES = (MotionTokensCodecSettings, MotionTokensSettings, MOTION_TOKENS_PT_main)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.motion_tokens = PointerProperty(type=MotionTokensSettings)


def unregister():
    del bpy.types.Scene.motion_tokens
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
