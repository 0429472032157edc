"""Spot Signs: find the lexicon's signs in the selected movie strips (or a chosen file, or the
active armature's captured action) and put them on the timeline (pipelines.spot for the
matching, scene.signs for the placing): a marker per sign found, a sound strip of its recorded
word where the lexicon has one (recorded words, not synthesised speech), and subtitles (.srt)
when a path is given.

The lexicon is built once per run (or read from a lexicon file) and matched against every
query. Reading a video runs MediaPipe a few frames a step, so the status bar shows the progress
and Esc stops it with the scene as it was; everything is added to the scene in the last step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import bpy
from bpy.props import StringProperty

from ..core.errors import MotionTokensError, OptionError
from ..core.signs.features import motion_sign_features
from ..core.skeleton import smplx_skeleton
from ..core.steps import Progress, within
from ..pipelines.spot import SpotOptions, TimedDetection, lexicon_steps, spot_steps, write_detections
from ..scene.actions import scene_fps
from ..scene.capture import movie_timing
from ..scene.signs import PlacedSigns, detection_frame, place_detections
from ..scene.sound import StripTiming
from ..scene.targets import ArmatureTake
from .capture_video import selected_movie_strips
from .stepped import SteppedJob


@dataclass
class _Query:
    """One query: its file (None for an action), its timing in the scene, its features when
    read from an action."""

    path: Path | None
    timing: StripTiming
    features: object = None


@dataclass
class SpotSignsResult:
    lines: list[str]
    warnings: list[str] = field(default_factory=list)
    detections: list = field(default_factory=list)  # (StripTiming, [TimedDetection]) per query


class MOTION_TOKENS_OT_spot_signs(SteppedJob, bpy.types.Operator):
    """Find the lexicon's signs in the selected movie strips (or the chosen file, or the active armature's captured action): timeline markers, sound strips of their recorded words and subtitles at the signs found"""

    bl_idname = "motion_tokens.spot_signs"
    bl_label = "Spot Signs"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "spot signs"

    filepath: StringProperty(
        name="File", subtype="FILE_PATH",
        description="A video, MediaPipe .pose file or motion file (.npz, .bvh) to spot signs in instead of the "
        "selected movie strips; it starts at the current frame",
    )

    @classmethod
    def poll(cls, context):
        return True  # the operator says what is missing (no lexicon, no strip) when run

    def _queries(self, context) -> list[_Query]:
        scene = context.scene
        fps = scene_fps(scene)
        if self.filepath:
            path = Path(os.path.normpath(bpy.path.abspath(self.filepath)))
            return [_Query(path, StripTiming(path.stem, str(path), scene.frame_current, 0, fps, 0.0))]
        strips = selected_movie_strips(scene)
        if strips:
            return [_Query(Path(s.filepath), movie_timing(s, fps)) for s in strips]
        obj = context.active_object
        if obj is None or obj.type != "ARMATURE":
            raise MotionTokensError("nothing to spot signs in: select movie strips in the Sequencer, choose a file, "
                                    "or make an armature playing a captured action active")
        motion, name, first = ArmatureTake(context).read(smplx_skeleton())
        return [_Query(None, StripTiming(name, "", first, 0, fps, 0.0), motion_sign_features(motion))]

    def job_steps(self, context):
        signs = context.scene.motion_tokens.signs
        if not signs.lexicon.strip():
            raise OptionError("no lexicon: choose a lexicon folder or file in the Signs panel")
        lexicon_path = Path(os.path.normpath(bpy.path.abspath(signs.lexicon)))
        subtitles = Path(os.path.normpath(bpy.path.abspath(signs.subtitles))) if signs.subtitles.strip() else None
        if subtitles is not None and subtitles.suffix.lower() != ".srt":
            raise OptionError(f"{subtitles}: subtitles are written as .srt")
        queries = self._queries(context)
        language = signs.language.strip() or None

        def options(query):
            return SpotOptions(query.path, lexicon_path, None, signs.window or None, signs.hop or None, signs.overlap,
                               signs.threshold, language)

        options(queries[0]).check()
        return self._steps(context, queries, options, subtitles)

    def _steps(self, context, queries, options, subtitles):
        total = 100 * (len(queries) + 1)
        first = options(queries[0])
        lexicon = yield from within(lexicon_steps(first.lexicon, first.language), 0, 100, total)
        found, lines, warnings = [], [], []
        for i, query in enumerate(queries):
            result = yield from within(spot_steps(options(query), query.features, query.timing.name, lexicon=lexicon),
                                       100 * (i + 1), 100, total)
            found.append((query.timing, result.detections))
            lines += result.lines
            warnings += result.warnings
        yield Progress(total, total, "placing the signs found")
        return self._place(context, found, lexicon, subtitles, lines, warnings)

    def _place(self, context, found, lexicon, subtitles, lines, warnings) -> SpotSignsResult:
        scene, signs = context.scene, context.scene.motion_tokens.signs
        placed_all: list[PlacedSigns] = []
        try:
            for timing, detections in found:
                placed = place_detections(scene, detections, timing, lexicon.audio_of, signs.markers,
                                          signs.sound_strips)
                placed_all.append(placed)
                lines += placed.lines
                warnings += placed.warnings
            if subtitles is not None:
                write_detections(scene_time_detections(found, scene), subtitles)
                lines.append(f"subtitles -> {subtitles}")
        except Exception:
            for placed in placed_all:
                placed.discard(scene)
            raise
        markers = sum(len(p.markers) for p in placed_all)
        if signs.markers:
            lines.append(f"{markers} markers added")
        return SpotSignsResult(lines, warnings, found)


def scene_time_detections(found, scene) -> list[TimedDetection]:
    """Every query's detections in seconds from the scene's first frame, sorted by start."""
    fps = scene_fps(scene)
    timed = []
    for timing, detections in found:
        for d in detections:
            start = (detection_frame(d.start, timing) - scene.frame_start) / fps
            timed.append(TimedDetection(d.label, start, start + (d.end - d.start), d.confidence))
    return sorted(timed, key=lambda d: (d.start, d.label))


CLASSES = (MOTION_TOKENS_OT_spot_signs,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
