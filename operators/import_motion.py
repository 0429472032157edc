"""Import a motion file (.npz or .bvh) as an action on an SMPL-X armature, a new
MetaHuman-compatible one, or any armature (retargeted through its bone map: scene/rig.py).

The operator copies its properties into `ImportOptions` and calls `import_motion_file`, which
reads the file first and touches the scene only once it read well; anything it made before a
later failure is removed again, so a cancelled import leaves the scene as it was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from ..core.retarget import read_smplx_motion
from ..core.errors import MissingFileError, MotionTokensError, SkeletonError
from ..core.motion import Motion
from ..scene.actions import scene_fps
from ..scene.rig import TARGET_ARMATURE, TargetResult, write_to_target

#: Where an import puts the motion (shared with the scene settings in panels/main.py).
TARGET_ITEMS = (
    ("NEW", "New SMPL-X Armature", "Create a new SMPL-X armature for the motion"),
    ("NEW_METAHUMAN", "New MetaHuman-Compatible Armature",
     "Create an armature with the MetaHuman (UE5) body bone names in an A-pose and retarget the motion onto it"),
    ("ACTIVE", "Active Armature",
     "Key the motion onto the active armature: an SMPL-X armature as it is, any other retargeted through its "
     "bone map (detected from the bone names, or the Bone Map file)"),
    (TARGET_ARMATURE, "Target Armature",
     "Key the motion onto the armature chosen as Target Armature, retargeted through its bone map unless it is "
     "an SMPL-X armature"),
)
#: How many bone names an import's report lists before "and N more".
_NAMES_SHOWN = 8


@dataclass(frozen=True)
class ImportOptions:
    """What to import and where: the operator's properties, resolved against the scene."""

    filepath: str
    target: str  # an identifier of TARGET_ITEMS
    frame_start: int
    smplx_model_folder: str | None  # None: the approximate SMPL-X rest joints
    armature: str = ""  # the target armature's object name, for target ARMATURE
    bone_map: str | None = None  # a bone map file (None: detected from the bone names)


@dataclass(frozen=True)
class ImportResult:
    armature: bpy.types.Object
    motion: Motion
    write: TargetResult
    created_armature: bool


def import_motion_file(context, options: ImportOptions) -> ImportResult:
    """Read `options.filepath` and key it onto the target (scene.rig.write_to_target): a new
    SMPL-X or MetaHuman-compatible armature, the active armature or the chosen one.

    Raises MotionTokensError (the scene unchanged) when the file cannot be read, the target
    is not an armature, or its bones fit no bone map.
    """
    if not options.filepath:
        raise MissingFileError("(no file)", "choose a .npz or .bvh file to import")
    # Read at the file's own rate: write_motion resamples once, to the scene's rate.
    motion = read_smplx_motion(options.filepath, None, options.smplx_model_folder)

    target, armature = options.target, None
    if target == "ACTIVE":
        target, armature = TARGET_ARMATURE, context.active_object
    elif target == TARGET_ARMATURE:
        armature = bpy.data.objects.get(options.armature) if options.armature else None
        if armature is None:
            raise SkeletonError(
                f"no target armature {options.armature!r}: choose one as Target Armature in the Motion Tokens panel"
                if options.armature else "no target armature chosen: choose one in the Motion Tokens panel"
            )
    result = write_to_target(context, motion, target, armature=armature, bone_map=options.bone_map,
                             frame_start=options.frame_start)
    return ImportResult(result.armature, motion, result, result.created)


def bone_report(result: TargetResult) -> list[str]:
    """Lines for the user about a retargeting: the layout used, the armature's bones left
    alone and the map's bones it lacks (empty for an SMPL-X armature keyed as it is)."""
    def names(bones):
        more = f" and {len(bones) - _NAMES_SHOWN} more" if len(bones) > _NAMES_SHOWN else ""
        return ", ".join(bones[:_NAMES_SHOWN]) + more

    lines = []
    if result.unmapped:
        lines.append(f"Bones left alone on '{result.armature.name}' (not in the {result.layout} bone map): "
                     f"{names(result.unmapped)}")
    if result.missing:
        lines.append(f"Bones of the {result.layout} bone map that '{result.armature.name}' lacks (their motion "
                     f"is left out): {names(result.missing)}")
    return lines


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
    armature: StringProperty(name="Target Armature", description="Name of the armature object for Target Armature")
    bone_map_file: StringProperty(
        name="Bone Map", subtype="FILE_PATH",
        description="Optional bone map file (JSON: rig bone -> SMPL-X joint) for retargeting onto an armature; "
        "empty: detected from the bone names (MetaHuman, Mixamo, Rigify, SMPL-X)",
    )

    def invoke(self, context, event):
        # From the panel: start from the scene settings, then let the user pick the file.
        settings = getattr(context.scene, "motion_tokens", None)
        if settings is not None:
            self.target = settings.import_target
            self.use_current_frame = settings.use_current_frame
            self.frame_start = settings.frame_start
            self.smplx_model_folder = settings.smplx_model_folder
            self.armature = settings.target_armature.name if settings.target_armature is not None else ""
            self.bone_map_file = settings.bone_map_file
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
        if self.target in ("ACTIVE", TARGET_ARMATURE):
            if self.target == TARGET_ARMATURE:
                layout.prop_search(self, "armature", bpy.data, "objects")
            layout.prop(self, "bone_map_file")

    def import_options(self, context) -> ImportOptions:
        folder = bpy.path.abspath(self.smplx_model_folder) if self.smplx_model_folder else None
        return ImportOptions(
            filepath=bpy.path.abspath(self.filepath),
            target=self.target,
            frame_start=context.scene.frame_current if self.use_current_frame else self.frame_start,
            smplx_model_folder=folder,
            armature=self.armature,
            bone_map=bpy.path.abspath(self.bone_map_file) if self.bone_map_file else None,
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
        for line in bone_report(result.write):
            self.report({"INFO"}, line)
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

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
