"""Motion from Video: the selected movie strips (or a chosen video or .pose file) become body
and finger motion on the panel's target armature, through the Codec panel's codecs
(pipelines.capture).

Each movie strip gets a new action from the strip's first frame for as many frames as it
shows at the scene's rate (its trimmed part of the file), and the raw fit beside it as
"<strip> raw" (scene.capture); a chosen file starts at the scene's current frame and keeps
its whole duration. MediaPipe runs a few frames a step, so the status bar shows the frames
done and the time left, and Esc stops it with the scene as it was.
"""

from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, StringProperty

from ..core.errors import MotionTokensError
from ..panels.properties import codecs_from_settings
from ..pipelines.capture import POSE_SUFFIXES, VIDEO_SUFFIXES, CaptureOptions, capture_steps
from ..scene.actions import scene_fps
from ..scene.capture import MovieTarget, movie_timing
from ..scene.sound import StripTiming
from ..scene.strips import selected_media_strips
from .gestures import _target
from .stepped import SteppedJob


def selected_movie_strips(scene) -> list:
    return [s for s in selected_media_strips(scene) if s.kind == "MOVIE"]


class MOTION_TOKENS_OT_motion_from_video(SteppedJob, bpy.types.Operator):
    """Fit body and finger motion to the person in each selected movie strip (or the chosen file), coded through the Codec panel's codecs, as new actions on the target armature"""

    bl_idname = "motion_tokens.motion_from_video"
    bl_label = "Motion from Video"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "capture motion"

    filepath: StringProperty(
        name="File", subtype="FILE_PATH",
        description="A video or a MediaPipe .pose file to capture instead of the selected movie strips",
    )
    mirrored: BoolProperty(
        name="Mirrored", default=False,
        description="The video is a mirror image (a selfie camera): the person's left appears on the left",
    )

    @classmethod
    def poll(cls, context):
        return True  # the operator says what is missing (no strip, no file) when run

    def _sources(self, context) -> tuple[list[str], list[StripTiming]]:
        fps = scene_fps(context.scene)
        if self.filepath:
            path = os.path.normpath(bpy.path.abspath(self.filepath))
            name = os.path.splitext(os.path.basename(path))[0]
            return [path], [StripTiming(name, path, context.scene.frame_current, 0, fps, 0.0)]
        strips = selected_movie_strips(context.scene)
        if not strips:
            raise MotionTokensError("no movie strip selected: select movie strips in the Sequencer, or choose a "
                                    f"video ({', '.join(VIDEO_SUFFIXES)}) or {POSE_SUFFIXES[0]} file")
        return [s.filepath for s in strips], [movie_timing(s, fps) for s in strips]

    def job_steps(self, context):
        settings = context.scene.motion_tokens
        paths, timings = self._sources(context)
        target, armature, bone_map = _target(context)
        codecs = codecs_from_settings(settings.codec)
        clips = tuple(None if t.num_frames == 0 else (t.skip_seconds, t.seconds) for t in timings)
        options = CaptureOptions(tuple(paths), codecs, timings[0].fps, self.mirrored, clips=clips)
        return capture_steps(options, MovieTarget(context, timings, target, armature, bone_map))


CLASSES = (MOTION_TOKENS_OT_motion_from_video,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
