"""Long inputs in overlapping windows, generated in two batched passes with bounded memory.

A sequence of N token frames longer than one window of W frames is covered by windows of W
frames starting every W - O frames (O the overlap), the last padded past N (the padded audio
repeats the last frame; the padded tokens are dropped). Even windows ("anchors") share no frame
with each other, so they are generated first, all in batches; odd windows ("fills") are then
generated in batches with their first and last O frames fixed to the anchors' tokens on either
side, so each fill is conditioned on its neighbours' tokens and blends from one anchor into the
next. Only `batch` windows are held at once, so memory does not grow with the input's length.
An input of at most W frames is one window of its own length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowPlan:
    """frames: the input's token frames; padded: frames covered (>= frames); length: frames
    per window; starts: every window's first frame, in order (anchors at even indices)."""

    frames: int
    padded: int
    length: int
    starts: tuple[int, ...]

    @property
    def passes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(anchor window indices, fill window indices)."""
        n = len(self.starts)
        return tuple(range(0, n, 2)), tuple(range(1, n, 2))


def plan_windows(frames: int, window: int, overlap: int) -> WindowPlan:
    """The windows covering `frames` token frames (module docstring). frames >= 1."""
    if frames <= window:
        return WindowPlan(frames, frames, frames, (0,))
    stride = window - overlap
    n = math.ceil((frames - overlap) / stride)
    return WindowPlan(frames, n * stride + overlap, window, tuple(i * stride for i in range(n)))


def batches(indices: tuple[int, ...], size: int) -> list[tuple[int, ...]]:
    """`indices` in consecutive groups of at most `size`."""
    return [indices[i : i + size] for i in range(0, len(indices), size)]
