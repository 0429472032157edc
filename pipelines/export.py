"""The export job: an armature's action read as SMPL-X motion (the reader handed in:
scene.targets.read_active_motion; a rig that is not SMPL-X read back through its bone map)
and written as a BEAT2-layout .npz and/or a BVH.

Everything is checked before anything is written; each file is written atomically (core),
so a failed export leaves no partial file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.errors import OutputError
from ..core.formats import write_motion
from ..core.motion import Motion
from ..core.skeleton import Skeleton, smplx_skeleton

_SUFFIXES = {"NPZ": (".npz",), "BVH": (".bvh",), "BOTH": (".npz", ".bvh")}


@dataclass(frozen=True)
class ExportOptions:
    """Where to write: the path without or with either suffix, and which formats."""

    filepath: str
    file_format: str  # "NPZ", "BVH" or "BOTH"
    smplx_model_folder: str | os.PathLike | None = None  # None: the approximate SMPL-X rest joints

    def output_paths(self) -> list[Path]:
        """One path per format: the file path with its .npz/.bvh suffix replaced."""
        base = Path(self.filepath)
        if base.suffix.lower() in (".npz", ".bvh"):
            base = base.with_suffix("")
        return [base.with_name(base.name + suffix) for suffix in _SUFFIXES[self.file_format]]


@dataclass
class ExportResult:
    motion: Motion
    paths: list[Path]
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def export_motion(options: ExportOptions, read_armature: Callable[[Skeleton, list, list], Motion]) -> ExportResult:
    """Read the armature's motion with `read_armature(skeleton, warnings, notes)` (it appends
    to `warnings` what only an .npz would hold and it could not read, e.g. a body shape the
    action does not keep, and to `notes` what every format loses, e.g. the SMPL-X joints a
    rig has no bone for) and write it in each format; the motion, the paths written, the
    summary line and the warnings. Raises MotionTokensError before writing anything when the
    armature or the destination will not do."""
    if not options.filepath:
        raise OutputError("no file to export to: choose a .npz or .bvh file path")
    paths = options.output_paths()
    for path in paths:
        if not path.parent.is_dir():
            raise OutputError(f"{path}: cannot write here, the folder {path.parent} does not exist")
    warnings: list[str] = []
    notes: list[str] = []
    motion = read_armature(smplx_skeleton(model_folder=options.smplx_model_folder), warnings, notes)
    if not any(path.suffix == ".npz" for path in paths):
        warnings.clear()  # a BVH holds no body shape or face: nothing of them is lost
    warnings[:0] = notes
    replaced = [path.name for path in paths if path.exists()]
    for path in paths:
        write_motion(path, motion)
    names = " and ".join(path.name for path in paths)
    lines = [f"Exported {motion.num_frames} frames at {motion.fps:g} fps to {names}"]
    if replaced:  # the file browser showed it red; say it again rather than replace silently
        lines.append(f"Replaced the existing {' and '.join(replaced)}")
    return ExportResult(motion, paths, lines, warnings)
