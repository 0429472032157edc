"""The import job: a motion file (.npz, .bvh) read as SMPL-X motion and written to a sink,
a file (`outputs.FileSink`, the CLI) or an armature (`ArmatureTarget`, the operator)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.errors import MissingFileError, SkeletonError
from ..core.formats import read_motion
from ..core.limits import check_fps
from ..core.motion import Motion
from ..core.retarget import bone_map_for, read_smplx_motion, retarget_to_smplx
from ..core.retarget.slices import retarget_steps
from ..core.skeleton import smplx_skeleton
from ..core.steps import Progress, Steps, run_steps, within
from .outputs import Written

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
    """An armature sink: write_onto(motion) -> the steps (core.steps) keying the
    motion as a new action, their Result a scene.rig.TargetResult (scene.targets.ImportTarget);
    scene_fps: the rate it keys at."""

    write_onto: Callable[[Motion], Steps]
    scene_fps: float

    def check(self, inputs=()) -> None:
        """Nothing to check before reading: the target is resolved when written onto, and an
        armature is never one of the input files."""

    def write_steps(self, motion: Motion, source: str = "") -> Steps:
        """Steps keying `motion`; the Written: the bone report and the summary line, and the
        keying's warnings."""
        target = yield from self.write_onto(motion)
        resampled = f" (keyed at the scene's {self.scene_fps:g} fps)" if abs(self.scene_fps - motion.fps) > 1e-6 else ""
        summary = (f"Imported {os.path.basename(source)}: {motion.num_frames} frames at {motion.fps:g} fps"
                   f"{resampled} as action '{target.action.name}' on '{target.armature.name}' "
                   f"(frames {target.frame_start}-{target.frame_end})")
        return Written([*bone_report(target), summary], list(target.warnings), target)


def _read_steps(options: ImportOptions, warnings: list[str]) -> Steps:
    """Steps reading `options.source` as SMPL-X motion; the Motion. A .bvh is parsed in one
    step (one core call) and retargeted onto SMPL-X a slice of frames at a time, as
    core.retarget.read_smplx_motion does it whole (its notes appended to `warnings`)."""
    path = Path(options.source)
    size = f" ({path.stat().st_size / 1e6:.1f} MB)" if path.is_file() else ""
    yield Progress(0, 1, f"reading {path.name}{size}")
    if path.suffix.lower() != ".bvh":
        return read_smplx_motion(path, options.fps, options.smplx_model, warnings)
    source = read_motion(path, fps=None, warnings=warnings)
    bone_map = bone_map_for(source.skeleton.names)
    try:  # the whole take's checks first, on no frames, so a bad file fails before any slice
        first = retarget_to_smplx(source.frames(0, 0), bone_map)
    except SkeletonError as exc:  # the skeleton is the file's: say which file
        raise SkeletonError(f"{path}: {exc}") from None
    warnings.extend(first.warnings)
    if first.unmapped:
        warnings.append(f"SMPL-X joints kept at rest: {', '.join(first.unmapped)}")
    n = source.num_frames
    result = yield from within(retarget_steps(lambda m: retarget_to_smplx(m, bone_map), source,
                                              "retargeting onto SMPL-X,"), n, n, 4 * n)
    motion = result.motion if options.fps is None else result.motion.resampled(options.fps)
    if options.smplx_model is not None:
        motion = dataclasses.replace(motion, skeleton=smplx_skeleton(model_folder=options.smplx_model,
                                                                     betas=motion.betas))
    return motion


def _write_steps(sink, motion: Motion, source: str, before: int, total: int) -> Steps:
    """Steps writing `motion` to `sink`, counted from `before` to `total`; the Written."""
    if isinstance(sink, ArmatureTarget):
        return (yield from within(sink.write_steps(motion, source), before, total - before, total))
    yield Progress(before, total, f"writing {motion.num_frames} frames")
    return sink.write(motion, source)


def import_steps(options: ImportOptions, sink) -> Steps:
    """The import as steps (core.steps): read `options.source` (a .bvh's retargeting a
    slice of frames at a time), then write it to `sink` (a FileSink, one step, or an
    ArmatureTarget: the keyframe channels a slice at a time, then the keying); Progress counts
    frames, the read, a .bvh's retargeting and the writing a share each; returns the
    ImportResult. The sink is checked before reading and the scene changes only while keying,
    undone on any MotionTokensError and when the steps are closed before the end."""
    if not os.fspath(options.source):
        raise MissingFileError("(no file)", "choose a .npz or .bvh file to import")
    options.check()
    sink.check([options.source])
    warnings: list[str] = []
    motion = yield from _read_steps(options, warnings)
    n = motion.num_frames
    bvh = Path(options.source).suffix.lower() == ".bvh"
    before = (2 if bvh else 1) * n  # read (and retargeted)
    written = yield from _write_steps(sink, motion, os.fspath(options.source), before, before + 2 * n)
    return ImportResult(motion, written.lines, warnings + written.warnings, written.target)


def import_motion(options: ImportOptions, sink) -> ImportResult:
    """`import_steps` run to the end; the ImportResult."""
    return run_steps(import_steps(options, sink))
