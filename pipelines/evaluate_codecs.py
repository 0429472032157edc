"""The evaluation job: the rate-distortion report (markdown) and plot of codec bundles on
the held-out split."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.errors import OutputError
from .outputs import refuse_output_onto_input


def _quiet(line: str) -> None:
    """No progress lines (the default)."""


@dataclass(frozen=True)
class EvaluateOptions:
    """data: folders (or files) of motion; codecs: names such as kmeans-9 (None: every
    bundle); out: the .md report; plot: None for beside the report; command: the command line
    the report records."""

    data: tuple[Path, ...]
    out: Path
    codecs: tuple[str, ...] | None = None
    plot: Path | None = None
    models_dir: str | os.PathLike | None = None
    command: str | None = None


@dataclass
class EvaluateResult:
    report: object  # core's EvaluationReport
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def evaluate_codecs(options: EvaluateOptions, progress: Callable[[str], None] | None = None) -> EvaluateResult:
    """Evaluate and write the report and plot (core.codecs.evaluation.run.evaluate_codecs);
    the report and its summary table, ending with the files written. OutputError for a report
    that is not .md, or a report or plot that is one of the data files or folders."""
    from ..core.codecs.evaluation.report import summary_lines
    from ..core.codecs.evaluation.run import default_plot_path
    from ..core.codecs.evaluation.run import evaluate_codecs as evaluate

    if options.out.suffix.lower() != ".md":
        raise OutputError(f"{options.out}: the report is markdown; give it a .md suffix")
    for output in (options.out, options.plot or default_plot_path(options.out)):
        refuse_output_onto_input(output, options.data)
    report = evaluate(list(options.data), list(options.codecs) if options.codecs else None, options.models_dir,
                      options.out, options.plot, progress=progress or _quiet, command=options.command)
    return EvaluateResult(report, summary_lines(report))
