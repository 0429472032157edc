"""Retargeting done a slice of frames at a time, as steps (core.steps)."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from ..motion import Motion
from ..steps import Progress, Steps, chunk_what, frame_chunks


def retarget_steps(retarget_one: Callable, motion: Motion, what: str = "retargeting", chunk: int | None = None) -> Steps:
    """`retarget_one(motion)` (a core.retarget RetargetResult) done `chunk` frames at a time,
    yielding Progress(frames done, frames); the RetargetResult of the whole motion. Exact
    because the transfer is per frame (each slice's frames are the whole's); the unmapped
    joints and warnings depend on the skeletons only, so the first slice's are kept."""
    n = motion.num_frames
    results = []
    for frames in frame_chunks(n, chunk):
        yield Progress(frames.start, n, chunk_what(what, frames, n))
        results.append(retarget_one(motion.frames(frames.start, frames.stop)))
    parts = [r.motion for r in results]
    expressions = None if parts[0].expressions is None else np.concatenate([p.expressions for p in parts])
    whole = replace(parts[0], rotations=np.concatenate([p.rotations for p in parts]),
                    trans=np.concatenate([p.trans for p in parts]), expressions=expressions)
    return replace(results[0], motion=whole)
