"""The sidebar panel (View3D > Sidebar > Motion Tokens), showing the scene settings
(`scene.motion_tokens`, panels.properties). Drawing only reads properties: no file access,
no computation."""

from __future__ import annotations

import bpy


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
        col.prop(settings, "target")
        if settings.target == "ARMATURE":
            col.prop(settings, "target_armature")
        if settings.target in ("ACTIVE", "ARMATURE"):
            col.prop(settings, "bone_map_file")
        col.prop(settings, "use_current_frame")
        row = col.row()
        row.enabled = not settings.use_current_frame
        row.prop(settings, "frame_start")
        col.prop(settings, "smplx_model_folder")

        col = layout.column(align=True)
        col.operator("motion_tokens.import_motion", icon="IMPORT")
        col.operator("motion_tokens.export_motion", icon="EXPORT")


CLASSES = (MOTION_TOKENS_PT_main,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
