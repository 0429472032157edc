"""How every operator ends: a pipeline's warnings and lines reported, or its error."""

from __future__ import annotations

from typing import Callable

from ..core.errors import MotionTokensError


def report_result(operator, result) -> set[str]:
    """Report a pipeline's result on `operator`: each warning as WARNING and each line as
    INFO; {'FINISHED'}."""
    for warning in result.warnings:
        operator.report({"WARNING"}, warning)
    for line in result.lines:
        operator.report({"INFO"}, line)
    return {"FINISHED"}


def report_error(operator, what: str, exc: MotionTokensError) -> set[str]:
    """Report `exc` as ERROR "Cannot `what`: ..."; {'CANCELLED'}."""
    operator.report({"ERROR"}, f"Cannot {what}: {exc}")
    return {"CANCELLED"}


def run_job(operator, what: str, job: Callable[[], object]) -> set[str]:
    """Run `job` (options -> one pipeline call) and report on `operator` (`report_result`,
    or a MotionTokensError by `report_error`: the pipelines leave the scene as it was)."""
    try:
        result = job()
    except MotionTokensError as exc:
        return report_error(operator, what, exc)
    return report_result(operator, result)
