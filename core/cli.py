"""The command line: `python -m motion_tokens COMMAND ...` (also `motion-tokens`, and inside
Blender `blender -b -P tools/blender_cli.py -- COMMAND ...`).

    import FILE --out OUT.{blend,npz,bvh} [--fps 30] [--frame-start 1] [--smplx-model DIR]

Reads an SMPL-X .npz (BEAT2/AMASS) or a BVH as SMPL-X motion; writes it as a BEAT2-layout .npz
or a BVH (core only, no Blender), or as a .blend holding an SMPL-X armature with the motion as
its action (needs Blender's Python module, bpy, imported only then).

Bad input (a missing, empty, corrupt or wrongly laid out file, an unknown output suffix) prints
one line naming the file to stderr and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tomllib
from pathlib import Path

from .errors import MotionTokensError, OutputError

PROG = "motion-tokens"
EXIT_BAD_INPUT = 2
OUTPUT_SUFFIXES = (".blend", ".npz", ".bvh")
_MANIFEST = Path(__file__).resolve().parents[1] / "blender_manifest.toml"


def version() -> str:
    """The extension's version, from blender_manifest.toml (shipped in the repository and zip)."""
    with open(_MANIFEST, "rb") as f:
        return tomllib.load(f)["version"]


def build_parser() -> argparse.ArgumentParser:
    """The parser: one subcommand per job, each with its handler in `func`."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Motion files, motion tokens and keyframed motion for SMPL-X."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = commands.add_parser(
        "import",
        help="read a motion file as SMPL-X motion and write it as .npz, .bvh or .blend",
        description="Read an SMPL-X .npz (BEAT2 or AMASS layout) or a BVH file as SMPL-X motion "
        "and write it as a BEAT2-layout .npz, a BVH, or a .blend with an SMPL-X armature "
        "(.blend needs Blender's bpy module).",
    )
    imp.add_argument("file", type=Path, metavar="FILE", help="input motion: .npz or .bvh")
    imp.add_argument(
        "--out", type=Path, required=True, metavar="OUT",
        help="output file; its suffix (.blend, .npz, .bvh) picks the format",
    )
    imp.add_argument("--fps", type=float, default=30.0, help="frame rate to resample to (default 30)")
    imp.add_argument(
        "--frame-start", type=int, default=1,
        help="first frame of the action in the .blend (default 1)",
    )
    imp.add_argument(
        "--smplx-model", type=Path, default=None, metavar="DIR",
        help="folder with your SMPLX_NEUTRAL.npz: exact rest joints for the file's body shape "
        "instead of the approximate ones",
    )
    imp.set_defaults(func=run_import)
    return parser


def read_smplx_motion(path: Path, fps: float | None, smplx_model: Path | None):
    """The motion in `path` as SMPL-X at `fps` (None: the file's rate); on the exact skeleton
    of the user's model for the file's body shape when `smplx_model` is given."""
    from .formats import read_motion
    from .skeleton import smplx_skeleton

    motion = read_motion(path, fps=fps)
    if smplx_model is not None:
        skeleton = smplx_skeleton(model_folder=smplx_model, betas=motion.betas)
        motion = dataclasses.replace(motion, skeleton=skeleton)
    return motion


def run_import(args: argparse.Namespace) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise OutputError(
            f"{args.out}: unknown output type {suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(OUTPUT_SUFFIXES)}"
        )
    if not (args.fps > 0):
        raise OutputError(f"--fps must be positive, got {args.fps:g}")
    motion = read_smplx_motion(args.file, args.fps, args.smplx_model)
    if suffix == ".blend":
        frame_end = write_blend(args.out, motion, args.frame_start)
        print(f"{args.out}: SMPL-X armature with {motion.num_frames} frames at {motion.fps:g} fps "
              f"(frames {args.frame_start}-{frame_end})")
    else:
        from .formats import write_motion

        write_motion(args.out, motion)
        print(f"{args.out}: {motion.num_frames} frames at {motion.fps:g} fps")
    return 0


def write_blend(path: Path, motion, frame_start: int) -> int:
    """Save a new .blend at `path` with an SMPL-X armature playing `motion` from `frame_start`;
    the last frame of the action.

    The scene's frame rate and range are set to the motion's. Needs bpy: this is the one place
    in core that imports it (and the scene helpers), lazily, only for .blend output.
    """
    try:
        import bpy
    except ImportError:
        raise OutputError(
            f"{path}: writing a .blend needs Blender's Python module (bpy); run this inside "
            "Blender (blender -b -P tools/blender_cli.py -- import ...) or write .npz/.bvh"
        ) from None
    from ..scene.actions import write_motion
    from ..scene.armature import create_armature

    path = path.resolve()
    if not path.parent.is_dir():
        raise OutputError(f"{path}: cannot write here, the folder {path.parent} does not exist")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    fps = max(1, round(motion.fps))
    scene.render.fps, scene.render.fps_base = fps, fps / motion.fps
    obj = create_armature(motion.skeleton, name="SMPL-X")
    result = write_motion(obj, motion, frame_start=frame_start, action_name=motion.name or None)
    scene.frame_start, scene.frame_end = result.frame_start, result.frame_end
    scene.frame_set(result.frame_start)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(path), check_existing=False)
    except RuntimeError as exc:  # Blender reports a failed save (e.g. no permission) this way
        raise OutputError(f"{path}: Blender could not save the file ({str(exc).strip()})") from None
    return result.frame_end


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (default sys.argv[1:]); the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except MotionTokensError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # e.g. an output folder that is not writable
        where = exc.filename if exc.filename is not None else ""
        print(f"{PROG}: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
