"""Import a motion file (.npz or .bvh) as an action on an SMPL-X armature.

The operator copies its properties into `ImportOptions` and calls `import_motion_file`, which
reads the file first and touches the scene only once it read well; anything it made before a
later failure is removed again, so a cancelled import leaves the scene as it was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from ..core.cli import read_smplx_motion
from ..core.errors import MissingFileError, MotionTokensError
from ..core.motion import Motion
from ..scene.actions import WriteResult, scene_fps, write_motion
from ..scene.armature import create_armature

#: Where an import puts the motion (shared with the scene settings in panels/main.py).
TARGET_ITEMS = (
    ("NEW", "New SMPL-X Armature", "Create a new SMPL-X armature for the motion"),
    ("ACTIVE", "Active Armature", "Key the motion onto the active armature (it needs the SMPL-X bones)"),
)


@dataclass(frozen=True)
class ImportOptions:
    """What to import and where: the operator's properties, resolved against the scene."""

    filepath: str
    target: str  # "NEW" or "ACTIVE"
    frame_start: int
    smplx_model_folder: str | None  # None: the approximate SMPL-X rest joints


@dataclass(frozen=True)
class ImportResult:
    armature: bpy.types.Object
    motion: Motion
    write: WriteResult
    created_armature: bool


def _remove_armature(obj, actions_before: set[int]) -> None:
    """Delete `obj`, its armature data and any action made since `actions_before`."""
    data = obj.data
    bpy.data.objects.remove(obj, do_unlink=True)
    if data.users == 0:
        bpy.data.armatures.remove(data)
    for action in [a for a in bpy.data.actions if a.as_pointer() not in actions_before]:
        bpy.data.actions.remove(action)


def import_motion_file(context, options: ImportOptions) -> ImportResult:
    """Read `options.filepath` and key it onto a new SMPL-X armature or the active one.

    Raises MotionTokensError (the scene unchanged) when the file cannot be read, the target
    is not an armature, or the armature lacks bones the motion needs.
    """
    if not options.filepath:
        raise MissingFileError("(no file)", "choose a .npz or .bvh file to import")
    # Read at the file's own rate: write_motion resamples once, to the scene's rate.
    motion = read_smplx_motion(options.filepath, None, options.smplx_model_folder)

    created = options.target == "NEW"
    if created:
        actions_before = {a.as_pointer() for a in bpy.data.actions}
        obj = create_armature(motion.skeleton, name="SMPL-X", context=context)
    else:  # write_motion checks it is an armature with the SMPL-X bones before keying
        obj = context.active_object
    try:
        result = write_motion(obj, motion, frame_start=options.frame_start, context=context)
    except BaseException:
        if created:
            _remove_armature(obj, actions_before)
        raise
    return ImportResult(obj, motion, result, created)


class MOTION_TOKENS_OT_import_motion(bpy.types.Operator):
    """Import an SMPL-X .npz (BEAT2, AMASS) or a BVH file as an action on an SMPL-X armature"""

    bl_idname = "motion_tokens.import_motion"
    bl_label = "Import Motion"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="File Path", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.npz;*.bvh", options={"HIDDEN"})
    target: EnumProperty(name="Target", items=TARGET_ITEMS, default="NEW")
    use_current_frame: BoolProperty(
        name="Start at Current Frame", default=True,
        description="Start the action at the scene's current frame instead of Start Frame",
    )
    frame_start: IntProperty(name="Start Frame", default=1, description="First frame of the action")
    smplx_model_folder: StringProperty(
        name="SMPL-X Model", subtype="DIR_PATH",
        description="Optional folder holding your licensed SMPLX_NEUTRAL.npz, for exact joints",
    )

    def invoke(self, context, event):
        # From the panel: start from the scene settings, then let the user pick the file.
        settings = getattr(context.scene, "motion_tokens", None)
        if settings is not None:
            self.target = settings.import_target
            self.use_current_frame = settings.use_current_frame
            self.frame_start = settings.frame_start
            self.smplx_model_folder = settings.smplx_model_folder
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

    def import_options(self, context) -> ImportOptions:
        folder = bpy.path.abspath(self.smplx_model_folder) if self.smplx_model_folder else None
        return ImportOptions(
            filepath=bpy.path.abspath(self.filepath),
            target=self.target,
            frame_start=context.scene.frame_current if self.use_current_frame else self.frame_start,
            smplx_model_folder=folder,
        )

    def execute(self, context):
        options = self.import_options(context)
        try:
            result = import_motion_file(context, options)
        except MotionTokensError as exc:
            self.report({"ERROR"}, f"Cannot import: {exc}")
            return {"CANCELLED"}
        for warning in result.write.warnings:
            self.report({"WARNING"}, warning)
        write, motion = result.write, result.motion
        fps = scene_fps(context.scene)
        resampled = f" (keyed at the scene's {fps:g} fps)" if abs(fps - motion.fps) > 1e-6 else ""
        self.report(
            {"INFO"},
            f"Imported {os.path.basename(options.filepath)}: {motion.num_frames} frames at "
            f"{motion.fps:g} fps{resampled} as action '{write.action.name}' on "
            f"'{result.armature.name}' (frames {write.frame_start}-{write.frame_end})",
        )
        return {"FINISHED"}


CLASSES = (MOTION_TOKENS_OT_import_motion,)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
