"""Export the active armature's action as a BEAT2-layout .npz and/or a BVH file on the SMPL-X
skeleton (pipelines.export: everything is checked before anything is written, each file
atomically). A rig that is not SMPL-X (MetaHuman-compatible, Mixamo, Rigify, detected from its
bone names, or any rig through the Bone Map) is read back as SMPL-X through the inverse of its
bone map (scene.rig_reading); the SMPL-X joints it has no bone for are written at rest, and a
warning says which."""

from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty

from ..panels.properties import ModelProperties, MotionFileProperties, copy_properties
from ..pipelines.export import ExportOptions, export_motion
from ..scene.compat import assigned_action
from ..scene.targets import read_active_motion
from .polls import active_armature_with_action, chosen_bone_map
from .reporting import run_job

FORMAT_ITEMS = (
    ("NPZ", "SMPL-X .npz", "BEAT2 layout: axis-angle poses, trans, betas, expressions"),
    ("BVH", "BVH", "Biovision hierarchy on the SMPL-X skeleton"),
    ("BOTH", ".npz and BVH", "Both files, side by side"),
)


class MOTION_TOKENS_OT_export_motion(MotionFileProperties, ModelProperties, bpy.types.Operator):
    """Export the active armature's action (SMPL-X, or any rig read back through its bone map) as an SMPL-X .npz (BEAT2 layout) and/or BVH"""

    bl_idname = "motion_tokens.export_motion"
    bl_label = "Export Motion"
    bl_options = {"REGISTER", "UNDO"}

    file_format: EnumProperty(name="Format", items=FORMAT_ITEMS, default="NPZ")
    # The file browser marks an existing file name red ("overwrite"), as Blender's own exporters do.
    check_existing: BoolProperty(name="Check Existing", default=True, options={"HIDDEN"})
    filter_glob: StringProperty(default="*.npz;*.bvh", options={"HIDDEN"})
    bone_map_file: StringProperty(
        name="Bone Map", description="For a rig that is not SMPL-X: a layout name (metahuman, mixamo, rigify) or a "
        "bone map file (empty: the Motion Tokens panel's Bone Map, else detected from the bone names)",
    )

    @classmethod
    def poll(cls, context):
        return active_armature_with_action(cls, context)

    def invoke(self, context, event):
        settings = getattr(context.scene, "motion_tokens", None)
        if settings is not None:
            copy_properties(settings, self, ModelProperties)
        if not self.filepath:
            obj = context.active_object
            action = assigned_action(obj) if obj is not None and obj.type == "ARMATURE" else None
            name = bpy.path.clean_name(action.name) if action is not None else "motion"
            folder = os.path.dirname(bpy.data.filepath) if bpy.data.filepath else os.getcwd()
            self.filepath = os.path.join(folder, name + ".npz")
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(self, "file_format")
        layout.prop(self, "smplx_model_folder")
        layout.prop(self, "bone_map_file")

    def execute(self, context):
        folder = bpy.path.abspath(self.smplx_model_folder) if self.smplx_model_folder else None
        options = ExportOptions(bpy.path.abspath(self.filepath), self.file_format, folder)
        reader = read_active_motion(context, chosen_bone_map(self, context))
        return run_job(self, "export", lambda: export_motion(options, reader))


CLASSES = (MOTION_TOKENS_OT_export_motion,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
