"""Long jobs as generators of progress steps, and the one driver the shells share.

A job that can take more than about a second is written as a generator: it yields a
`Progress` before each step and returns its Result (through StopIteration). The operators run
it one step per modal timer event (Esc between steps closes it), `run_steps` runs it to the
end (an operator's headless `execute`, the CLI when not on a terminal) and the CLI drives it
with a tqdm bar on a terminal. Where the work is per frame a step is a slice of frames
(pipelines.chunks), so no step keeps Blender busy for long, and Progress counts frames. A job
changes the scene only in its last steps and removes what it made when the generator is
closed (GeneratorExit), so a cancel leaves the scene as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Generator

#: What a long job is: Progress steps, then its Result.
Steps = Generator["Progress", None, object]


@dataclass(frozen=True)
class Progress:
    """done of total units of work (frames, where the work is per frame; one for a read), and
    what the job does next ('retargeting onto SMPL-X, frames 1-8192 of 80512')."""

    done: int
    total: int
    what: str


class Stepper:
    """A job's steps run one at a time: `step()` runs the next and returns its Progress, or
    None once the job has finished (its Result in `result`); `cancel()` stops it. Errors the
    job raises pass through `step()`, the generator closed."""

    def __init__(self, steps: Steps, clock: Callable[[], float] = time.monotonic):
        self._steps, self._clock = steps, clock
        self._started = clock()
        self.progress: Progress | None = None
        self.result = None
        self.finished = False

    def step(self) -> Progress | None:
        try:
            self.progress = next(self._steps)
        except StopIteration as stop:
            self.result, self.finished = stop.value, True
            return None
        return self.progress

    def cancel(self) -> None:
        """Close the job between two steps (GeneratorExit inside it: its own cleanup runs)."""
        self._steps.close()

    def seconds_left(self) -> float | None:
        """The remaining time at the pace so far; None before the first step is done."""
        progress = self.progress
        if progress is None or progress.done == 0:
            return None
        elapsed = self._clock() - self._started
        return elapsed / progress.done * (progress.total - progress.done)

    def status_line(self, name: str) -> str:
        """'Import: keying 1906 frames (67%, about 3 s left) - Esc to cancel'."""
        progress = self.progress
        if progress is None:
            return f"{name}: starting - Esc to cancel"
        left = self.seconds_left()
        eta = "" if left is None else f", about {left:.0f} s left"
        return f"{name}: {progress.what} ({percent(progress)}%{eta}) - Esc to cancel"


def percent(progress: Progress) -> int:
    """How much of the job is done, in whole percent."""
    return 100 * progress.done // max(progress.total, 1)


def run_steps(steps: Steps, report: Callable[[Progress], None] | None = None):
    """Run every step of `steps`, calling `report(progress)` before each; the job's Result."""
    stepper = Stepper(steps)
    while (progress := stepper.step()) is not None:
        if report is not None:
            report(progress)
    return stepper.result
