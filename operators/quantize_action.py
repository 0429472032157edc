"""Quantize Action: re-encode the active SMPL-X armature's action through the chosen codecs
and key the decoded result as a new action, "what does my animation look like at 6 bits/frame".

The original action is never changed. The new action (named "<action> <codec>", e.g.
"Take kmeans-6", made unique if taken) starts on the original's first keyed frame and is
assigned to the armature so it plays at once; the original stays in the file (with a fake
user when nothing else uses it) and can be assigned again from the Action editor, or the
whole operation undone. Everything is read and coded before the scene changes: a missing
armature, bone, action or codec bundle cancels with the scene as it was.

The per-part RMSE in the status bar is the root-mean-square distance (cm) between the joint
positions of the original and decoded part, each by forward kinematics of that part alone
(core.codecs.features.part_positions, the figure the bundles' manifests report).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import bpy
from bpy.props import StringProperty

from ..core.codecs.coding import EncodedMotion, codec_label, encode_parts, part_rmse_cm
from ..core.codecs.features import PARTS
from ..core.codecs.registry import require_codec_folder
from ..core.errors import MotionTokensError, SkeletonError
from ..core.skeleton import smplx_skeleton
from ..scene import compat
from ..scene.actions import WriteResult, read_motion, write_motion

_MAX_ACTION_NAME = 50  # characters, as scene.actions keeps them


@dataclass(frozen=True)
class QuantizeOptions:
    """codecs: part -> codec name ('body' -> 'kmeans-6'); smplx_model_folder: None for the
    approximate SMPL-X rest joints."""

    codecs: dict[str, str]
    smplx_model_folder: str | None = None


@dataclass(frozen=True)
class QuantizeResult:
    armature: bpy.types.Object
    source_action: bpy.types.Action
    encoded: EncodedMotion
    rmse_cm: dict[str, float]
    write: WriteResult


def first_keyed_frame(obj, action, names) -> int:
    """The first whole frame keyed on the bones `names` of `obj` in `action`: where
    scene.actions.read_motion starts reading it."""
    prefixes = tuple(f'pose.bones["{bpy.utils.escape_identifier(n)}"].' for n in names)
    starts = [fc.range()[0] for fc in compat.action_fcurves(action, obj) if fc.data_path.startswith(prefixes)]
    if not starts:
        raise SkeletonError(f"action {action.name!r} has no keys on the bones of {obj.name!r}")
    return math.ceil(min(starts) - 1e-6)


def quantized_action_name(source: str, codecs: dict[str, str]) -> str:
    """'<source> <codec label>', the source name shortened so the codec label is kept whole."""
    label = codec_label(codecs)
    return f"{source[: max(1, _MAX_ACTION_NAME - len(label) - 1)]} {label}"


def codecs_from_settings(codec_settings) -> dict[str, str]:
    """part -> codec name chosen in the Codec panel's settings (scene.motion_tokens.codec):
    its family and each part's bits per frame; a part whose bits are not set is left out."""
    out = {}
    for part in PARTS:
        bits = getattr(codec_settings, f"{part}_bits")
        if bits.isdigit():
            out[part] = f"{codec_settings.family}-{bits}"
    return out


def quantize_action(context, options: QuantizeOptions) -> QuantizeResult:
    """Code the active armature's action with `options.codecs` and key the decoded motion as a
    new action on it (module docstring). Raises MotionTokensError, the scene unchanged, when
    there is no armature with the SMPL-X bones and an action, or a codec is not bundled."""
    if not options.codecs:
        raise MotionTokensError("no codec chosen: pick a family and bits per frame in the Codec panel")
    for part, name in options.codecs.items():
        require_codec_folder(name, part)
    obj = context.active_object
    skeleton = smplx_skeleton(model_folder=options.smplx_model_folder)
    motion = read_motion(obj, skeleton, context=context)  # checks armature, bones and action
    source = compat.assigned_action(obj)
    frame_start = first_keyed_frame(obj, source, skeleton.names)
    encoded = encode_parts(motion, options.codecs)  # loads and verifies every bundle first
    rmse = part_rmse_cm(motion, encoded.decoded, options.codecs)
    write = write_motion(
        obj, encoded.decoded, frame_start=frame_start,
        action_name=quantized_action_name(source.name, options.codecs), context=context,
    )
    return QuantizeResult(obj, source, encoded, rmse, write)


class MOTION_TOKENS_OT_quantize_action(bpy.types.Operator):
    """Re-encode the active SMPL-X armature's action through the chosen codecs and key the decoded motion as a new action"""

    bl_idname = "motion_tokens.quantize_action"
    bl_label = "Quantize Action"
    bl_options = {"REGISTER", "UNDO"}

    body_codec: StringProperty(
        name="Body Codec", description="Codec for the body, e.g. kmeans-6 (empty: the Codec panel's choice)",
    )
    hands_codec: StringProperty(
        name="Hands Codec", description="Codec for the hands, e.g. rqvae-9 (empty: the Codec panel's choice)",
    )

    def quantize_options(self, context) -> QuantizeOptions:
        """The codecs given to the operator, or the Codec panel's choice for those left empty."""
        settings = getattr(context.scene, "motion_tokens", None)
        chosen = codecs_from_settings(settings.codec) if settings is not None else {}
        given = {"body": self.body_codec.strip(), "hands": self.hands_codec.strip()}
        codecs = {part: given[part] or chosen.get(part, "") for part in given}
        missing = [part for part, name in codecs.items() if not name]
        if missing:
            raise MotionTokensError(
                f"no codec chosen for the {' and '.join(missing)}: pick one in the Codec panel (only bundled "
                "codecs are offered)"
            )
        folder = settings.smplx_model_folder if settings is not None else ""
        return QuantizeOptions(codecs, bpy.path.abspath(folder) if folder else None)

    def execute(self, context):
        try:
            result = quantize_action(context, self.quantize_options(context))
        except MotionTokensError as exc:
            self.report({"ERROR"}, f"Cannot quantize: {exc}")
            return {"CANCELLED"}
        for warning in result.write.warnings:
            self.report({"WARNING"}, warning)
        codecs = result.encoded.codecs
        errors = ", ".join(
            f"{part} {codecs[part].name} ({codecs[part].bits_per_frame:g} bits/frame) RMSE {rmse:.2f} cm"
            for part, rmse in result.rmse_cm.items()
        )
        self.report(
            {"INFO"},
            f"Quantized '{result.source_action.name}' as '{result.write.action.name}': {errors} "
            f"(joint positions; the original action is kept)",
        )
        return {"FINISHED"}


CLASSES = (MOTION_TOKENS_OT_quantize_action,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
