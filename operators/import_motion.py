"""Import a motion file (.npz or .bvh) as an action on an SMPL-X armature, a new
MetaHuman-compatible one, or any armature (retargeted through its bone map: scene/rig.py).

The operator copies its properties into pipelines.import_motion's options and hands it the
target (scene.targets.ImportTarget); the file is read before the scene is touched, and
anything made before a later failure is removed again, so a cancelled import leaves the scene
as it was.
"""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

from ..panels.properties import ImportProperties, MotionFileProperties, copy_properties
from ..pipelines.import_motion import ArmatureTarget, ImportOptions, import_steps
from ..scene.actions import scene_fps
from ..scene.targets import ImportTarget
from .stepped import SteppedJob


def _path(value: str) -> str | None:
    """A property's path made absolute; None when it is empty."""
    return bpy.path.abspath(value) if value else None


class MOTION_TOKENS_OT_import_motion(SteppedJob, MotionFileProperties, ImportProperties, bpy.types.Operator):
    """Import an SMPL-X .npz (BEAT2, AMASS) or a BVH file as an action on an SMPL-X armature"""

    bl_idname = "motion_tokens.import_motion"
    bl_label = "Import Motion"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "import"

    armature: StringProperty(name="Target Armature", description="Name of the armature object for Target Armature")

    def invoke(self, context, event):
        # From the panel: start from the scene settings, then let the user pick the file.
        settings = getattr(context.scene, "motion_tokens", None)
        if settings is not None:
            copy_properties(settings, self, ImportProperties)
            self.armature = settings.target_armature.name if settings.target_armature is not None else ""
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        layout.prop(self, "target")
        layout.prop(self, "use_current_frame")
        row = layout.row()
        row.enabled = not self.use_current_frame
        row.prop(self, "frame_start")
        layout.prop(self, "smplx_model_folder")
        if self.target in ("ACTIVE", "ARMATURE"):
            if self.target == "ARMATURE":
                layout.prop_search(self, "armature", bpy.data, "objects")
            layout.prop(self, "bone_map_file")

    def job_steps(self, context):
        """The import's steps (pipelines.import_motion.import_steps) for these settings."""
        # Read at the file's own rate (fps None): the keying resamples once, to the scene's rate.
        options = ImportOptions(bpy.path.abspath(self.filepath), None, _path(self.smplx_model_folder))
        frame_start = context.scene.frame_current if self.use_current_frame else self.frame_start
        target = ImportTarget(context, self.target, frame_start, self.armature, _path(self.bone_map_file))
        sink = ArmatureTarget(target, scene_fps(context.scene))
        return import_steps(options, sink)


CLASSES = (MOTION_TOKENS_OT_import_motion,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
