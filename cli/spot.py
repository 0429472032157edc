"""The spot command: find lexicon signs in a query take (pipelines.spot)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..pipelines.spot import LexiconOptions, SpotOptions, build_lexicon_file, spot_steps
from .common import print_result, run_with_progress


def add_commands(commands) -> None:
    """spot: a .pose or video query against a lexicon folder or .npz, detections to .json/.srt."""
    cmd = commands.add_parser(
        "spot",
        help="find the signs of a lexicon in a signed take (.pose or video): detections as JSON or SRT",
        description="Fit the query (MediaPipe Holistic landmarks in a .pose file, or a video through MediaPipe), "
        "compare sliding windows of its signing hand's features with every lexicon clip by DTW, keep the best "
        "windows by temporal non-maximum suppression and write them: .json (a list of {label, start, end, "
        "confidence}, seconds from the query's start, sorted by start) or .srt (the labels at their times).",
    )
    cmd.add_argument("query", type=Path, metavar="QUERY",
                     help="the signed take: a .pose file, a video, or SMPL-X motion (.npz, .bvh)")
    cmd.add_argument("--lexicon", type=Path, required=True, metavar="DIR_OR_LEXICON.npz",
                     help="a folder of labelled sign clips (.pose, video, .npz, .bvh; file names or an index.csv "
                     "give the labels, LABEL.wav the recorded words) or a lexicon built by `spot-lexicon`")
    cmd.add_argument("--out", type=Path, required=True, metavar="DETECTIONS.{json,srt}", help="the detections file")
    cmd.add_argument("--audio-out", type=Path, default=None, metavar="SPEECH.wav",
                     help="also write the lexicon's recorded words (LABEL.wav) placed at the detected times, "
                     "mixed into one track: recorded words, not synthesised speech")
    cmd.add_argument("--window", type=int, default=None, metavar="N",
                     help="window length in frames at 30 fps (default: the lexicon's median clip length)")
    cmd.add_argument("--hop", type=int, default=None, metavar="N", help="window hop in frames (default: window / 4)")
    cmd.add_argument("--overlap", type=float, default=0.5,
                     help="temporal IoU above which a weaker window is suppressed (default 0.5)")
    cmd.add_argument("--threshold", type=float, default=0.5, metavar="T",
                     help="the lowest confidence kept, 0-1 (default 0.5)")
    cmd.add_argument("--language", default=None, help="keep only lexicon clips of this signed language (index.csv)")
    cmd.set_defaults(func=run_spot)

    build = commands.add_parser(
        "spot-lexicon",
        help="build a lexicon folder of sign clips once into a lexicon file for `spot --lexicon`",
        description="Read and fit every clip of a lexicon folder (.pose, video, .npz, .bvh; labels from the file "
        "names or an index.csv; LABEL.wav as each label's recorded word) and save the sign features, labels and "
        "audio paths as an .npz that `spot --lexicon` reads without fitting again.",
    )
    build.add_argument("folder", type=Path, metavar="DIR", help="the lexicon folder")
    build.add_argument("--out", type=Path, required=True, metavar="LEXICON.npz", help="the lexicon file to write")
    build.add_argument("--language", default=None, help="keep only clips of this signed language (index.csv)")
    build.set_defaults(func=run_spot_lexicon)


def run_spot(args: argparse.Namespace) -> int:
    options = SpotOptions(args.query, args.lexicon, args.out, args.window, args.hop, args.overlap, args.threshold,
                          args.language, args.audio_out)
    return print_result(run_with_progress(spot_steps(options), "spot", unit="step"))


def run_spot_lexicon(args: argparse.Namespace) -> int:
    options = LexiconOptions(args.folder, args.out, args.language)
    return print_result(run_with_progress(build_lexicon_file(options), "spot-lexicon", unit="clip"))
