"""Long work as generators of steps, over slices of frames.

A job that can take more than about a second is written as a generator: it yields a
`Progress` before each step and returns its result (through StopIteration). `run_steps`
runs it to the end; the operators run it one step per modal timer event (Esc between steps
closes it) and the command line drives it with a progress bar (pipelines.progress). Per-frame
work is done `CHUNK_FRAMES` frames a step (`frame_chunks`); work whose result at a frame
depends on its neighbours runs each slice with that context around it (`with_context`).
A job changes the scene only in its last steps and removes what it made when the generator
is closed (GeneratorExit), so a cancel leaves the scene as it was. Here in core so that core,
scene and pipelines can all write steps (imports go downward).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generator

#: What a long job is: Progress steps, then its result.
Steps = Generator["Progress", None, object]


@dataclass(frozen=True)
class Progress:
    """done of total units of work (frames, where the work is per frame; one for a read), and
    what the job does next ('retargeting onto SMPL-X, frames 1-8192 of 80512')."""

    done: int
    total: int
    what: str


def run_steps(steps: Steps, report: Callable[[Progress], None] | None = None):
    """Run every step of `steps`, calling `report(progress)` before each; the job's result.
    An error the job raises passes through (the generator is then finished)."""
    while True:
        try:
            progress = next(steps)
        except StopIteration as stop:
            return stop.value
        if report is not None:
            report(progress)


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


def with_context(run: Callable, num_frames: int, frames: slice, context: int):
    """`run(a, b)`, the results of the frames [a, b), for `frames` widened by `context` frames
    either side (within the `num_frames`), restricted to `frames`: the whole's results there
    when each result depends on the inputs up to `context` frames either side of it."""
    start, stop = max(frames.start - context, 0), min(frames.stop + context, num_frames)
    return run(start, stop)[frames.start - start : frames.stop - start]
