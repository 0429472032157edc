"""The Signs section's settings (`scene.motion_tokens.signs`): the lexicon Spot Signs matches
against, the matching's parameters (pipelines.spot.SpotOptions, the same defaults as the `spot`
command) and what it adds to the scene. Registered before panels.properties, which points to it."""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, FloatProperty, IntProperty, StringProperty


class MotionTokensSignSettings(bpy.types.PropertyGroup):
    lexicon: StringProperty(
        name="Lexicon", subtype="FILE_PATH",
        description="A folder of labelled sign clips (.pose, video, .npz, .bvh; file names or an index.csv give "
        "the labels, LABEL.wav the recorded words) or a lexicon file built by `spot-lexicon`",
    )
    language: StringProperty(name="Language", description="Only the lexicon's clips of this signed language "
                             "(its index.csv); empty: all")
    threshold: FloatProperty(name="Threshold", default=0.5, min=0.0, max=1.0,
                             description="The lowest confidence a detection keeps")
    overlap: FloatProperty(name="Overlap", default=0.5, min=0.0, max=1.0,
                           description="Temporal IoU above which a weaker window is suppressed (NMS)")
    window: IntProperty(name="Window", default=0, min=0, max=100000,
                        description="Window length in frames at 30 fps (0: the lexicon's median clip length)")
    hop: IntProperty(name="Hop", default=0, min=0, max=100000,
                     description="Frames between windows at 30 fps (0: a quarter of the window)")
    markers: BoolProperty(name="Markers", default=True, description="A timeline marker named after each sign found")
    sound_strips: BoolProperty(
        name="Recorded Words", default=True,
        description="A sound strip per sign found, playing the lexicon's recording of its word (LABEL.wav): "
        "recorded words, not synthesised speech")
    subtitles: StringProperty(
        name="Subtitles", subtype="FILE_PATH",
        description="Also write the signs found as subtitles (.srt), timed from the scene's first frame; "
        "empty: none")


CLASSES = (MotionTokensSignSettings,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
