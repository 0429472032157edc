"""The armature sink of the capture job (pipelines.capture) for movie strips: each strip's
decoded motion keyed as a new action on the target armature from the strip's first frame,
exactly as many frames as the strip shows at the scene's rate, and the raw fit beside it as a
second action (kept with a fake user, "<strip> raw"), so the two can be compared by swapping
the action. The tokens are kept on the decoded action (scene.tokens_prop), the take data on
both (scene.take). Several strips: one NLA strip each, as Gestures from Sound Strips does
(scene.gestures.StripTarget, whose placing and discarding this reuses).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..core.codecs.coding import codebook_record
from ..core.steps import Progress, Steps
from .gestures import FaceKeys, Keyed, StripTarget, _Made, generated_warnings, motion_on_frames
from .rig import TARGET_ARMATURE, write_to_target_steps
from .sound import StripTiming
from .strips import MediaStrip
from .take import store_take
from .tokens_prop import ActionTokens, store_tokens


def movie_timing(strip: MediaStrip, fps: float) -> StripTiming:
    """Where a movie strip's clip lies: its first frame, the frames it shows at the scene's
    `fps`, and the seconds of the file trimmed off before them (the strip plays the movie in
    real time at the scene's rate). A timing with 0 frames (a file chosen, not a strip) keeps
    the capture's whole duration."""
    return StripTiming(strip.name, strip.filepath, strip.frame_start, strip.duration, fps, strip.source_offset / fps)


@dataclass
class MovieTarget(StripTarget):
    """The Motion from Video operator's sink (StripTarget's targets, NLA placing and
    discard(), which removes the raw fit's action too: it is one of `made`)."""

    def write_steps(self, captured, index: int) -> Steps:
        """Key input `index` (a pipelines.capture.Captured): the raw fit, then the decoded
        motion the armature plays; the Keyed."""
        timing = self.timings[index]
        if timing.num_frames == 0:  # a chosen file: its whole duration at the scene's rate
            timing = replace(timing, num_frames=max(1, round(captured.decoded.num_frames * timing.fps
                                                           / captured.decoded.fps)))
            self.timings[index] = timing
        decoded = motion_on_frames(captured.decoded, timing.fps, timing.num_frames)
        raw = motion_on_frames(captured.raw, timing.fps, timing.num_frames)
        target, obj = (self.target, self.armature) if not self.made else (TARGET_ARMATURE, self.made[0].armature)
        first = yield from write_to_target_steps(self.context, raw, target, armature=obj, bone_map=self.bone_map,
                                                 frame_start=timing.frame_start, action_name=f"{timing.name} raw")
        first.action.use_fake_user = True
        self.made.append(_Made(first.armature, first.action, FaceKeys()))  # removed on discard()
        result = yield from write_to_target_steps(self.context, decoded, TARGET_ARMATURE, armature=first.armature,
                                                  bone_map=self.bone_map if target == TARGET_ARMATURE else None,
                                                  frame_start=timing.frame_start,
                                                  action_name=f"{timing.name} {captured.codec_label}")
        made = _Made(result.armature, result.action, FaceKeys())
        self.made.append(made)
        yield Progress(1, 1, f"keeping the tokens of {timing.name}")
        store_take(result.action, decoded, result.frame_start)
        store_take(first.action, raw, result.frame_start)
        codecs = captured.coded.encoded.codecs
        store_tokens(result.action, ActionTokens(
            captured.coded.encoded.tokens, captured.codec_names, {p: codebook_record(c) for p, c in codecs.items()},
            next(iter(codecs.values())).fps, result.frame_start, timing.fps, source=timing.name,
            part_token_fps={p: c.token_fps for p, c in codecs.items()},  # rqvae4's rows are 7.5 a second
            num_frames=captured.coded.encoded.decoded.num_frames))
        self._place(made, timing, index)
        line = (f"Motion from '{timing.name}' ({timing.seconds:.2f} s): action '{result.action.name}' on "
                f"'{result.armature.name}', frames {result.frame_start}-{result.frame_end}; the raw fit is "
                f"'{first.action.name}'")
        return Keyed([line], generated_warnings(result), result)
