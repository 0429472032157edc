"""Helper for the long-job tests: how long each step of a job takes."""

import time


def step_times(stepper) -> list[tuple[str, float]]:
    """Run `stepper` (pipelines.progress.Stepper) to the end; (what, seconds) of each step,
    named by the Progress it announced (the last step by the last Progress)."""
    times = []
    while True:
        start = time.perf_counter()
        progress = stepper.progress
        if stepper.step() is None:
            times.append((progress.what, time.perf_counter() - start))
            return times
        if progress is not None:
            times.append((progress.what, time.perf_counter() - start))
