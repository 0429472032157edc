"""Operators whose work is a long job (pipelines.progress): modal with a progress bar and a
status-bar line, Esc to cancel; run to the end in `execute` where there is no window.

Headless (`bpy.ops` from a script or test, no window), there is no event loop to step in, so
`execute` runs the same steps to the end. With a window it steps once per timer event, so the
interface stays responsive and Esc is seen between two steps. The jobs change the scene only in
their last step, so a cancel has nothing to remove; the operator still reports it.
"""

from __future__ import annotations

import bpy

from ..core.errors import MotionTokensError
from ..core.steps import run_steps
from ..pipelines.progress import Stepper
from .reporting import report_error, report_result, run_job

#: Seconds between two steps: short, so the job barely waits, long enough to redraw and see Esc.
_STEP_INTERVAL = 0.01


class SteppedJob:
    """Mixin for an Operator: `job_name` ("import", for "Cannot import: ...") and
    `job_steps(context)` -> the pipeline's steps generator."""

    job_name = "run"
    _stepper: Stepper | None = None
    _timer = None

    def job_steps(self, context):
        raise NotImplementedError

    def execute(self, context):
        if bpy.app.background or context.window is None:  # no event loop would ever step it
            return run_job(self, self.job_name, lambda: run_steps(self.job_steps(context)))
        try:
            self._stepper = Stepper(self.job_steps(context))
        except MotionTokensError as exc:
            return report_error(self, self.job_name, exc)
        wm = context.window_manager
        self._timer = wm.event_timer_add(_STEP_INTERVAL, window=context.window)
        wm.progress_begin(0, 1000)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            return self.cancel_job(context)
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        return self.advance(context) or {"RUNNING_MODAL"}

    def advance(self, context) -> set[str] | None:
        """Run the next step and show where the job is; {'FINISHED'} or {'CANCELLED'} (an
        error, reported) when it has ended, None while it runs."""
        try:
            progress = self._stepper.step()
        except MotionTokensError as exc:
            self._end(context)
            return report_error(self, self.job_name, exc)
        if progress is None:
            self._end(context)
            return report_result(self, self._stepper.result)
        context.window_manager.progress_update(round(1000 * progress.done / max(progress.total, 1)))
        if context.workspace is not None:
            context.workspace.status_text_set(self._stepper.status_line(self.job_name.capitalize()))
        return None

    def cancel_job(self, context) -> set[str]:
        """Stop between two steps (Esc): nothing is left of the job; {'CANCELLED'}."""
        self._stepper.cancel()
        self._end(context)
        self.report({"INFO"}, f"{self.job_name.capitalize()} cancelled; the scene is as it was")
        return {"CANCELLED"}

    def _end(self, context) -> None:
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        if context.workspace is not None:
            context.workspace.status_text_set(None)
