"""The token operators: Token Markers (and removing them), Solo Code (Next / Previous), Copy
Tokens, Edit by Tokens and Import Tokens, on the active armature's action.

Each reads its options (a property left unset takes the Tokens panel's value,
`scene.motion_tokens.tokens`), makes one call and reports. The range of Copy Tokens and Edit
by Tokens is the scene's preview range when it is on, else First/Last Frame.

Solo Code goes to the next (previous) frame whose token is the code: every frame using it in
turn, consecutive frames of a run included; past the last (first) one it wraps round to the
first (last) and says so, so pressing Next keeps cycling through every frame that uses it.
"""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from ..core.errors import MotionTokensError, OptionError
from ..core.inspect.token_timeline import count_runs, format_code, frames_using, parse_code, solo_target
from ..panels.properties import ImportProperties, copy_properties
from ..panels.token_settings import PART_ITEMS, SOURCE_ITEMS, TokenPartProperty, TokenRangeProperties
from ..pipelines.token_edit import TokenEditOptions, copy_tokens, edit_by_tokens
from ..pipelines.tokens import TokensToArmatureOptions, import_tokens_to_armature_steps
from ..scene.targets import ImportTarget
from ..scene.token_actions import ActionTokensEditor, TokensArmatureTarget, read_copied, store_copied
from ..scene.token_timeline import active_action, add_token_markers, record_tracks, remove_token_markers
from ..scene.tokens_prop import read_tokens
from .polls import active_armature_with_action, chosen_bone_map
from .reporting import report_error, run_job
from .stepped import SteppedJob


def _settings(context):
    return context.scene.motion_tokens.tokens


def _option(operator, context, name: str):
    """The operator's property `name` where the caller set it, else the Tokens panel's."""
    if operator.properties.is_property_set(name):
        return getattr(operator, name)
    return getattr(_settings(context), name)


def frame_range(operator, context) -> tuple[int, int]:
    """The scene's preview range when it is on, else the operator's (the panel's) First/Last Frame."""
    scene = context.scene
    if scene.use_preview_range:
        return scene.frame_preview_start, scene.frame_preview_end
    return _option(operator, context, "frame_first"), _option(operator, context, "frame_last")


def _track(context, part: str):
    """(the active action's ActionTokens, the part's TokenTrack); MotionTokensError without them."""
    action = active_action(context)
    record = read_tokens(action)
    if record is None:
        raise MotionTokensError(f"the action {action.name!r} keeps no motion tokens: make it with Quantize Action, "
                                "Gestures from Sound Strips, Motion from Video or Import Tokens")
    tracks = record_tracks(record)
    if part not in tracks:
        raise OptionError(f"the action {action.name!r} keeps no {part} tokens (its coded parts: {', '.join(tracks)})")
    return record, tracks[part]


def code_size(record, part: str) -> int:
    """Codes per codebook of the part's tokens (k or D), from the codebook record."""
    book = record.codebooks.get(part)
    if book is None:
        return int(record.tokens[part].max()) + 1
    return int(book.size.get("k", book.size.get("D", 0)))


class _OnTokens:
    """Mixin: poll for an active armature playing an action."""

    @classmethod
    def poll(cls, context):
        return active_armature_with_action(cls, context)


class MOTION_TOKENS_OT_token_markers(_OnTokens, TokenPartProperty, bpy.types.Operator):
    """Add a timeline marker on each frame where the part's token changes, named after the code ("body 17")"""

    bl_idname = "motion_tokens.token_markers"
    bl_label = "Token Markers"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        part = _option(self, context, "part")
        try:
            _, track = _track(context, part)
        except MotionTokensError as exc:
            return report_error(self, "add token markers", exc)
        count = add_token_markers(context.scene, track)
        self.report({"INFO"}, f"{count} {part} token markers, one where the code changes")
        return {"FINISHED"}


class MOTION_TOKENS_OT_remove_token_markers(bpy.types.Operator):
    """Remove the markers Token Markers added (no other marker)"""

    bl_idname = "motion_tokens.remove_token_markers"
    bl_label = "Remove Token Markers"
    bl_options = {"REGISTER", "UNDO"}

    part: EnumProperty(name="Part", items=(("ALL", "All", "Every part's token markers"),) + PART_ITEMS, default="ALL")

    def execute(self, context):
        removed = remove_token_markers(context.scene, None if self.part == "ALL" else self.part)
        self.report({"INFO"}, f"Removed {removed} token markers")
        return {"FINISHED"}


class MOTION_TOKENS_OT_solo_code(_OnTokens, TokenPartProperty, bpy.types.Operator):
    """Go to the next (or previous) frame whose token is the code, and say how many frames use it"""

    bl_idname = "motion_tokens.solo_code"
    bl_label = "Solo Code"
    bl_options = {"REGISTER", "UNDO"}

    code: StringProperty(name="Code", description="The code (17; RQ-VAE 3,5,1,0 or its first levels, 3); "
                         "empty: the code at the current frame")
    forward: BoolProperty(name="Next", default=True, description="Go forward (Next) or back (Previous)")

    def execute(self, context):
        scene, part = context.scene, _option(self, context, "part")
        try:
            record, track = _track(context, part)
            text = _option(self, context, "code").strip()
            if text:
                code = parse_code(text, track.levels, code_size(record, part), prefix=True)
            else:
                code = track.code_at(scene.frame_current)
                if code is None:
                    raise OptionError(f"frame {scene.frame_current} is outside the action's tokens: type a code")
        except MotionTokensError as exc:
            return report_error(self, "solo a code", exc)
        frames = frames_using(track, code)
        target, wrapped = solo_target(frames, scene.frame_current, self.forward)
        name = f"{part} {format_code(code)}"
        if target is None:
            self.report({"WARNING"}, f"No frame of the action uses {name}")
            return {"CANCELLED"}
        scene.frame_set(target)
        where = int((frames == target).nonzero()[0][0]) + 1
        turn = (" (wrapped round to the first)" if self.forward else " (wrapped round to the last)") if wrapped else ""
        self.report({"INFO"}, f"{name}: frame {target}{turn}, {where} of the {len(frames)} frames that use it "
                              f"({count_runs(frames)} runs)")
        return {"FINISHED"}


class MOTION_TOKENS_OT_copy_tokens(_OnTokens, TokenPartProperty, TokenRangeProperties, bpy.types.Operator):
    """Copy the part's tokens of the range (the preview range, else First/Last Frame), for Edit by Tokens to paste"""

    bl_idname = "motion_tokens.copy_tokens"
    bl_label = "Copy Tokens"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        part, (first, last) = _option(self, context, "part"), frame_range(self, context)
        action = active_action(context)
        try:
            copied = copy_tokens(read_tokens(action), part, first, last, action.name)
        except MotionTokensError as exc:
            return report_error(self, "copy tokens", exc)
        store_copied(context.scene, copied)
        self.report({"INFO"}, f"Copied {len(copied.rows)} rows of {part} tokens ({copied.codec}) from frames "
                              f"{first}-{last} of {action.name!r}")
        return {"FINISHED"}


class MOTION_TOKENS_OT_edit_by_tokens(_OnTokens, TokenPartProperty, TokenRangeProperties, bpy.types.Operator):
    """Replace the part's tokens on the range with a code (or the copied tokens), decode again and key the result as a new action"""

    bl_idname = "motion_tokens.edit_by_tokens"
    bl_label = "Edit by Tokens"
    bl_options = {"REGISTER", "UNDO"}

    code: StringProperty(name="Code", description="The code to put on the range: 17, or one number per level "
                         "for RQ-VAE (3,5,1,0)")
    source: EnumProperty(name="Replace With", items=SOURCE_ITEMS, default="CODE")
    margin_frames: IntProperty(name="Blend Margin", default=0, min=0, max=900,
                               description="Frames (30 fps) to blend over either side; 0: the codec's default")
    bone_map_file: StringProperty(
        name="Bone Map", description="For a rig that is not SMPL-X: a layout name (metahuman, mixamo, rigify) or a "
        "bone map file (empty: the Motion Tokens panel's Bone Map, else detected from the bone names)",
    )

    def execute(self, context):
        part, (first, last) = _option(self, context, "part"), frame_range(self, context)
        copied = read_copied(context.scene) if _option(self, context, "source") == "COPIED" else None
        if _option(self, context, "source") == "COPIED" and copied is None:
            return report_error(self, "edit by tokens", OptionError("nothing copied yet: use Copy Tokens first"))
        options = TokenEditOptions(part, first, last, _option(self, context, "code"), copied,
                                   _option(self, context, "margin_frames"))
        source = lambda: ActionTokensEditor(context, chosen_bone_map(self, context))  # noqa: E731
        return run_job(self, "edit by tokens", lambda: edit_by_tokens(options, source()))


class MOTION_TOKENS_OT_import_tokens(SteppedJob, ImportProperties, bpy.types.Operator):
    """Decode a tokens file (.json, .jsonl, .npy export or .npz tokens file) onto an armature as a new action that keeps the tokens"""

    bl_idname = "motion_tokens.import_tokens"
    bl_label = "Import Tokens"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "import tokens"

    filepath: StringProperty(name="File Path", subtype="FILE_PATH")
    filter_glob: StringProperty(default="*.json;*.jsonl;*.npy;*.npz", options={"HIDDEN"})
    armature: StringProperty(name="Target Armature", description="Name of the armature object for Target Armature")
    accept_other_codebook: BoolProperty(
        name="Accept Other Codebook", default=False,
        description="Decode even where an installed bundle is not the codebook the file records (other poses)")

    def invoke(self, context, event):
        settings = getattr(context.scene, "motion_tokens", None)
        if settings is not None:
            copy_properties(settings, self, ImportProperties)
            self.armature = settings.target_armature.name if settings.target_armature is not None else ""
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def job_steps(self, context):
        frame_start = context.scene.frame_current if self.use_current_frame else self.frame_start
        bone_map = bpy.path.abspath(self.bone_map_file) if self.bone_map_file else None
        target = ImportTarget(context, self.target, frame_start, self.armature, bone_map)
        options = TokensToArmatureOptions(bpy.path.abspath(self.filepath), None, self.accept_other_codebook)
        return import_tokens_to_armature_steps(options, TokensArmatureTarget(target))


CLASSES = (MOTION_TOKENS_OT_token_markers, MOTION_TOKENS_OT_remove_token_markers, MOTION_TOKENS_OT_solo_code,
           MOTION_TOKENS_OT_copy_tokens, MOTION_TOKENS_OT_edit_by_tokens, MOTION_TOKENS_OT_import_tokens)


# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
