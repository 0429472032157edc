"""The sound and movie strips selected in a scene's sequencer."""

from __future__ import annotations

import os
from dataclasses import dataclass

import bpy

from . import compat


@dataclass(frozen=True)
class MediaStrip:
    """A selected sequencer strip that holds a media file.

    kind: 'SOUND' or 'MOVIE'.
    filepath: the file's absolute path (relative paths resolved against the .blend file).
    frame_start: the first frame the strip shows on the timeline (after trimming its start).
    duration: how many frames it shows.
    source_offset: frames of the file's content trimmed off before `frame_start` (at the scene
        frame rate), so the part used starts `source_offset / fps` seconds into the file.
    channel: the sequencer channel.
    """

    name: str
    kind: str
    filepath: str
    frame_start: int
    duration: int
    channel: int
    source_offset: int = 0


def _media_path(strip) -> str | None:
    """The absolute path of the file a sound or movie strip plays, None for other strips."""
    if strip.type == "SOUND":
        sound = strip.sound
        if sound is None:
            return None
        path, library = sound.filepath, sound.library
    elif strip.type == "MOVIE":
        path, library = strip.filepath, None
    else:
        return None
    return os.path.normpath(bpy.path.abspath(path, library=library))


def selected_media_strips(scene) -> list[MediaStrip]:
    """The selected sound and movie strips of `scene` (inside meta strips too), ordered by
    channel, then start frame, then name; [] when none is selected or the scene has no
    sequencer."""
    found = []
    for strip in compat.sequence_strips(scene, include_meta_contents=True):
        if not compat.strip_selected(strip):
            continue
        path = _media_path(strip)
        if path is None:
            continue
        found.append(
            MediaStrip(
                name=strip.name,
                kind=strip.type,
                filepath=path,
                frame_start=int(strip.frame_final_start),
                duration=int(strip.frame_final_duration),
                channel=int(strip.channel),
                source_offset=int(strip.frame_final_start - strip.frame_start),
            )
        )
    return sorted(found, key=lambda s: (s.channel, s.frame_start, s.name))
