"""How the shells pace a long job (core.steps): one step at a time with the time left
(operators, from a modal timer) and the percentage shown (status line, command line)."""

from __future__ import annotations

import time
from typing import Callable

from ..core.steps import Progress, Steps


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
