"""What the commands share: the --rig and --models arguments, the output sink, and printing
a pipeline's result."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.steps import run_steps
from ..pipelines.outputs import RIG_CHOICES, FileSink
from ..pipelines.progress import percent
from ..scene.outputs import write_scene_file

MODELS_HELP = "folder of codec bundles (default: the extension's models/)"


def add_rig_argument(parser: argparse.ArgumentParser) -> None:
    """--rig: the skeleton the written motion is on (pipelines.outputs.FileSink)."""
    parser.add_argument(
        "--rig", default="smplx", metavar="{" + ",".join(RIG_CHOICES) + ",MAP.json}",
        help="the skeleton to write the motion on (default smplx): metahuman (UE5 bone names, A-pose), "
        "mixamo, rigify (DEF- bones), or a bone map file (JSON, see core/retarget/rigs.py; it needs a \"skeleton\" "
        "block to build from). With .blend/.fbx output an armature of that layout is made and animated, with "
        ".bvh its skeleton is written; .npz output is always SMPL-X",
    )


def add_models_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", type=Path, default=None, metavar="DIR", help=MODELS_HELP)


def file_sink(path: Path, rig: str, frame_start: int = 1) -> FileSink:
    """The output file `path` on `rig`; .blend and .fbx go through scene.outputs (bpy)."""
    return FileSink(path, rig, frame_start, write_scene_file)


def progress_line(line: str) -> None:
    """A progress line of a long job, shown at once."""
    print(line, flush=True)


def run_with_progress(steps, name: str, unit: str = "frame"):
    """Run a long pipeline job's steps (pipelines.progress) with its progress: a tqdm bar on
    stderr when that is a terminal (counting `unit`s: what the job's Progress counts), else
    one plain line per step on stdout, as train-codec's (stderr keeps to warnings and the one
    error line); the job's Result."""
    if not sys.stderr.isatty():
        return run_steps(steps, lambda p: progress_line(f"{name}: {p.what} ({percent(p)}%)"))
    from tqdm import tqdm

    with tqdm(desc=name, file=sys.stderr, unit=unit, unit_scale=unit == "frame", leave=False) as bar:
        def show(progress):
            bar.total = progress.total
            bar.update(progress.done - bar.n)
            bar.set_postfix_str(progress.what)

        return run_steps(steps, show)


def print_result(result) -> int:
    """Print a pipeline result's lines to stdout and its warnings to stderr; exit status 0."""
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for line in result.lines:
        print(line)
    return 0
