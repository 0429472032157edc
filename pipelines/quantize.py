"""The quantize job: an armature's action coded through the chosen codecs, the decoded
motion keyed back onto it as a new action (the original is never changed).

The armature is handed in (scene.targets.ArmatureTake): `read(skeleton)` -> (the motion,
its action's name, its first keyed frame), `write_steps(motion, frame_start,
action_name)` -> the steps keying it, their Result a scene.actions.WriteResult (or, for a
rig that is not SMPL-X, read back as SMPL-X through its bone map and keyed through it again,
a scene.rig.RigRetargetResult: both carry the action and the warnings).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from ..core.codecs.coding import codec_label
from ..core.codecs.registry import FAMILIES, require_codec_folder
from ..core.errors import MotionTokensError
from ..core.motion import Motion
from ..core.parts import PARTS
from ..core.skeleton import smplx_skeleton
from ..core.steps import Progress, Steps, run_steps, within
from .encode import Coded, code_motion_steps

_MAX_ACTION_NAME = 50  # characters, as scene.actions keeps them
_CODEC = rf"(?:{'|'.join(map(re.escape, FAMILIES))})-\d+"
_PART = rf"(?:{'|'.join(map(re.escape, PARTS))})"
#: The codec label a quantized action's name ends with (codec_label), and the " [k]" that
#: makes a taken name unique: "take kmeans-6", "take rqvae-9 body, kmeans-6 hands [2]".
_LABEL_SUFFIX = re.compile(rf"\s+{_CODEC}(?: {_PART})?(?:, {_CODEC} {_PART})*(?: \[\d+\])?$")


@dataclass(frozen=True)
class Take:
    """What an armature plays: its motion, its action's name and first keyed frame."""

    motion: Motion
    action_name: str
    frame_start: int


@dataclass(frozen=True)
class QuantizeOptions:
    """codecs: part -> codec name ('body' -> 'kmeans-6'); smplx_model_folder: None for the
    approximate SMPL-X rest joints; models_dir: None for the extension's models/."""

    codecs: dict[str, str]
    smplx_model_folder: str | os.PathLike | None = None
    models_dir: str | os.PathLike | None = None


@dataclass
class QuantizeResult:
    """The take coded, its coding, what keying it wrote, the summary line and the warnings."""

    take: Take
    coded: Coded
    write: object
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def quantized_action_name(source: str, codecs: dict[str, str]) -> str:
    """'<source> <codec label>', the source name without the codec label of an earlier
    quantizing (re-quantizing 'take rqvae-9' gives 'take kmeans-6', not 'take rqvae-9
    kmeans-6'), shortened so the new label is kept whole."""
    label = codec_label(codecs)
    base = _LABEL_SUFFIX.sub("", source) or source
    return f"{base[: max(1, _MAX_ACTION_NAME - len(label) - 1)]} {label}"


def _summary(take: Take, coded: Coded, action_name: str) -> str:
    codecs = coded.encoded.codecs
    errors = ", ".join(
        f"{part} {codecs[part].name} ({codecs[part].bits_per_frame:g} bits/frame) RMSE {rmse:.2f} cm"
        for part, rmse in coded.rmse_cm.items()
    )
    return (f"Quantized '{take.action_name}' as '{action_name}': {errors} "
            "(joint positions; the original action is kept)")


def quantize_steps(options: QuantizeOptions, armature) -> Steps:
    """Quantizing as steps (core.steps): read the take `armature` plays, code it with
    `options.codecs` a slice of frames at a time per part (core.codecs.coding), key the decoded
    motion as a new action on it (the keyframe channels a slice at a time, then the keying);
    Progress counts frames (the read one share, the coding three, the keying two); returns
    the QuantizeResult. Raises MotionTokensError, nothing written, when no codec is chosen,
    one is not bundled, or the armature has no action or is neither SMPL-X nor a rig its
    bone map (given or detected) covers; the keying is the last step, so closing the steps
    before the end leaves the scene as it was."""
    if not options.codecs:
        raise MotionTokensError("no codec chosen: pick a family and bits per frame in the Codec panel")
    for part, name in options.codecs.items():
        require_codec_folder(name, part, options.models_dir)
    yield Progress(0, 1, "reading the action")
    take = Take(*armature.read(smplx_skeleton(model_folder=options.smplx_model_folder)))
    n = take.motion.num_frames
    coding = code_motion_steps(take.motion, options.codecs, options.models_dir)  # loads every bundle first
    coded = yield from within(coding, n, 3 * n, 6 * n)
    keying = armature.write_steps(coded.encoded.decoded, take.frame_start,
                                  quantized_action_name(take.action_name, options.codecs))
    write = yield from within(keying, 4 * n, 2 * n, 6 * n)
    return QuantizeResult(take, coded, write, [_summary(take, coded, write.action.name)], list(write.warnings))


def quantize(options: QuantizeOptions, armature) -> QuantizeResult:
    """`quantize_steps` run to the end; the QuantizeResult."""
    return run_steps(quantize_steps(options, armature))
