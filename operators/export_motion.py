"""Export the active SMPL-X armature's action as a BEAT2-layout .npz and/or a BVH file.

Everything is checked before anything is written (an armature is active, it has every SMPL-X
bone and plays an action, the output folders exist); each file is written atomically, so a
failed export leaves no partial file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

from ..core.errors import MotionTokensError, OutputError
from ..core.formats import write_motion
from ..core.motion import Motion
from ..core.skeleton import smplx_skeleton
from ..scene.actions import read_motion
from ..scene.compat import assigned_action

FORMAT_ITEMS = (
    ("NPZ", "SMPL-X .npz", "BEAT2 layout: axis-angle poses, trans, betas, expressions"),
    ("BVH", "BVH", "Biovision hierarchy on the SMPL-X skeleton"),
    ("BOTH", ".npz and BVH", "Both files, side by side"),
)
_SUFFIXES = {"NPZ": (".npz",), "BVH": (".bvh",), "BOTH": (".npz", ".bvh")}


@dataclass(frozen=True)
class ExportOptions:
    """Where to write: the path without or with either suffix, and which formats."""

    filepath: str
    file_format: str  # "NPZ", "BVH" or "BOTH"
    smplx_model_folder: str | None  # None: the approximate SMPL-X rest joints

    def output_paths(self) -> list[Path]:
        """One path per format: the file path with its .npz/.bvh suffix replaced."""
        base = Path(self.filepath)
        if base.suffix.lower() in (".npz", ".bvh"):
            base = base.with_suffix("")
        return [base.with_name(base.name + suffix) for suffix in _SUFFIXES[self.file_format]]


def export_motion_files(context, options: ExportOptions) -> tuple[Motion, list[Path]]:
    """Read the active armature's action as SMPL-X motion and write it in each format; the
    motion and the paths written. Raises MotionTokensError before writing anything when the
    armature or the destination will not do."""
    if not options.filepath:
        raise OutputError("no file to export to: choose a .npz or .bvh file path")
    paths = options.output_paths()
    for path in paths:
        if not path.parent.is_dir():
            raise OutputError(f"{path}: cannot write here, the folder {path.parent} does not exist")
    skeleton = smplx_skeleton(model_folder=options.smplx_model_folder)
    # Checks the armature (active, every SMPL-X bone, an action) before anything is written.
    motion = read_motion(context.active_object, skeleton, context=context)
    for path in paths:
        write_motion(path, motion)
    return motion, paths


class MOTION_TOKENS_OT_export_motion(bpy.types.Operator):
    """Export the active SMPL-X armature's action as an SMPL-X .npz (BEAT2 layout) and/or BVH"""

    bl_idname = "motion_tokens.export_motion"
    bl_label = "Export Motion"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="File Path", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.npz;*.bvh", options={"HIDDEN"})
    file_format: EnumProperty(name="Format", items=FORMAT_ITEMS, default="NPZ")
    smplx_model_folder: StringProperty(
        name="SMPL-X Model", subtype="DIR_PATH",
        description="Optional folder holding your licensed SMPLX_NEUTRAL.npz, for exact joints",
    )

    def invoke(self, context, event):
        settings = getattr(context.scene, "motion_tokens", None)
        if settings is not None:
            self.smplx_model_folder = settings.smplx_model_folder
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

    def export_options(self) -> ExportOptions:
        folder = bpy.path.abspath(self.smplx_model_folder) if self.smplx_model_folder else None
        return ExportOptions(bpy.path.abspath(self.filepath), self.file_format, folder)

    def execute(self, context):
        try:
            motion, paths = export_motion_files(context, self.export_options())
        except MotionTokensError as exc:
            self.report({"ERROR"}, f"Cannot export: {exc}")
            return {"CANCELLED"}
        names = " and ".join(path.name for path in paths)
        self.report({"INFO"}, f"Exported {motion.num_frames} frames at {motion.fps:g} fps to {names}")
        return {"FINISHED"}


CLASSES = (MOTION_TOKENS_OT_export_motion,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
