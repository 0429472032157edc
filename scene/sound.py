"""The speech a sound strip plays: its timing on the timeline and its samples, decoded with
Blender's own audio library (`aud`), so the extension needs no soundfile or librosa wheels.

Timing (all at the scene's rate, `scene.render.fps / fps_base`):
- the strip shows frames `frame_final_start` .. `frame_final_end` (exclusive), so it covers
  `frame_final_duration` frames;
- the file's content at `frame_final_start` lies `(frame_final_start - frame_start) / fps`
  seconds into the strip's own content (what `frame_offset_start` and dragging the left
  handle trim off), less the sound's own `sound_offset` (seconds): a positive offset starts
  the sound that much later within the strip, a negative one skips into the file. Measured on
  Blender's own mixdown (bpy 4.5: trim 10 frames at 25 fps with offset +0.3 s plays the file
  from 0.1 s; offset +0.3 s untrimmed plays 0.3 s of silence first; tests/blender/test_gestures.py).
So the samples used are those from `skip = trimmed / fps - sound_offset` seconds on, for
`duration / fps` seconds; what lies outside the file (before its start, after its end) is
silence, said in a warning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..core.audio import Speech, read_speech
from ..core.errors import MissingFileError, MotionTokensError
from . import compat
from .actions import scene_fps


@dataclass(frozen=True)
class StripTiming:
    """Where a sound strip's speech lies. name: the strip's; filepath: the sound file
    (absolute); frame_start: the first frame it shows; num_frames: how many it shows (at
    `fps`, the scene's rate); skip_seconds: where in the file the shown part begins."""

    name: str
    filepath: str
    frame_start: int
    num_frames: int
    fps: float
    skip_seconds: float

    @property
    def seconds(self) -> float:
        """How long the strip plays, in seconds."""
        return self.num_frames / self.fps


@dataclass
class StripSpeech:
    """What a strip plays: its timing, the speech (core.audio.Speech, 16 kHz mono, named
    after the strip) and what the user should know (silence padded at the end)."""

    timing: StripTiming
    speech: Speech
    warnings: list[str] = field(default_factory=list)


def strip_timing(strip, scene) -> StripTiming:
    """The StripTiming of the sound strip `strip` in `scene` (module docstring);
    MotionTokensError for a strip that is not a sound strip or has no sound."""
    import bpy

    if strip.type != "SOUND" or strip.sound is None:
        raise MotionTokensError(f"strip {strip.name!r} is not a sound strip with a sound: select sound strips")
    sound = strip.sound
    path = os.path.normpath(bpy.path.abspath(sound.filepath, library=sound.library))
    fps = scene_fps(scene)
    trimmed = float(strip.frame_final_start - strip.frame_start)
    return StripTiming(strip.name, path, int(strip.frame_final_start), int(strip.frame_final_duration), fps,
                       trimmed / fps - float(strip.sound_offset))


def selected_sound_strips(scene) -> list:
    """The selected sound strips of `scene` (inside meta strips too), by channel, start, name."""
    strips = [s for s in compat.sequence_strips(scene, include_meta_contents=True)
              if s.type == "SOUND" and compat.strip_selected(s)]
    return sorted(strips, key=lambda s: (s.channel, s.frame_final_start, s.name))


def strip_speech(timing: StripTiming) -> StripSpeech:
    """The speech the strip plays (module docstring), decoded by Blender's aud (what the strip
    plays) at 16 kHz: round(seconds x 16000) samples, checked as core.audio checks any speech
    (too short, silent: AudioContentError naming the file and the strip). MissingFileError
    for a sound file that is gone; CorruptFileError for one aud cannot decode."""
    if not os.path.exists(timing.filepath):
        raise MissingFileError(timing.filepath, f"the sound of strip {timing.name!r} is missing: relink it")
    whole = read_speech(timing.filepath, backend="aud")
    rate = whole.sample_rate
    start = int(round(timing.skip_seconds * rate))
    count = int(round(timing.seconds * rate))
    out = np.zeros(count, dtype=np.float32)
    lo, hi = max(start, 0), min(start + count, len(whole.samples))
    if hi > lo:
        out[lo - start : hi - start] = whole.samples[lo:hi]
    warnings = []
    silent = count - max(hi - lo, 0)
    if silent > 0:
        warnings.append(f"strip {timing.name!r} plays {silent / rate:.2f} s outside its sound file "
                        f"{os.path.basename(timing.filepath)} (before its start or after its end): taken as silence")
    speech = Speech.from_samples(out, rate, timing.name, f"{timing.filepath} (strip {timing.name!r})")
    return StripSpeech(timing, speech, warnings)
