"""The Inspector's operators, over pipelines.inspect with the Inspector settings
(`scene.motion_tokens.inspector`) and the Codec panel's codec for the chosen part:

- Codebook Atlas: an action with one code a frame from frame 1, in the chosen order, on the
  Target Armature (a new SMPL-X armature when none is chosen; other rigs retargeted), keeping
  its tokens and the code of each frame (scene.inspect), so scrubbing browses the codebook;
- Atlas Grid: one page of 64 posed figures named with their code ids, replacing the page
  shown before (scene.atlas_grid);
- Code Usage: the usage of the codes on the active action's tokens or the training data, as
  a histogram image shown in the panel and its figures; Save Usage PNG writes it with matplotlib.

Everything is read, checked and decoded before the scene changes; a refusal (no tokens on the
action, a codec not installed, an unknown part or a page past the end) leaves it as it was.
"""

from __future__ import annotations

from pathlib import Path

import bpy
from bpy.props import IntProperty, StringProperty

from ..core.codecs.registry import require_codec_folder
from ..core.errors import MotionTokensError
from ..core.parts import PARTS
from ..panels.properties import codecs_from_settings
from ..pipelines.inspect import (
    TRAINING_USAGE,
    InspectOptions,
    atlas_action_steps,
    atlas_grid,
    code_usage,
)
from ..scene.atlas_grid import AtlasGrid
from ..scene.inspect import AtlasActionTarget, held_tokens, store_usage_image
from ..scene.rig import TARGET_ARMATURE, TARGET_NEW_SMPLX
from .reporting import run_job
from .stepped import SteppedJob


class InspectorProperties:
    """Mixin: the codec and part to inspect, empty for the panel's choices."""

    codec: StringProperty(name="Codec", description="Codec name, e.g. kmeans-6 (empty: the Codec panel's choice "
                          "for the part)")
    part: StringProperty(name="Part", description="body, hands or face (empty: the Inspector's choice)")

    def inspect_options(self, context, usage_needed: bool = False) -> InspectOptions:
        """The pipeline's options from these properties and the Inspector settings. Usage is
        counted where Usage From says; tokens missing on the active action are refused when
        usage is needed (sorting by usage, Code Usage), else the atlas goes without it."""
        settings = context.scene.motion_tokens
        inspector = settings.inspector
        part = self.part.strip() or inspector.part
        if part not in PARTS:  # named before anything else is looked at
            raise MotionTokensError(f"no part '{part}': the parts are {', '.join(PARTS)}")
        codec = self.codec.strip()
        if not codec:
            codec = codecs_from_settings(settings.codec).get(part, "")
            if not codec:
                raise MotionTokensError(f"no codec chosen for the {part}: pick one in the Codec panel")
        require_codec_folder(codec, part)  # before the action's tokens are looked for
        level = int(inspector.level) if inspector.level.isdigit() else None
        sort = inspector.sort.lower()
        usage_needed = usage_needed or sort == "usage"
        usage = TRAINING_USAGE
        if inspector.usage_from == "ACTION":
            try:
                usage = held_tokens(context, part)
            except MotionTokensError:
                if usage_needed:
                    raise
                usage = None  # sorted by id: the atlas without usage figures
        folder = settings.smplx_model_folder
        return InspectOptions(codec, part, level, sort, usage, bpy.path.abspath(folder) if folder else None)


class MOTION_TOKENS_OT_codebook_atlas(InspectorProperties, SteppedJob, bpy.types.Operator):
    """Key the codebook as an action, one code a frame in the chosen order, on the target armature: scrub to browse the codes"""

    bl_idname = "motion_tokens.codebook_atlas"
    bl_label = "Codebook Atlas"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "make the codebook atlas"

    def job_steps(self, context):
        settings = context.scene.motion_tokens
        options = self.inspect_options(context)
        armature = settings.target_armature
        bone_map = bpy.path.abspath(settings.bone_map_file) if settings.bone_map_file else None
        target = AtlasActionTarget(context, TARGET_ARMATURE if armature is not None else TARGET_NEW_SMPLX, armature,
                                   bone_map if armature is not None else None)
        return atlas_action_steps(options, target)


class MOTION_TOKENS_OT_atlas_grid(InspectorProperties, bpy.types.Operator):
    """Lay out a page of 64 codes as posed SMPL-X figures named with their code ids, in place of the page shown before"""

    bl_idname = "motion_tokens.atlas_grid"
    bl_label = "Atlas Grid"
    bl_options = {"REGISTER", "UNDO"}

    page: IntProperty(name="Page", default=-1, min=-1, description="Page of 64 codes, from 0 (-1: the Inspector's)")

    def execute(self, context):
        inspector = context.scene.motion_tokens.inspector
        page = inspector.page if self.page < 0 else self.page

        def job():
            result = atlas_grid(self.inspect_options(context), page, AtlasGrid(context))
            inspector.page = page  # the panel shows the page laid out
            return result

        return run_job(self, "lay out the atlas page", job)


class MOTION_TOKENS_OT_code_usage(InspectorProperties, bpy.types.Operator):
    """Count how often each code is used (on the active action's tokens or the training data) and show its histogram"""

    bl_idname = "motion_tokens.code_usage"
    bl_label = "Code Usage"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        inspector = context.scene.motion_tokens.inspector

        def job():
            result = code_usage(self.inspect_options(context, usage_needed=True))
            inspector.usage_image = store_usage_image(result.pixels, result.stats.counts, result.view.order)
            inspector.usage_figures = "\n".join(result.lines)
            return result

        return run_job(self, "count code usage", job)


class MOTION_TOKENS_OT_save_usage_png(InspectorProperties, bpy.types.Operator):
    """Save the code usage histogram as a PNG chart (matplotlib), with its figures"""

    bl_idname = "motion_tokens.save_usage_png"
    bl_label = "Save Usage PNG"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="File Path", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.png", options={"HIDDEN"})

    def invoke(self, context, event):
        if not self.filepath:
            inspector = context.scene.motion_tokens.inspector
            self.filepath = str(Path(bpy.path.abspath("//")) / f"{inspector.part}_usage.png")
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        if not self.filepath:
            self.report({"ERROR"}, "Cannot save the usage PNG: no file chosen")
            return {"CANCELLED"}
        return run_job(self, "save the usage PNG",
                       lambda: code_usage(self.inspect_options(context, usage_needed=True),
                                          bpy.path.abspath(self.filepath)))


CLASSES = (MOTION_TOKENS_OT_codebook_atlas, MOTION_TOKENS_OT_atlas_grid, MOTION_TOKENS_OT_code_usage,
           MOTION_TOKENS_OT_save_usage_png)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
