"""The motion commands: import."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..pipelines.import_motion import ImportOptions, import_steps
from .common import add_rig_argument, file_sink, print_result, run_with_progress


def add_commands(commands) -> None:
    """import: a motion file (.npz, .bvh) written as .npz, .bvh, .blend or .fbx."""
    imp = commands.add_parser(
        "import",
        help="read a motion file as SMPL-X motion and write it as .npz, .bvh, .blend or .fbx",
        description="Read an SMPL-X .npz (BEAT2 or AMASS layout) or a BVH file as SMPL-X motion "
        "and write it as a BEAT2-layout .npz, a BVH, or a .blend or .fbx with an armature playing it "
        "(.blend and .fbx need Blender's bpy module); --rig retargets it onto another skeleton.",
    )
    imp.add_argument("file", type=Path, metavar="FILE", help="input motion: .npz or .bvh")
    imp.add_argument("--out", type=Path, required=True, metavar="OUT",
                     help="output file; its suffix (.blend, .npz, .bvh, .fbx) picks the format")
    imp.add_argument("--fps", type=float, default=30.0, help="frame rate to resample to, 1-240 and at most 10x the file's own above 30 (default 30)")
    imp.add_argument("--frame-start", type=int, default=1,
                     help="first frame of the action in the .blend or .fbx, within Blender's +-1048574 (default 1)")
    imp.add_argument("--smplx-model", type=Path, default=None, metavar="DIR",
                     help="folder with your SMPLX_NEUTRAL.npz: exact rest joints for the file's body shape "
                     "instead of the approximate ones")
    add_rig_argument(imp)
    imp.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    options = ImportOptions(args.file, args.fps, args.smplx_model)
    steps = import_steps(options, file_sink(args.out, args.rig, args.frame_start))
    return print_result(run_with_progress(steps, "import"))
