"""The token timeline: which token of each part plays at each scene frame of an action, where
the token changes, and which frames use a code (Solo Code).

A part's tokens are rows at its own rate: `rows_per_second` (30 for a per-frame codec, 7.5 for
rqvae4, one row per 4 frames of the 30 fps motion). The action plays them from scene frame
`frame_start` at `scene_fps`, so row i holds from scene frame
    frame_start + i x scene_fps / rows_per_second
until the next row starts: the row at scene frame f is
    floor((f - frame_start) x rows_per_second / scene_fps)
(as scene.tokens_prop.ActionTokens.token_range counts, so a Pin Range and the timeline agree).
At 24 fps with 30 tokens a second, two frames in ten hold a row that another row follows
before the next frame: such a row shows in the timeline's cells but at no whole frame.

Codes: a k-means part's code is one integer; an RQ-VAE part's is Q integers, one per level,
written "3,5,1,0" (`format_code`, `parse_code`). Solo Code matches a prefix of the levels
("3" is every row whose level-0 code is 3), so a residual code can be followed by its coarse
level alone; Edit by Tokens needs all Q levels.

Frames are whole scene frames throughout; nothing here knows Blender (scene/token_timeline.py
reads an action's tokens into `TokenTrack`s and draws them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import OptionError

#: The codecs' frame rate: the motion the rows code is at 30 fps.
MOTION_FPS = 30.0
_EPS = 1e-9  # floor() of a product that should be whole must not fall to the integer below


@dataclass(frozen=True)
class TokenTrack:
    """One part's tokens as an action plays them. tokens: (N,) or (N, Q) int; num_frames: the
    30 fps motion frames they code (0: every frame the rows cover, N x 30 / rows_per_second)."""

    part: str
    tokens: np.ndarray
    rows_per_second: float
    frame_start: int
    scene_fps: float
    num_frames: int = 0

    @property
    def levels(self) -> int:
        """Codes per row: 0 for a k-means part's (one integer, no levels), Q for an RQ-VAE's."""
        return int(self.tokens.shape[1]) if self.tokens.ndim == 2 else 0

    @property
    def num_rows(self) -> int:
        return len(self.tokens)

    def last_frame(self) -> int:
        """The last scene frame the action plays these tokens on (the action's last key)."""
        T = self.num_frames or int(round(self.num_rows * MOTION_FPS / self.rows_per_second))
        return self.frame_start + int(np.floor((T - 1) * self.scene_fps / MOTION_FPS + 1e-6))

    def rows_at(self, frames) -> np.ndarray:
        """(n,) int64: the row each scene frame plays, -1 outside the action."""
        f = np.asarray(frames, dtype=np.float64)
        rows = np.floor((f - self.frame_start) * self.rows_per_second / self.scene_fps + _EPS).astype(np.int64)
        inside = (f >= self.frame_start) & (f <= self.last_frame()) & (rows < self.num_rows)
        return np.where(inside, rows, -1)

    def row_start_frames(self, rows) -> np.ndarray:
        """The scene frames (not whole in general) where rows start."""
        return self.frame_start + np.asarray(rows, dtype=np.float64) * self.scene_fps / self.rows_per_second

    def codes(self) -> np.ndarray:
        """(N, max(levels, 1)) int64: every row's code as a row of levels."""
        return self.tokens.reshape(self.num_rows, -1).astype(np.int64)

    def codes_at(self, frames) -> tuple[np.ndarray, np.ndarray]:
        """(codes (n, max(levels, 1)) int64, inside (n,) bool) at scene frames; -1 outside."""
        rows = self.rows_at(frames)
        codes = self.codes()[np.clip(rows, 0, max(self.num_rows - 1, 0))] if self.num_rows else \
            np.zeros((len(rows), max(self.levels, 1)), np.int64)
        codes[rows < 0] = -1
        return codes, rows >= 0

    def code_at(self, frame: int) -> tuple[int, ...] | None:
        """The code the scene frame plays (a tuple of its levels), None outside the action."""
        codes, inside = self.codes_at([frame])
        return tuple(int(c) for c in codes[0]) if inside[0] else None

    def frames(self) -> np.ndarray:
        """Every scene frame the action plays the tokens on."""
        return np.arange(self.frame_start, self.last_frame() + 1)


@dataclass(frozen=True)
class CopiedTokens:
    """A run of one part's token rows copied from an action (Copy Tokens) to paste over
    another range (Edit by Tokens): the codec and codebook (weights sha256) that made them,
    the scene frames first..last they were copied from, the rows ((L,) or (L, Q))."""

    part: str
    codec: str
    sha256: str
    rows: np.ndarray
    first: int
    last: int
    action: str = ""


def tracks_of(tokens: dict, rates: dict, frame_start: int, scene_fps: float, num_frames: int = 0) -> list[TokenTrack]:
    """TokenTracks of an action's tokens (part -> (N,) or (N, Q)) at rates (part -> rows a
    second), played from `frame_start` at `scene_fps`; in the order of `tokens`."""
    return [TokenTrack(part, np.asarray(t), float(rates[part]), int(frame_start), float(scene_fps), int(num_frames))
            for part, t in tokens.items()]


def format_code(code) -> str:
    """'17' for a k-means code, '3,5,1,0' for an RQ-VAE code (one number a level)."""
    values = np.atleast_1d(np.asarray(code)).ravel()
    return ",".join(str(int(v)) for v in values)


def parse_code(text: str, levels: int, size: int, prefix: bool = False, what: str = "code") -> tuple[int, ...]:
    """The code written in `text` ('17', '3,5,1,0' or '3 5 1 0') as a tuple of its levels.
    levels: 0 for a k-means part (one number), Q for an RQ-VAE part (Q numbers; with `prefix`
    from 1 to Q, matching the first levels); size: codes per codebook (k or D). OptionError
    naming the problem: not whole numbers, the wrong count, a code >= size."""
    parts = [p for p in str(text).replace(",", " ").split() if p]
    if not parts:
        raise OptionError(f"no {what} given: type a code, e.g. 17" + (f" or {','.join(['3'] * levels)}" if levels else ""))
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise OptionError(f"the {what} {text!r} is not whole numbers separated by commas") from None
    most = max(levels, 1)
    least = 1 if prefix or not levels else levels
    if not least <= len(values) <= most:
        count = f"{least} to {most}" if least != most else f"{most}"
        unit = "number" if most == 1 else "numbers, one per level,"
        raise OptionError(f"the {what} {text!r} has {len(values)} numbers; this part's codes are {count} {unit}")
    bad = [v for v in values if not 0 <= v < size]
    if bad:
        raise OptionError(f"the {what} {text!r}: {bad[0]} is not one of the codebook's {size} codes (0 to {size - 1})")
    return values


def code_changes(track: TokenTrack, first: int | None = None, last: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(frames (m,), codes (m, levels or 1)): the scene frames in [first, last] (default the
    action's) where the code differs from the frame before (the first frame counts: a run of
    codes starts there), with the code that starts."""
    frames = _frames_within(track, first, last)
    codes, inside = track.codes_at(frames)
    frames, codes = frames[inside], codes[inside]
    starts = np.ones(len(frames), dtype=bool)
    starts[1:] = np.any(codes[1:] != codes[:-1], axis=1) | (frames[1:] != frames[:-1] + 1)
    return frames[starts], codes[starts]


def frames_using(track: TokenTrack, code, first: int | None = None, last: int | None = None) -> np.ndarray:
    """The scene frames in [first, last] (default the action's) whose code begins with `code`
    (an int, or a tuple of the first levels), ascending."""
    want = np.atleast_1d(np.asarray(code, dtype=np.int64))
    frames = _frames_within(track, first, last)
    codes, inside = track.codes_at(frames)
    if len(want) > codes.shape[1]:
        return frames[:0]
    return frames[inside & np.all(codes[:, : len(want)] == want, axis=1)]


def solo_target(frames: np.ndarray, current: int, forward: bool = True) -> tuple[int | None, bool]:
    """(the frame Next (forward) or Previous goes to from `current`, whether it wrapped):
    the first of `frames` after (before) `current`; past the last (first) one it wraps to the
    first (last), so repeated presses cycle through every frame that uses the code. (None,
    False) when no frame uses it."""
    frames = np.asarray(frames)
    if not len(frames):
        return None, False
    if forward:
        after = frames[frames > current]
        return (int(after[0]), False) if len(after) else (int(frames[0]), True)
    before = frames[frames < current]
    return (int(before[-1]), False) if len(before) else (int(frames[-1]), True)


def count_runs(frames: np.ndarray) -> int:
    """How many runs of consecutive frames `frames` (ascending) holds."""
    frames = np.asarray(frames)
    return int(len(frames) and 1 + np.count_nonzero(np.diff(frames) != 1))


def _frames_within(track: TokenTrack, first, last) -> np.ndarray:
    lo = track.frame_start if first is None else max(int(first), track.frame_start)
    hi = track.last_frame() if last is None else min(int(last), track.last_frame())
    return np.arange(lo, hi + 1)
