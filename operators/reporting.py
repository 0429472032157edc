"""How every operator ends: a pipeline's warnings and lines reported, or its error."""

from __future__ import annotations

from typing import Callable

from ..core.errors import MotionTokensError


def run_job(operator, what: str, job: Callable[[], object]) -> set[str]:
    """Run `job` (options -> one pipeline call) and report on `operator`: each warning as
    WARNING and each line as INFO, {'FINISHED'}; a MotionTokensError as ERROR "Cannot
    `what`: ...", {'CANCELLED'} (the pipelines leave the scene as it was)."""
    try:
        result = job()
    except MotionTokensError as exc:
        operator.report({"ERROR"}, f"Cannot {what}: {exc}")
        return {"CANCELLED"}
    for warning in result.warnings:
        operator.report({"WARNING"}, warning)
    for line in result.lines:
        operator.report({"INFO"}, line)
    return {"FINISHED"}
