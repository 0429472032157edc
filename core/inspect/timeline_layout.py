"""Where the token timeline's cells go in a Timeline / Dope Sheet region: one strip per part,
one coloured cell per run of equal tokens, its code written in it where it fits.

Pure arithmetic on the view (scene/token_timeline.py hands in what Blender's View2D shows and
draws the result with gpu and blf), so the layout is tested without a window.

The view maps scene frames to pixels linearly: frame `frame_left` at x = 0 and `frame_right`
at x = width. A cell spans its rows' time, from the first row's start frame to the next
run's (core.inspect.token_timeline: row i starts at frame_start + i x scene_fps / rows a
second), so a frame's key lies inside the cell of the token it plays, at its left edge when a
row starts on it. Consecutive rows with one code make one cell (a held pose reads as one
block, and zoomed out the draw stays a few thousand quads). A cell's code is written in it
when its width holds the text (`char_px` a character, `pad_px` either side): zoomed in, every
token is labelled; zoomed out, only long runs.

Strips stack upwards from `bottom_px` above the region's bottom edge (clear of the scrollbar),
`strip_px` high with `gap_px` between, in the tracks' order (body, hands, face).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from .token_timeline import TokenTrack, format_code

_GOLDEN = 0.6180339887498949  # hue step between consecutive codes: neighbours never look alike


@dataclass(frozen=True)
class TimelineView:
    """What the region shows: the scene frames at its left and right edges, its size in pixels."""

    frame_left: float
    frame_right: float
    width_px: int
    height_px: int

    @property
    def px_per_frame(self) -> float:
        return self.width_px / max(self.frame_right - self.frame_left, 1e-9)

    def x_of(self, frames) -> np.ndarray:
        return (np.asarray(frames, dtype=np.float64) - self.frame_left) * self.px_per_frame


@dataclass(frozen=True)
class Strip:
    """One part's row of cells. x0, x1: (n,) pixel extents, clipped to the region; codes:
    (n, levels or 1) the cells' codes; rows: (n, 2) the first and last row of each cell;
    colours: (n, 4) RGBA in [0, 1]; labels: (x centre, y baseline, text) of the cells whose
    code fits; y0, y1 the strip's pixel rows; title: the part's name, drawn at its left."""

    part: str
    y0: float
    y1: float
    x0: np.ndarray
    x1: np.ndarray
    codes: np.ndarray
    rows: np.ndarray
    colours: np.ndarray
    labels: list[tuple[float, float, str]]

    @property
    def title(self) -> str:
        return self.part


def code_colours(codes: np.ndarray) -> np.ndarray:
    """(n, 4) RGBA of codes (n, levels or 1): the hue from the first level's code (golden-ratio
    steps, so codes 17 and 18 differ), the brightness from the second level's where there is
    one (RQ-VAE codes sharing a coarse code look alike but not the same)."""
    codes = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
    hue = np.mod(codes[:, 0] * _GOLDEN, 1.0)
    value = 0.62 + 0.3 * (np.mod(codes[:, 1] * _GOLDEN, 1.0) if codes.shape[1] > 1 else 0.5)
    value = np.broadcast_to(value, hue.shape)
    rgb = np.array([colorsys.hsv_to_rgb(h, 0.55, v) for h, v in zip(hue, value)]).reshape(-1, 3)
    return np.concatenate([rgb, np.full((len(rgb), 1), 0.85)], axis=1).astype(np.float32)


def strip_layout(track: TokenTrack, view: TimelineView, y0: float, strip_px: float,
                 char_px: float = 7.0, pad_px: float = 3.0) -> Strip:
    """The cells of one part in `view` (module docstring)."""
    y1 = y0 + strip_px
    empty = np.zeros(0)
    end_frame = track.last_frame() + 1  # the last key's frame holds until the next frame
    lo_frame, hi_frame = max(view.frame_left, track.frame_start), min(view.frame_right, end_frame)
    if track.num_rows == 0 or hi_frame <= lo_frame:
        return Strip(track.part, y0, y1, empty, empty, np.zeros((0, max(track.levels, 1)), np.int64),
                     np.zeros((0, 2), np.int64), np.zeros((0, 4), np.float32), [])
    per = track.rows_per_second / track.scene_fps  # rows a scene frame
    first = max(int(np.floor((lo_frame - track.frame_start) * per)), 0)
    last = min(int(np.ceil((hi_frame - track.frame_start) * per)), track.num_rows) - 1
    codes = track.codes()[first : last + 1]
    starts = np.ones(len(codes), dtype=bool)
    starts[1:] = np.any(codes[1:] != codes[:-1], axis=1)
    run_first = np.flatnonzero(starts) + first
    run_last = np.append(run_first[1:] - 1, last)
    frame0 = track.row_start_frames(run_first)
    frame1 = np.minimum(track.row_start_frames(run_last + 1), end_frame)
    x0 = np.clip(view.x_of(frame0), 0, view.width_px)
    x1 = np.clip(view.x_of(frame1), 0, view.width_px)
    cell_codes = track.codes()[run_first]
    labels = []
    baseline = y0 + (strip_px - char_px * 1.2) / 2 + 1
    # Only cells wide enough for one character are looked at: at most width / char_px of them.
    for i in np.flatnonzero(x1 - x0 >= char_px + 2 * pad_px):
        text = format_code(cell_codes[i])
        if x1[i] - x0[i] >= len(text) * char_px + 2 * pad_px:
            labels.append((float((x0[i] + x1[i]) / 2), float(baseline), text))
    return Strip(track.part, y0, y1, x0, x1, cell_codes, np.stack([run_first, run_last], axis=1),
                 code_colours(cell_codes), labels)


def timeline_layout(tracks: list[TokenTrack], view: TimelineView, strip_px: float = 16.0, gap_px: float = 2.0,
                    bottom_px: float = 18.0, char_px: float = 7.0, pad_px: float = 3.0) -> list[Strip]:
    """Every part's Strip in `view`, stacked upwards from `bottom_px` (module docstring); the
    strips that would rise above the region are left out."""
    strips = []
    for k, track in enumerate(tracks):
        y0 = bottom_px + k * (strip_px + gap_px)
        if y0 + strip_px > view.height_px:
            break
        strips.append(strip_layout(track, view, y0, strip_px, char_px, pad_px))
    return strips


def strip_quads(strips: list[Strip], gap_px: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The strips' cells as one triangle batch: (positions (4n, 3) float32 pixels, z 0;
    colours (4n, 4) float32 per vertex; indices (2n, 3) int32, two triangles a cell). Each
    cell is `gap_px` narrower on its right, so neighbours stay apart, and at least a pixel
    wide, so zoomed out no cell vanishes."""
    n = sum(len(s.x0) for s in strips)
    if n == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 4), np.float32), np.zeros((0, 3), np.int32)
    x0 = np.concatenate([s.x0 for s in strips])
    x1 = np.maximum(np.concatenate([s.x1 for s in strips]) - gap_px, x0 + 1)
    y0 = np.concatenate([np.full(len(s.x0), s.y0) for s in strips])
    y1 = np.concatenate([np.full(len(s.x0), s.y1) for s in strips])
    corners = np.stack([np.stack(c, axis=1) for c in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))], axis=1)  # (n, 4, 2)
    pos = np.concatenate([corners, np.zeros((n, 4, 1))], axis=2).reshape(-1, 3).astype(np.float32)
    colours = np.repeat(np.concatenate([s.colours for s in strips]), 4, axis=0).astype(np.float32)
    base = 4 * np.arange(n)[:, None]
    indices = np.concatenate([base + [0, 1, 2], base + [0, 2, 3]]).astype(np.int32)
    return pos, colours, indices
