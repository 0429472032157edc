"""Make the demo inputs and test fixtures in demo/ from the shared data.

    .venv/bin/python tools/make_excerpts.py [--data DIR]

- demo/beat2_excerpt.npz: BEAT2_FRAMES frames of beat2/2_scott_0_1_1.npz, the window where
  the arms and hands move most, with the file's own keys (BEAT2 layout), floats as float32.
- demo/bandai_excerpt.bvh: BANDAI_FRAMES frames of one Bandai dataset-1 take, the window
  where the hands move most. The file is the original text: the hierarchy and the selected
  frame lines are copied byte for byte, only the number after "Frames:" changes, so it stays
  a genuine Bandai file (tabs, spacing and line endings included).
The data folder is MOTION_TOKENS_DATA, default ../shared/data beside the repository.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from motion_tokens.core.formats.bvh import read_bvh
from motion_tokens.core.paths import data_dir
from motion_tokens.core.skeleton import HAND_JOINTS

REPO = Path(__file__).resolve().parents[1]

BEAT2_TAKE = "beat2/2_scott_0_1_1.npz"
BEAT2_FRAMES = 150
BANDAI_TAKE = "bandai/dataset-1/dataset-1_byebye_normal_001.bvh"
BANDAI_FRAMES = 60
ARM_JOINTS = (16, 17, 18, 19, 20, 21)  # SMPL-X shoulders, elbows, wrists


def most_active_window(speed: np.ndarray, length: int) -> int:
    """Start of the `length`-frame window with the largest summed per-frame speed (T-1,)."""
    window = np.convolve(speed, np.ones(length - 1), mode="valid")
    return int(np.argmax(window))


def beat2_excerpt(src: Path, dst: Path) -> tuple[int, int, int]:
    """Write the excerpt; returns (first frame, frame after the last, frames in the take)."""
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    poses = arrays["poses"].reshape(len(arrays["poses"]), -1, 3)
    moving = poses[:, list(ARM_JOINTS) + list(HAND_JOINTS)]
    speed = np.linalg.norm(np.diff(moving, axis=0), axis=-1).sum(axis=1)
    start = most_active_window(speed, BEAT2_FRAMES)
    T = arrays["poses"].shape[0]
    out = {}
    for key, a in arrays.items():
        if a.ndim >= 1 and a.shape[0] == T:  # per-frame arrays: poses, trans, expressions
            a = a[start : start + BEAT2_FRAMES]
        out[key] = a.astype(np.float32) if np.issubdtype(a.dtype, np.floating) else a
    with open(dst, "wb") as f:
        np.savez_compressed(f, **out)
    return start, start + BEAT2_FRAMES, T


def bandai_excerpt(src: Path, dst: Path) -> tuple[int, int, int]:
    """Write the excerpt; returns (first frame, frame after the last, frames in the take)."""
    motion = read_bvh(src)
    hands = [motion.skeleton.index("Hand_L"), motion.skeleton.index("Hand_R")]
    pos = motion.positions()[:, hands]
    speed = np.linalg.norm(np.diff(pos, axis=0), axis=-1).sum(axis=1)
    start = most_active_window(speed, BANDAI_FRAMES)

    raw = src.read_bytes()
    lines = raw.splitlines(keepends=True)
    frames_at = next(i for i, line in enumerate(lines) if line.lstrip().startswith(b"Frames:"))
    first = frames_at + 2  # after "Frames:" and "Frame Time:"
    frames_line = re.sub(rb"(Frames:\s*)\d+", rb"\g<1>%d" % BANDAI_FRAMES, lines[frames_at])
    body = lines[first + start : first + start + BANDAI_FRAMES]
    dst.write_bytes(b"".join(lines[:frames_at] + [frames_line, lines[frames_at + 1]] + body))
    return start, start + BANDAI_FRAMES, motion.num_frames


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=data_dir(), help="the shared data folder (default $MOTION_TOKENS_DATA or ../shared/data)")
    args = parser.parse_args(argv)
    demo = REPO / "demo"
    demo.mkdir(exist_ok=True)
    for name, make, src in (
        ("beat2_excerpt.npz", beat2_excerpt, args.data / BEAT2_TAKE),
        ("bandai_excerpt.bvh", bandai_excerpt, args.data / BANDAI_TAKE),
    ):
        if not src.is_file():
            print(f"{src}: not found; set MOTION_TOKENS_DATA or --data to the shared data folder", file=sys.stderr)
            return 2
        start, stop, total = make(src, demo / name)
        size = (demo / name).stat().st_size
        print(f"demo/{name}: frames [{start}, {stop}) of {total} from {src.name}, {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
