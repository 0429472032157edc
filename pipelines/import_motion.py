"""The import job: a motion file (.npz, .bvh) read as SMPL-X motion and written to a sink,
a file (`outputs.FileSink`, the CLI) or an armature (`ArmatureTarget`, the operator)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from ..core.errors import MissingFileError
from ..core.limits import check_fps
from ..core.retarget import read_smplx_motion
from ..core.motion import Motion
from .outputs import Written
from .progress import Progress, Steps, run_steps

#: How many bone names an import's report lists before "and N more".
_NAMES_SHOWN = 8


@dataclass(frozen=True)
class ImportOptions:
    """source: the motion file. fps: the rate to resample to on reading (None: the file's own;
    an armature sink resamples once, to the scene's rate). smplx_model: a folder with
    SMPLX_NEUTRAL.npz for exact rest joints (None: the approximate ones)."""

    source: str | os.PathLike
    fps: float | None = 30.0
    smplx_model: str | os.PathLike | None = None

    def check(self) -> None:
        """OptionError for a frame rate outside core.limits (1-240 fps)."""
        if self.fps is not None:
            check_fps("fps (--fps)", self.fps)


@dataclass
class ImportResult:
    """The motion read, the lines saying where it went, the warnings, and the sink's
    scene-side result (a TargetResult for an armature; None for a file)."""

    motion: Motion
    lines: list[str]
    warnings: list[str] = field(default_factory=list)
    target: object = None


def bone_report(result) -> list[str]:
    """Lines for the user about a retargeting (a scene.rig.TargetResult): the layout used, the
    armature's bones left alone and the map's bones it lacks (empty for an SMPL-X armature
    keyed as it is)."""
    def names(bones):
        more = f" and {len(bones) - _NAMES_SHOWN} more" if len(bones) > _NAMES_SHOWN else ""
        return ", ".join(bones[:_NAMES_SHOWN]) + more

    lines = []
    if result.unmapped:
        lines.append(f"Bones left alone on '{result.armature.name}' (not in the {result.layout} bone map): "
                     f"{names(result.unmapped)}")
    if result.missing:
        lines.append(f"Bones of the {result.layout} bone map that '{result.armature.name}' lacks (their motion "
                     f"is left out): {names(result.missing)}")
    return lines


@dataclass
class ArmatureTarget:
    """An armature sink: write_onto(motion) keys the motion as a new action and returns a
    scene.rig.TargetResult (scene.targets.ImportTarget); scene_fps: the rate it keys at."""

    write_onto: Callable[[Motion], object]
    scene_fps: float

    def check(self, inputs=()) -> None:
        """Nothing to check before reading: the target is resolved when written onto, and an
        armature is never one of the input files."""

    def write(self, motion: Motion, source: str = "") -> Written:
        """Key `motion`; the bone report and the summary line, and the keying's warnings."""
        target = self.write_onto(motion)
        resampled = f" (keyed at the scene's {self.scene_fps:g} fps)" if abs(self.scene_fps - motion.fps) > 1e-6 else ""
        summary = (f"Imported {os.path.basename(source)}: {motion.num_frames} frames at {motion.fps:g} fps"
                   f"{resampled} as action '{target.action.name}' on '{target.armature.name}' "
                   f"(frames {target.frame_start}-{target.frame_end})")
        return Written([*bone_report(target), summary], list(target.warnings), target)


def import_steps(options: ImportOptions, sink) -> Steps:
    """The import as steps (pipelines.progress): read `options.source`, then write it to
    `sink` (a FileSink or an ArmatureTarget); returns the ImportResult. The sink is checked
    before reading and the file is read before the sink changes anything (the last step), so
    a MotionTokensError, or closing the steps before the end, leaves the destination as it was."""
    if not os.fspath(options.source):
        raise MissingFileError("(no file)", "choose a .npz or .bvh file to import")
    options.check()
    sink.check([options.source])
    name = os.path.basename(os.fspath(options.source))
    yield Progress(0, 2, f"reading {name}")
    warnings: list[str] = []
    motion = read_smplx_motion(options.source, options.fps, options.smplx_model, warnings)
    yield Progress(1, 2, f"writing {motion.num_frames} frames")
    written = sink.write(motion, os.fspath(options.source))
    return ImportResult(motion, written.lines, warnings + written.warnings, written.target)


def import_motion(options: ImportOptions, sink) -> ImportResult:
    """`import_steps` run to the end; the ImportResult."""
    return run_steps(import_steps(options, sink))
