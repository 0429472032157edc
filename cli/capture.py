"""The capture command: video or MediaPipe landmarks (.pose) to body and finger motion
through motion tokens."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..pipelines.capture import CODING_FPS, DEFAULT_CODEC, POSE_SUFFIXES, VIDEO_SUFFIXES, CaptureOptions, \
    CapturedFiles, capture_steps
from ..pipelines.outputs import OUTPUT_SUFFIXES
from ..scene.outputs import write_scene_file
from .common import add_models_argument, add_rig_argument, print_result, run_with_progress


def add_commands(commands) -> None:
    """capture: videos or .pose files to motion (.npz with tokens and the raw fit, .bvh, .blend, .fbx)."""
    cap = commands.add_parser(
        "capture",
        help="video or MediaPipe landmarks (.pose) to body and finger motion through motion tokens",
        description="Fit SMPL-X body and finger motion to a filmed person: MediaPipe Holistic on each video "
        f"({', '.join(VIDEO_SUFFIXES)}), or the landmarks of a pose-format file ({', '.join(POSE_SUFFIXES)}, "
        "MediaPipe Holistic layout), then code it with --codec and decode it. .npz output is the BEAT2 layout "
        "of the decoded motion with the tokens and the raw fit (raw_poses, raw_trans, found_*); .bvh, .blend and "
        ".fbx hold the decoded motion, with the raw fit beside it as NAME-raw.SUFFIX (.blend and .fbx need "
        "Blender's bpy). Several inputs: --out is a folder, one output each named after its input.",
    )
    cap.add_argument("inputs", type=Path, nargs="+", metavar="VIDEO_OR_POSE", help="videos or .pose files")
    cap.add_argument("--out", type=Path, required=True, metavar="OUT",
                     help="output file (.npz, .bvh, .blend, .fbx; the suffix picks the format) or, for several "
                     "inputs, a folder")
    cap.add_argument("--format", choices=[s.lstrip(".") for s in OUTPUT_SUFFIXES], default=None,
                     help="the output type when --out is a folder (default npz)")
    cap.add_argument("--codec", default=DEFAULT_CODEC, metavar="NAME",
                     help=f"codec coding the body and hands, e.g. kmeans-10 or rqvae4-12 (default {DEFAULT_CODEC})")
    cap.add_argument("--fps", type=float, default=CODING_FPS,
                     help=f"output frame rate, the same duration at any input rate (default {CODING_FPS:g}; "
                     ".npz output holds 30)")
    cap.add_argument("--mirrored", action="store_true",
                     help="the video is a mirror image (a selfie camera): the person's left appears on the left")
    cap.add_argument("--workers", type=int, default=1, choices=(1, 2),
                     help="MediaPipe processes for video input (default 1)")
    add_rig_argument(cap)
    add_models_argument(cap)
    cap.set_defaults(func=run_capture)


def run_capture(args: argparse.Namespace) -> int:
    options = CaptureOptions(tuple(args.inputs), args.codec, args.fps, args.mirrored, args.workers,
                             models_dir=args.models)
    sink = CapturedFiles(args.out, args.rig, args.format, write_scene_file, args.fps)
    return print_result(run_with_progress(capture_steps(options, sink), "capture"))
