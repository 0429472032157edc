"""The command line: `python -m motion_tokens COMMAND ...` (also `motion-tokens`, and inside
Blender `blender -b -P tools/blender_cli.py -- COMMAND ...`).

    import FILE --out OUT.{blend,npz,bvh,fbx} [--fps 30] [--frame-start 1] [--smplx-model DIR]
        [--rig {smplx,metahuman,mixamo,rigify,MAP.json}]
    train-codec --family {kmeans,rqvae} --bits {6,9,10,12} --part {body,hands} --data DIR...
        --out models/NAME-PART [--seed 0] [--entropy-guided]
    evaluate-codecs --data DIR... [--codecs NAME...] --out REPORT.md [--plot PNG] [--models DIR]
    encode MOTION.{npz,bvh} --codec NAME --out TOKENS.npz [--models DIR]
    encode MOTION_OR_DIR... --codec NAME --out DIR [--jobs N] [--models DIR]   (a corpus: DIR/index.jsonl)
    decode TOKENS.npz --out OUT.{npz,bvh,blend,fbx} [--models DIR] [--rig RIG] [--accept-other-codebook]
    tokens export TOKENS.npz --out OUT.{json,jsonl,npy} [--tokens-only]
    tokens import FILE --out OUT.{npz,bvh,blend,fbx} [--rig RIG] [--models DIR] [--accept-other-codebook]
    codecs [--models DIR]
    atlas --codec NAME --part {body,hands,face} --out ATLAS.png [--level Q] [--sort usage|id] [--page N]
        [--usage FILE_OR_DIR... | --training-usage] [--models DIR]
    train-generator --codec NAME --data DIR... --out models/gen-NAME [--seed 0] [--steps 1500]
    generate AUDIO... --out OUT.{npz,bvh,blend,fbx}|DIR [--generator NAME | --codec NAME] [--seed N]
        [--temperature T] [--top-k K] [--rig RIG] [--format FMT] [--models DIR]
    capture VIDEO_OR_POSE... --out OUT.{npz,bvh,blend,fbx}|DIR [--codec NAME] [--fps 30] [--mirrored]
        [--workers 1|2] [--rig RIG] [--format FMT] [--models DIR]
    spot QUERY --lexicon DIR_OR_LEXICON.npz --out DETECTIONS.{json,srt} [--audio-out SPEECH.wav] [--window N]
        [--hop N] [--overlap 0.5] [--threshold T] [--language LANG]
    spot-lexicon DIR --out LEXICON.npz [--language LANG]

Each command is a parser and one pipeline call (motion_tokens.pipelines): `motion` holds
import, `codecs` the codec commands, `common` the shared arguments and printing. .blend and
.fbx output need Blender's Python module (bpy), imported only then (scene.outputs).

Bad input (a missing, empty, corrupt or wrongly laid out file, an unknown output suffix) prints
one line naming the file to stderr and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from ..core.errors import MotionTokensError
from . import capture, codecs, generate_train, motion, speech
from . import evaluate_speech as speech_evaluation
from . import tokens as token_commands
from . import inspect as inspect_commands
from . import spot as spot_commands

PROG = "motion-tokens"
EXIT_BAD_INPUT = 2
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
    motion.add_commands(commands)
    codecs.add_commands(commands)
    generate_train.add_commands(commands)
    speech.add_commands(commands)
    speech_evaluation.add_commands(commands)  # train-motion-encoder, evaluate-speech
    capture.add_commands(commands)
    token_commands.add_commands(commands)  # tokens export, tokens import
    inspect_commands.add_commands(commands)  # atlas
    spot_commands.add_commands(commands)  # spot
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with `argv` (default sys.argv[1:]); the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MotionTokensError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # e.g. an output folder that is not writable
        where = exc.filename if exc.filename is not None else ""
        print(f"{PROG}: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
