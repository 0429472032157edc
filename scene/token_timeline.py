"""The token timeline in Blender: the active armature's tokens as tracks, drawn in the Timeline
and Dope Sheet (a strip per part, a coloured cell per run of one code, the code written in it
where it fits), and as timeline markers ("body 17") on the frames where a part's code changes.

The layout (which cells, where, with what label) is core.inspect.timeline_layout, a pure
function of the tracks and the view; this module only asks Blender's View2D which frames the
region shows and hands the result to gpu and blf. Drawing needs a window: headless (tests,
`blender -b`) the handler is registered but never called.

Markers are Blender's own (`scene.timeline_markers`), so they show in every time editor and
the user can jump between them (Jump to Keyframe/Marker). Which markers Token Markers made is
kept on the scene (`scene["motion_tokens_markers"]`: part, name, frame of each), so removing
them removes those and no marker the user made, even one of the same name.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.inspect.timeline_layout import TimelineView, strip_quads, timeline_layout
from ..core.inspect.token_timeline import TokenTrack, code_changes, format_code, tracks_of
from . import compat
from .tokens_prop import TOKENS_KEY, read_tokens

#: The scene ID property listing the markers Token Markers made.
MARKERS_KEY = "motion_tokens_markers"

_cache: dict = {}  # (action pointer, fingerprint) -> tracks: drawing reads them on every redraw


def record_tracks(record) -> dict[str, TokenTrack]:
    """part -> TokenTrack of an ActionTokens (scene.tokens_prop), in its parts' order."""
    rates = {part: record.fps_of(part) for part in record.tokens}
    tracks = tracks_of(record.tokens, rates, record.frame_start, record.scene_fps, record.num_frames)
    return {t.part: t for t in tracks}


def active_action(context):
    """The action the active armature plays, or None."""
    obj = context.active_object
    if obj is None or obj.type != "ARMATURE":
        return None
    return compat.assigned_action(obj)


def active_tracks(context) -> dict[str, TokenTrack]:
    """The tracks of the active armature's action ({} when it keeps no tokens). Kept between
    calls while the action and its tokens' header are the same: the panel and the timeline
    redraw on every frame change, and reading the ID property array costs more than drawing."""
    action = active_action(context)
    if action is None or TOKENS_KEY not in action:
        return {}
    data = action[TOKENS_KEY]
    parts = data.get("parts", {})
    fingerprint = (action.as_pointer(), action.name, int(data.get("frame_start", 0)), float(data.get("token_fps", 0)),
                   float(data.get("scene_fps", 0)), tuple((p, parts[p].get("codec"), tuple(parts[p].get("shape", ())),
                                                           hash(bytes(np.asarray(parts[p]["tokens"], np.int32))))
                                                          for p in parts.keys()))
    if fingerprint not in _cache:
        _cache.clear()
        _cache[fingerprint] = record_tracks(read_tokens(action))
    return _cache[fingerprint]


# --- markers -------------------------------------------------------------------------------

def marker_name(part: str, code) -> str:
    """'body 17', 'body 3,5,1,0': a part's code as a marker names it."""
    return f"{part} {format_code(code)}"


def made_markers(scene) -> list[dict]:
    """[{part, name, frame}] of the markers Token Markers made on `scene`."""
    return [dict(entry) for entry in scene.get(MARKERS_KEY, [])]


def add_token_markers(scene, track: TokenTrack) -> int:
    """One marker per change of `track`'s code (code_changes: the first frame too), named
    `marker_name`, replacing the markers made earlier for that part; how many were made."""
    remove_token_markers(scene, track.part)
    frames, codes = code_changes(track)
    entries = made_markers(scene)
    for frame, code in zip(frames.tolist(), codes):  # one per change, not per frame
        name = marker_name(track.part, code)
        scene.timeline_markers.new(name, frame=int(frame))
        entries.append({"part": track.part, "name": name, "frame": int(frame)})
    scene[MARKERS_KEY] = entries
    return len(frames)


def remove_token_markers(scene, part: str | None = None) -> int:
    """Remove the markers Token Markers made (of `part`, or all), and only those; how many."""
    entries = made_markers(scene)
    gone = [e for e in entries if part is None or e["part"] == part]
    wanted: dict = {}
    for e in gone:
        wanted[(e["name"], e["frame"])] = wanted.get((e["name"], e["frame"]), 0) + 1
    removed = 0
    for marker in list(scene.timeline_markers):
        key = (marker.name, marker.frame)
        if wanted.get(key, 0) > 0:
            wanted[key] -= 1
            scene.timeline_markers.remove(marker)
            removed += 1
    kept = [e for e in entries if e not in gone]
    if kept:
        scene[MARKERS_KEY] = kept
    elif MARKERS_KEY in scene:
        del scene[MARKERS_KEY]
    return removed


# --- drawing -------------------------------------------------------------------------------

_handles: list = []


def _draw_callback() -> None:
    """Draw the active action's token strips in the region being drawn (a Dope Sheet/Timeline)."""
    context = bpy.context
    settings = getattr(context.scene, "motion_tokens", None)
    if settings is None or not settings.tokens.show_timeline or context.region is None:
        return
    tracks = active_tracks(context)
    if not tracks:
        return
    region = context.region
    left = region.view2d.region_to_view(0, 0)[0]
    right = region.view2d.region_to_view(region.width, 0)[0]
    scale = context.preferences.system.ui_scale
    strips = timeline_layout(list(tracks.values()), TimelineView(left, right, region.width, region.height),
                             strip_px=16 * scale, gap_px=2 * scale, bottom_px=22 * scale, char_px=7 * scale)
    draw_strips(strips, scale)


def draw_strips(strips, scale: float = 1.0) -> None:
    """The strips' cells as one batch of flat-coloured quads, then their labels and titles."""
    import blf
    import gpu
    from gpu_extras.batch import batch_for_shader

    pos, colours, indices = strip_quads(strips)
    if not len(pos):
        return
    shader = gpu.shader.from_builtin("FLAT_COLOR")
    batch = batch_for_shader(shader, "TRIS", {"pos": pos, "color": colours}, indices=indices)
    gpu.state.blend_set("ALPHA")
    batch.draw(shader)
    gpu.state.blend_set("NONE")
    font = 0
    blf.size(font, 11 * scale)
    blf.color(font, 0.08, 0.08, 0.08, 1.0)
    for strip in strips:
        for x, y, text in strip.labels:
            width = blf.dimensions(font, text)[0]
            blf.position(font, x - width / 2, y, 0)
            blf.draw(font, text)
    blf.color(font, 1.0, 1.0, 1.0, 0.9)
    for strip in strips:  # the part's name at the left edge, over its cells
        blf.position(font, 4 * scale, strip.y0 + 4 * scale, 0)
        blf.draw(font, strip.title)


def add_draw_handler() -> None:
    """Draw the token strips in every Dope Sheet (the Timeline is one of its modes)."""
    if not _handles:
        _handles.append(bpy.types.SpaceDopeSheetEditor.draw_handler_add(_draw_callback, (), "WINDOW", "POST_PIXEL"))


def remove_draw_handler() -> None:
    while _handles:
        bpy.types.SpaceDopeSheetEditor.draw_handler_remove(_handles.pop(), "WINDOW")
    _cache.clear()
