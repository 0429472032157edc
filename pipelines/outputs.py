"""Motion written to a file by its suffix: .npz and .bvh through core (a rig's motion
retargeted onto its rest skeleton first), .blend and .fbx through a scene writer the caller
hands in (`motion_tokens.scene.outputs.write_scene_file`), so this module needs no bpy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..core.errors import OutputError
from ..core.formats import write_motion
from ..core.limits import check_frame
from ..core.motion import Motion

OUTPUT_SUFFIXES = (".blend", ".npz", ".bvh", ".fbx")
SCENE_SUFFIXES = (".blend", ".fbx")
#: --rig values besides a map file path (core.retarget.SHIPPED_RIGS).
RIG_CHOICES = ("smplx", "metahuman", "mixamo", "rigify")


@dataclass
class Written:
    """What a sink wrote: the lines saying so, the warnings, and the scene-side result (an
    armature sink's TargetResult; None for files)."""

    lines: list[str]
    warnings: list[str] = field(default_factory=list)
    target: object = None


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether `a` and `b` are one file or folder: the same device and inode after following
    links, so a symbolic or hard link to the input counts; False when either does not exist."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except (OSError, ValueError):
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def refuse_output_onto_input(output: str | os.PathLike, inputs: Iterable[str | os.PathLike]) -> None:
    """OutputError when `output` is one of the `inputs` (same_file): writing it would destroy
    what the job reads. Every job that reads files and writes one calls this before reading."""
    for source in inputs:
        if same_file(output, source):
            raise OutputError(f"{output}: is the input {source} (the same file); writing it would destroy the input, "
                              "so nothing was written: choose another output path")


def check_suffix(path: Path, suffixes=OUTPUT_SUFFIXES) -> str:
    """The lower-case suffix of `path`; OutputError naming it when it is not one of `suffixes`."""
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise OutputError(f"{path}: unknown output type {suffix or '(no suffix)'!r}; use one of {', '.join(suffixes)}")
    return suffix


def rig_for_output(path: Path, rig: str):
    """The rig layout (core.retarget) for `rig`, checked against the output `path`: None for
    smplx; OutputError for another rig with .npz output (an .npz holds SMPL-X) or a map without
    a skeleton to build; the map file's own errors (MissingFileError, LayoutError) name it."""
    from ..core.retarget import rig_layout

    if rig == "smplx":
        return None
    if path.suffix.lower() == ".npz":
        raise OutputError(f"{path}: an .npz holds SMPL-X motion; --rig {rig} needs .blend, .bvh or .fbx output")
    layout = rig_layout(rig)
    if layout.skeleton is None:
        raise OutputError(
            f"{path}: the bone map {layout.path} has no \"skeleton\" block, so there is no {layout.name!r} skeleton "
            "to write; add one (see core/retarget/rigs.py) or retarget onto your armature inside Blender"
        )
    return layout


@dataclass
class FileSink:
    """A motion file at `path` on the skeleton `rig` (smplx, a shipped layout or a map file),
    a .blend/.fbx action starting at `frame_start`. write_scene(path, motion, frame_start,
    layout) -> SceneFile writes .blend/.fbx (needed only for those suffixes)."""

    path: Path
    rig: str = "smplx"
    frame_start: int = 1
    write_scene: Callable | None = None
    layout: object = field(default=None, init=False)

    def check(self, inputs: Iterable[str | os.PathLike] = ()) -> None:
        """Refuse an unknown suffix or rig, or a path that is one of the job's `inputs`, before
        anything is read (OutputError, LayoutError)."""
        check_suffix(self.path)
        check_frame("frame start (--frame-start)", self.frame_start)
        refuse_output_onto_input(self.path, inputs)
        self.layout = rig_for_output(self.path, self.rig)

    def write(self, motion: Motion, source: str = "") -> Written:
        """Write SMPL-X `motion`; the line saying what was written and the scene's warnings."""
        name = "SMPL-X" if self.layout is None else self.layout.name
        if self.path.suffix.lower() in SCENE_SUFFIXES:
            if self.write_scene is None:
                raise OutputError(f"{self.path}: this caller writes no .blend or .fbx files; write .npz or .bvh")
            scene = self.write_scene(self.path, motion, self.frame_start, self.layout)
            return Written([f"{self.path}: {name} armature with {motion.num_frames} frames at {motion.fps:g} fps "
                            f"(frames {self.frame_start}-{scene.frame_end})"], scene.warnings)
        if self.layout is not None:
            from ..core.retarget import retarget

            motion = retarget(motion, self.layout.bone_map, self.layout.skeleton).motion
        write_motion(self.path, motion)
        on = "" if self.layout is None else f" on {name}"
        return Written([f"{self.path}: {motion.num_frames} frames at {motion.fps:g} fps{on}"])


def planned_sinks(out: Path, stems: list[str], files: list, suffix: str | None, rig: str,
                  write_scene: Callable | None) -> list[FileSink]:
    """One checked FileSink per input of a job with `len(stems)` inputs: `out` is the file for
    a single input (its suffix picks the format) or, for several (or when it is an existing
    folder), the folder they go in (made if missing), each named after its input's stem with
    `suffix` (default npz). OutputError for an unknown suffix or rig, an output that is one of
    the `files` read, a missing folder, a --format that disagrees with `out`, or two inputs
    writing one file."""
    out = Path(out)
    many = len(stems) > 1 or out.is_dir()
    if many and out.suffix.lower() in OUTPUT_SUFFIXES and not out.is_dir():
        raise OutputError(f"{out}: several inputs write one file each: give --out a folder "
                          "(and --format for their type)")
    if many:
        ext = "." + (suffix or "npz").lower().lstrip(".")
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / (stem + ext) for stem in stems]
    else:
        if suffix and out.suffix.lower() != "." + suffix.lower().lstrip("."):
            raise OutputError(f"{out}: its suffix is not the --format {suffix} asked for")
        paths = [out]
    clash = {p for p in paths if paths.count(p) > 1}
    if clash:
        raise OutputError(f"{sorted(clash)[0]}: two inputs of the same name would write this one file; "
                          "rename one or run them separately")
    sinks = [FileSink(path, rig, 1, write_scene) for path in paths]
    for sink in sinks:
        sink.check(files)
        if not sink.path.parent.is_dir():
            raise OutputError(f"{sink.path}: cannot write here, the folder {sink.path.parent} does not exist")
    return sinks
