"""The MOTION block of a BVH file: the frame header and the table of channel values.

The table is parsed in one pass of numpy's C text reader over the frame lines. Where the file
holds other lines than the declared frames, one vectorised pass first finds the lines holding
numbers (blank lines are skipped, lines after the declared frames ignored with a note). Only
a file that fails that fast path is parsed again token by token (`_checked_frames`), to say exactly which line and value is wrong.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, LayoutError
from .bvh_hierarchy import is_number

_IS_SPACE = np.zeros(256, dtype=bool)  # byte value -> is it whitespace
_IS_SPACE[list(b" \t\n\r\x0b\x0c")] = True
_FRAMES = re.compile(rb"[ \t]*Frames:[ \t]*(\S*)[^\n]*(?:\n|\Z)", re.IGNORECASE)
_FRAME_TIME = re.compile(rb"[ \t]*Frame[ \t]+Time:[ \t]*(\S*)[^\n]*(?:\n|\Z)", re.IGNORECASE)
_BLANK_LINES = re.compile(rb"(?:[ \t\r]*\n)*")


def parse_frame_header(path: Path, raw: bytes, pos: int, motion_line: int) -> tuple[float, int, int, int]:
    """(frame time, frame count, byte offset of the first frame line, its line number)."""
    line = motion_line + 1
    for name, pattern in (("Frames:", _FRAMES), ("Frame Time:", _FRAME_TIME)):
        blanks = _BLANK_LINES.match(raw, pos)
        line += raw.count(b"\n", pos, blanks.end())
        pos = blanks.end()
        m = pattern.match(raw, pos)
        if m is None:
            eol = raw.find(b"\n", pos)
            got = raw[pos : len(raw) if eol < 0 else eol].decode("utf-8", "replace").strip()
            if not got:
                raise CorruptFileError(path, f"truncated: the file ends at line {line}, before the '{name}' line")
            raise CorruptFileError(path, f"expected a '{name}' line at line {line} after MOTION, got {got[:40]!r}")
        value = m.group(1).decode("utf-8", "replace")
        if name == "Frames:":
            if not value.isdigit():
                raise CorruptFileError(path, f"bad frame count {value!r} at line {line}")
            frames = int(value)
            if frames == 0:
                raise LayoutError(path, f"the file declares zero frames (line {line}); there is no motion to read")
        else:
            if not is_number(value) or not (float(value) > 0 and np.isfinite(float(value))):
                raise CorruptFileError(
                    path, f"bad Frame Time {value!r} at line {line}; it must be a positive number of seconds"
                )
            frame_time = float(value)
        line += 1
        pos = m.end()
    return frame_time, frames, pos, line


def _checked_frames(
    path: Path, block: bytes, first_line: int, num_channels: int, frames: int, notes: list[str]
) -> np.ndarray:
    """(frames, num_channels) float64 from the frame lines; one numpy parse, vectorised checks.
    Lines after the declared frames are ignored, with a note in `notes`."""
    b = np.frombuffer(block, dtype=np.uint8)
    ws = _IS_SPACE[b]
    starts = ~ws & np.concatenate([[True], ws[:-1]])  # first character of each number
    newline_at = np.flatnonzero(b == 10)
    line_of = np.searchsorted(newline_at, np.flatnonzero(starts))  # line index (from 0) of each number
    per_line = np.bincount(line_of, minlength=len(newline_at) + 1)
    frame_lines = np.flatnonzero(per_line)  # line indices that hold numbers
    present = min(len(frame_lines), frames)
    wrong = np.flatnonzero(per_line[frame_lines[:present]] != num_channels)
    if wrong.size:
        k = int(wrong[0])
        n = int(per_line[frame_lines[k]])
        where = f"line {first_line + int(frame_lines[k])}"
        if k == len(frame_lines) - 1 and n < num_channels:
            raise CorruptFileError(
                path, f"truncated: frame {k + 1} of {frames} ({where}) has {n} of {num_channels} values"
            )
        raise CorruptFileError(
            path, f"{where} (frame {k + 1}) has {n} values; the CHANNELS declare {num_channels} per frame"
        )
    if len(frame_lines) < frames:
        last = f", the last at line {first_line + int(frame_lines[-1])}" if len(frame_lines) else ""
        raise CorruptFileError(
            path, f"truncated: 'Frames:' declares {frames} frames but {len(frame_lines)} are present{last}"
        )
    if len(frame_lines) > frames:
        notes.append(f"{len(frame_lines) - frames} lines after the {frames} declared frames were ignored")
    last_line = int(frame_lines[frames - 1])
    end = int(newline_at[last_line]) if last_line < len(newline_at) else len(block)
    tokens = block[:end].split()
    try:
        values = np.array(tokens, dtype=np.float64)
    except ValueError:
        k = next(k for k, t in enumerate(tokens) if not is_number(t))
        frame = k // num_channels
        raise CorruptFileError(
            path,
            f"bad number {tokens[k][:40].decode('utf-8', 'replace')!r} at line "
            f"{first_line + int(frame_lines[frame])} (frame {frame + 1}, value {k % num_channels + 1})",
        ) from None
    values = values.reshape(frames, num_channels)
    bad = ~np.isfinite(values)
    if bad.any():
        frame = int(np.flatnonzero(bad.any(axis=1))[0])
        raise CorruptFileError(
            path, f"{int(bad.sum())} NaN or infinite values, the first at line {first_line + int(frame_lines[frame])}"
        )
    return values




def _loadtxt(raw: bytes, start: int, frames: int) -> np.ndarray | None:
    """The first `frames` lines holding data from byte `start`, by numpy's C text reader;
    None where it refuses them (a bad number or a line of another length)."""
    stream = io.BytesIO(raw)  # shares the bytes (no copy)
    stream.seek(start)
    try:
        with warnings.catch_warnings():
            # max_rows counts lines holding data (numpy >= 1.23); numpy warns at a blank line
            # that older versions counted it.
            warnings.simplefilter("ignore", UserWarning)
            return np.loadtxt(stream, dtype=np.float64, comments=None, ndmin=2, max_rows=frames)
    except ValueError:
        return None


def _good(values: np.ndarray | None, frames: int, num_channels: int) -> bool:
    return values is not None and values.shape == (frames, num_channels) and bool(np.isfinite(values).all())


def parse_frames(
    path: Path, raw: bytes, start: int, first_line: int, num_channels: int, frames: int, notes: list[str]
) -> np.ndarray:
    """(frames, num_channels) float64: the frame lines of `raw` from byte `start` (line number
    `first_line`), parsed in one pass. Lines after the declared frames are ignored, with a
    note in `notes`. Raises CorruptFileError naming the line of a wrong, missing or
    non-finite value (found by `_checked_frames`, which only runs for a file that fails)."""
    # The usual file: exactly `frames` lines after the header. Then each must be a frame (a
    # blank one leaves the reader short of rows), so no scan of the lines is needed.
    last_newline = raw.rfind(b"\n", start)
    lines = raw.count(b"\n", start) + bool(raw[max(last_newline, start - 1) + 1 :].strip())
    if lines == frames:
        values = _loadtxt(raw, start, frames)
        if _good(values, frames, num_channels):
            return values
    block = memoryview(raw)[start:]
    b = np.frombuffer(block, dtype=np.uint8)
    line_starts = np.concatenate([[0], np.flatnonzero(b == 10) + 1])
    line_starts = line_starts[line_starts < len(b)]
    # Lines holding anything but spaces and control characters. A line this counts wrongly
    # (one of control characters only) makes the parse below fail and go to _checked_frames.
    filled = np.logical_or.reduceat(b > 32, line_starts) if len(b) else np.zeros(0, bool)
    frame_lines = np.flatnonzero(filled)
    values = _loadtxt(raw, start, frames) if len(frame_lines) >= frames else None
    if not _good(values, frames, num_channels):
        return _checked_frames(path, bytes(block), first_line, num_channels, frames, notes)
    if len(frame_lines) > frames:
        notes.append(f"{len(frame_lines) - frames} lines after the {frames} declared frames were ignored")
    return values
