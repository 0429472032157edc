"""Per-frame work done a slice of frames at a time, as steps (pipelines.progress), and the
steps of one job counted within a larger one."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from ..core.motion import Motion
from .progress import Progress, Steps

#: Frames per step. Retargeting 8192 frames onto SMPL-X takes about 0.1 s and their keyframe
#: channels about 0.2 s on 2 cores, so a 100 MB BVH (80,512 frames) is ten steps a phase and
#: Esc is seen within a fraction of a second.
CHUNK_FRAMES = 8192


def frame_chunks(num_frames: int, chunk: int | None = None) -> list[slice]:
    """The slices of `num_frames` frames, `chunk` (default CHUNK_FRAMES) at a time (one,
    empty, for no frames)."""
    chunk = chunk or CHUNK_FRAMES
    return [slice(start, min(start + chunk, num_frames)) for start in range(0, max(num_frames, 1), chunk)]


def chunk_what(what: str, frames: slice, num_frames: int) -> str:
    """'retargeting frames 8193-16384 of 80512'."""
    return f"{what} frames {frames.start + 1}-{frames.stop} of {num_frames}"


def within(steps: Steps, before: int, share: int, total: int) -> Steps:
    """`steps` with their Progress counted as `share` of `total` units after `before`; their
    Result. Closing this closes `steps`, so their own cleanup runs."""
    try:
        while True:
            progress = next(steps)
            yield Progress(before + share * progress.done // max(progress.total, 1), total, progress.what)
    except StopIteration as stop:
        return stop.value
    finally:
        steps.close()


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



def with_context(run: Callable, num_frames: int, frames: slice, context: int):
    """`run(a, b)`, the results of the frames [a, b), for `frames` widened by `context` frames
    either side (within the `num_frames`), restricted to `frames`: the whole's results there
    when each result depends on the inputs up to `context` frames either side of it."""
    start, stop = max(frames.start - context, 0), min(frames.stop + context, num_frames)
    return run(start, stop)[frames.start - start : frames.stop - start]
