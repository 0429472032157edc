"""The armature sink of the generate job (pipelines.generate) for sound strips: each strip's
generated motion keyed as a new action on the target armature, from the strip's first frame,
exactly as many frames as the strip shows at the scene's rate.

Per strip: the motion resampled to the scene's frames (`motion_on_frames`), keyed onto the
target (scene.rig.write_to_target_steps: an SMPL-X armature as it is, other rigs retargeted;
"NEW" makes one SMPL-X armature, shared by every strip of the job), the jaw with the bones,
the expressions as custom properties driving shape keys (scene.face), the take data
(scene.take) and the tokens (scene.tokens_prop) kept on the action. With several strips, each
action goes into an NLA strip named after its sound strip, on a track of that name, so it
moves with the sound; the armature then plays the NLA (no action of its own).

Everything it made is remembered, and `discard()` removes it (the job calls it on an error or
Esc after some strips were done), so a cancelled job leaves the scene as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import bpy
import numpy as np

from ..core import rotations as rot
from ..core.motion import Motion, interpolation_weights
from ..core.parts import PART_REGISTRY
from ..core.steps import Progress, Steps
from . import compat
from .actions import scene_fps
from .face import FaceKeys, key_expressions
from .rig import TARGET_ARMATURE, TARGET_NEW_SMPLX, write_to_target_steps
from .sound import StripTiming
from .take import store_take
from .tokens_prop import ActionTokens, store_tokens


def motion_on_frames(motion: Motion, fps: float, num_frames: int) -> Motion:
    """`motion` sampled at the times k / fps, k = 0..num_frames-1 (slerp for rotations,
    linear for the rest; times past its last frame hold the last), at `fps`."""
    src = np.arange(num_frames) * (motion.fps / fps)
    i0, i1, a = interpolation_weights(np.clip(src, 0.0, motion.num_frames - 1), motion.num_frames)
    rotations = rot.quat_slerp(motion.rotations[i0], motion.rotations[i1],
                               np.broadcast_to(a[:, None], (num_frames, motion.skeleton.num_joints)))

    def lerp(x):
        return None if x is None else x[i0] * (1.0 - a[:, None]) + x[i1] * a[:, None]

    return replace(motion, fps=float(fps), rotations=rotations, trans=lerp(motion.trans),
                   expressions=lerp(motion.expressions))


def face_expression_count(tokens: dict) -> int:
    """How many expression coefficients the generated tokens code (the face part's; 0 without)."""
    part = PART_REGISTRY.get("face")
    return part.expressions if part is not None and "face" in tokens else 0


@dataclass
class _Made:
    armature: object
    action: object
    face: FaceKeys
    track: object = None


@dataclass
class StripTarget:
    """The operator's sink: target "NEW" (a new SMPL-X armature), "NEW_METAHUMAN" etc., or
    "ARMATURE" (`armature`, any rig; `bone_map` a layout or map file, None: detected);
    `timings` one per input, in the job's order; `replace` an action to put the single new
    one in place of (New Variation): its NLA strip or the assignment."""

    context: object
    timings: list[StripTiming]
    target: str = TARGET_NEW_SMPLX
    armature: object = None
    bone_map: str | None = None
    replace: object = None
    made: list[_Made] = field(default_factory=list)
    _before: tuple | None = None

    def check(self, inputs) -> None:
        """Note what the target armature plays, to give it back on discard() (the target
        itself is resolved when written onto)."""
        obj = self.armature
        anim = obj.animation_data if obj is not None else None
        slot = anim.action_slot if anim is not None and compat.has_slotted_actions() else None
        self._before = (anim.action if anim is not None else None, slot)
        self._replace_fake = bool(self.replace.use_fake_user) if self.replace is not None else False

    def write_steps(self, generated, index: int) -> Steps:
        """Key input `index` (a pipelines.generate.Generated) onto the target; the Keyed."""
        timing = self.timings[index]
        motion = motion_on_frames(generated.motion, timing.fps, timing.num_frames)
        target, obj = (self.target, self.armature) if not self.made else (TARGET_ARMATURE, self.made[0].armature)
        result = yield from write_to_target_steps(self.context, motion, target, armature=obj, bone_map=self.bone_map,
                                                  frame_start=timing.frame_start,
                                                  action_name=f"{timing.name} gestures")
        made = _Made(result.armature, result.action, FaceKeys())
        self.made.append(made)  # before the next step: a cancel there removes it (discard)
        yield Progress(1, 1, f"keying the face and tokens of {timing.name}")
        store_take(result.action, motion, result.frame_start)
        count = face_expression_count(generated.tokens)
        if count:
            made.face = key_expressions(result.armature, result.action, motion.expressions[:, :count],
                                        result.frame_start)
        store_tokens(result.action, ActionTokens(
            generated.tokens, generated.codec_names, generated.codebooks, generated.token_fps,
            result.frame_start, timing.fps, generated.generator_name, generated.generator_sha256,
            generated.seed, timing.name, seam_frames=generated.seam_frames))
        self._place(made, timing, index)
        line = (f"Gestures for '{timing.name}' ({timing.seconds:.2f} s, seed {generated.seed}): action "
                f"'{result.action.name}' on '{result.armature.name}', frames {result.frame_start}-{result.frame_end}")
        return Keyed([line], generated_warnings(result, self.replace), result)

    def _place(self, made: _Made, timing: StripTiming, index: int) -> None:
        """Several strips: the action into an NLA strip named after its sound strip; New
        Variation: in place of the action it replaces."""
        anim = made.armature.animation_data
        if self.replace is not None:
            _swap_nla(anim, self.replace, made.action)
            if self._before[0] is not self.replace:  # it played from the NLA: keep it so
                _assign(made.armature, self._before)
            else:  # the keying just kept the replaced action with a fake user: not asked for
                self.replace.use_fake_user = self._replace_fake
        elif len(self.timings) > 1:
            made.track = anim.nla_tracks.new()
            made.track.name = timing.name
            strip = made.track.strips.new(timing.name, timing.frame_start, made.action)
            strip.name = timing.name
            anim.action = None

    def discard(self) -> None:
        """Remove every action, NLA track, face property and driver this sink made, and an
        armature it created; give the target back the action it played."""
        for made in reversed(self.made):
            made.face.remove(made.armature)
            anim = made.armature.animation_data
            if made.track is not None and anim is not None:
                anim.nla_tracks.remove(made.track)
            if self.replace is not None and anim is not None:
                _swap_nla(anim, made.action, self.replace)
            if made.action.name in bpy.data.actions:
                bpy.data.actions.remove(made.action)
        created = self.made and self.target != TARGET_ARMATURE
        if created:
            obj = self.made[0].armature
            data = obj.data
            bpy.data.objects.remove(obj, do_unlink=True)
            if data is not None and data.users == 0:
                bpy.data.armatures.remove(data)
        elif self._before is not None and self.armature is not None:
            _assign(self.armature, self._before)
        self.made.clear()


@dataclass
class Keyed:
    """What keying one strip did (the pipeline's Written): lines, warnings, TargetResult."""

    lines: list[str]
    warnings: list[str]
    target: object


def generated_warnings(result, replaced=None) -> list[str]:
    """The keying's warnings (less the one about keeping the replaced action), and the map's
    bones the rig lacks."""
    warnings = [w for w in result.warnings if replaced is None or repr(replaced.name) not in w]
    if getattr(result, "missing", None):
        warnings.append(f"the motion of {len(result.missing)} bones of the map is left out: "
                        f"'{result.armature.name}' lacks {', '.join(result.missing)}")
    return warnings


def _swap_nla(anim, old, new) -> None:
    """Put `new` in every NLA strip of `anim` that plays `old`."""
    for track in anim.nla_tracks:
        for strip in track.strips:
            if strip.action == old:
                strip.action = new


def _assign(obj, before) -> None:
    """Make `obj` play `before` = (action or None, slot) again."""
    action, slot = before
    if action is not None:
        compat.assign_action(obj, action, slot)
    elif obj.animation_data is not None:
        obj.animation_data.action = None
