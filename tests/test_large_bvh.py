"""A long BVH (thousands of frames, the demo excerpt's frames repeated) reads exactly as its
frames read separately, through the one-pass parser, in memory bounded by the file's size."""

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.formats.bvh import read_bvh
from motion_tokens.core.formats.bvh_frames import _checked_frames, parse_frames
from motion_tokens.core.retarget import read_smplx_motion

REPO = Path(__file__).resolve().parents[1]
BANDAI_EXCERPT = REPO / "demo" / "bandai_excerpt.bvh"
REPEATS = 50  # 60 frames -> 3000 frames, about 3.8 MB


def split_take(path: Path) -> tuple[bytes, bytes, list[bytes]]:
    """(the HIERARCHY block, the 'Frame Time:' line, the frame lines) of a BVH."""
    head, _, rest = path.read_bytes().partition(b"MOTION")
    lines = rest.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.lower().startswith(b"frame time"))
    return head, lines[at], [line for line in lines[at + 1 :] if line.strip()]


def repeated_take(path: Path, repeats: int, newline: bytes = b"\n", extra: bytes = b"") -> Path:
    """The excerpt's frame lines `repeats` times over (declared as such), then `extra`."""
    head, frame_time, frames = split_take(BANDAI_EXCERPT)
    body = b"".join(frames) * repeats
    text = head + b"MOTION\n" + f"Frames: {repeats * len(frames)}\n".encode() + frame_time + body + extra
    path.write_bytes(text.replace(b"\r\n", b"\n").replace(b"\n", newline))
    return path


@pytest.fixture(scope="module")
def excerpt():
    return read_bvh(BANDAI_EXCERPT, warnings=[])


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_a_long_take_reads_as_its_frames_repeated(tmp_path, excerpt, newline):
    notes: list[str] = []
    big = read_bvh(repeated_take(tmp_path / "long.bvh", REPEATS, newline, b"\n  \n1 2 3\n"), warnings=notes)
    assert big.num_frames == REPEATS * excerpt.num_frames
    assert big.skeleton.names == excerpt.skeleton.names
    np.testing.assert_array_equal(big.skeleton.offsets, excerpt.skeleton.offsets)
    # The same numbers through the same arithmetic: equal to the last bit, frame by frame.
    np.testing.assert_array_equal(big.rotations, np.tile(excerpt.rotations, (REPEATS, 1, 1)))
    np.testing.assert_array_equal(big.trans, np.tile(excerpt.trans, (REPEATS, 1)))
    assert "1 lines after the 3000 declared frames were ignored" in notes


def test_the_one_pass_parse_equals_the_token_by_token_parse(tmp_path):
    """The fast path (numpy's C reader) gives the values the checked, token by token parse
    gives (Python's float of each token), blank lines and all."""
    frames = split_take(BANDAI_EXCERPT)[2]
    block = b"\n".join([b"".join(frames) * 20, b"   ", b"".join(frames[:7])])
    channels = len(frames[0].split())
    count = 20 * len(frames) + 7
    fast_notes, slow_notes = [], []
    fast = parse_frames(Path("x.bvh"), b"xx" + block, 2, 10, channels, count, fast_notes)
    slow = _checked_frames(Path("x.bvh"), block, 10, channels, count, slow_notes)
    assert fast.shape == (count, channels)
    np.testing.assert_array_equal(fast, slow)
    assert fast_notes == slow_notes == []


def test_reading_a_long_take_needs_memory_of_a_few_times_its_size(tmp_path):
    """Before, the frame block was split into one Python bytes object per number (11 times
    the file's size at the peak); now the peak is the file, its values and the rotations."""
    path = repeated_take(tmp_path / "long.bvh", REPEATS)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        read_bvh(path, warnings=[])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 * size, f"peak {peak / size:.1f} x the file's size"


def test_retargeting_a_long_take_needs_memory_of_a_few_times_its_size(tmp_path):
    """Read as SMPL-X: the retargeting works in quaternions, with no (T, 55, 3, 3) matrices."""
    path = repeated_take(tmp_path / "long.bvh", REPEATS)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        read_smplx_motion(path, None, warnings=[])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * size, f"peak {peak / size:.1f} x the file's size"
