"""Where Spot Signs puts its detections in the scene (issue #17): a timeline marker named after
each detected sign at its first frame, and, where the lexicon has the sign's recorded word, a
sound strip playing that word from the same frame (recorded words, not synthesised speech).

Times: a detection's start is seconds from the query's first frame (pipelines.spot). A movie
strip's query is its whole file, so second t of the file is scene frame
`frame_start + (t - skip_seconds) * fps` (StripTiming: the strip shows the file from
`skip_seconds` on); detections starting outside the part the strip shows are left out, and said.
A chosen file or an action starts at `frame_start` with nothing skipped.

The sound strips go on one channel above every strip of the scene's sequencer, so they never
cover the edit; their names are the labels. A marker already at that frame with that name is
kept rather than doubled, so running the operator again over the same strip adds nothing twice.
Everything is added in one step after all the reading and matching, and removed again
(`discard`) when that step fails half way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import compat
from .sound import StripTiming

#: Blender's highest sequencer channel.
MAX_CHANNEL = 128


def detection_frame(seconds: float, timing: StripTiming) -> int:
    """The scene frame at `seconds` of the query `timing` places (module docstring)."""
    return int(round(timing.frame_start + (seconds - timing.skip_seconds) * timing.fps))


def shown(seconds: float, timing: StripTiming) -> bool:
    """Whether `seconds` of the query lies in the part the strip shows (always for a timing of
    0 frames: a chosen file or an action, shown whole)."""
    if timing.num_frames == 0:
        return True
    return timing.skip_seconds - 1e-6 <= seconds < timing.skip_seconds + timing.seconds


def free_channel(scene) -> int:
    """The channel above every strip of the scene's sequencer (1 for an empty one)."""
    strips = compat.sequence_strips(scene, include_meta_contents=False)
    return min(max((s.channel for s in strips), default=0) + 1, MAX_CHANNEL)


@dataclass
class PlacedSigns:
    """What `place_detections` added: markers, sound strips, and the lines it reports."""

    markers: list = field(default_factory=list)
    strips: list = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def discard(self, scene) -> None:
        """Remove everything added (a failure part way)."""
        for marker in self.markers:
            scene.timeline_markers.remove(marker)
        collection = compat.sequence_strip_collection(scene) if self.strips else None
        for strip in self.strips:
            collection.remove(strip)
        self.markers, self.strips = [], []


def place_detections(scene, detections, timing: StripTiming, audio_of=None, markers: bool = True,
                     sounds: bool = True) -> PlacedSigns:
    """Markers (and, with `audio_of(label)` naming recorded words, sound strips) for the
    detections (objects with label, start in seconds) of the query `timing` places."""
    placed = PlacedSigns()
    inside = [d for d in detections if shown(d.start, timing)]
    if len(inside) < len(detections):
        placed.warnings.append(f"{len(detections) - len(inside)} of the signs found in {timing.name} lie in the part "
                               "of its file the strip does not show: no marker for them")
    try:
        if markers:
            existing = {(m.name, m.frame) for m in scene.timeline_markers}
            for d in inside:
                frame = detection_frame(d.start, timing)
                if (d.label, frame) not in existing:
                    placed.markers.append(scene.timeline_markers.new(d.label, frame=frame))
                    existing.add((d.label, frame))
        if sounds and audio_of is not None:
            _add_word_strips(scene, inside, timing, audio_of, placed)
    except Exception:
        placed.discard(scene)
        raise
    return placed


def _add_word_strips(scene, detections, timing: StripTiming, audio_of, placed: PlacedSigns) -> None:
    words = {d.label: audio_of(d.label) for d in detections}
    silent = sorted({label for label, path in words.items() if not path})
    missing = sorted({path for path in words.values() if path and not os.path.isfile(path)})
    if silent:
        placed.warnings.append(f"no recorded word for {', '.join(silent)} in the lexicon (LABEL.wav beside its "
                               "clips): no sound strip for those")
    for path in missing:
        placed.warnings.append(f"{path}: the recorded word is gone: no sound strip for it")
    playable = [d for d in detections if words[d.label] and os.path.isfile(words[d.label])]
    if not playable:
        return
    channel = free_channel(scene)
    collection = compat.sequence_strip_collection(scene)
    for d in playable:
        strip = collection.new_sound(d.label, words[d.label], channel, detection_frame(d.start, timing))
        placed.strips.append(strip)
    placed.lines.append(f"{len(playable)} recorded words placed on channel {channel} (the lexicon's recordings, "
                        "not synthesised speech)")
