"""The speech-evaluation commands: train-motion-encoder and evaluate-speech."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..pipelines.evaluate_speech import SpeechOptions, TrainEncoderOptions, evaluate_speech, train_motion_encoder
from ..pipelines.generate import DEFAULT_DECODE_STEPS, DEFAULT_TEMPERATURE, DEFAULT_TOP_K
from .common import add_models_argument, print_result, progress_line


def add_commands(commands) -> None:
    _add_train(commands)
    _add_evaluate(commands)


def _add_train(commands) -> None:
    train = commands.add_parser(
        "train-motion-encoder",
        help="train the motion feature encoder bundle that FGD is measured with",
        description="Train the 1-D convolutional motion autoencoder (core/gesture_metrics/encoder.py) on the training "
        "takes of the codec split under the data folders and write its bundle (default models/motion-encoder). "
        "Deterministic for a seed.",
    )
    train.add_argument("--data", type=Path, nargs="+", required=True, metavar="DIR", help="folders of motion")
    train.add_argument("--out", type=Path, required=True, metavar="FOLDER", help="bundle folder to write")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--epochs", type=int, default=None, help="training epochs (default 40)")
    train.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    argv = ["--data", *map(str, args.data), "--out", str(args.out), "--seed", str(args.seed)]
    argv += ["--epochs", str(args.epochs)] if args.epochs is not None else []
    command = f"python -m motion_tokens train-motion-encoder {shlex.join(argv)}"
    options = TrainEncoderOptions(tuple(args.data), args.out, args.seed, args.epochs, command)
    return print_result(train_motion_encoder(options, progress=progress_line))


def _add_evaluate(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate-speech",
        help="FGD, beat alignment, diversity, synchrony and jerk of speech gestures on held-out speech",
        description="Cut the speech takes under the data folders (motion files with a .wav beside) into held-out and "
        "in-sample clips by the codec split, and write a markdown report of the ground truth, a shifted ground "
        "truth, random training clips, the mean pose and (with --codec) the ground truth through that codec.",
    )
    evaluate.add_argument("--data", type=Path, nargs="+", required=True, metavar="DIR",
                          help="folders (or files) holding speech takes")
    evaluate.add_argument("--codec", default=None, metavar="NAME", help="codec name, e.g. kmeans-10")
    evaluate.add_argument("--generator", action="append", default=[], metavar="NAME",
                          help="a generator bundle to evaluate, e.g. gen-kmeans-10 (repeat for several)")
    evaluate.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE,
                          help=f"the generators' sampling temperature (default {DEFAULT_TEMPERATURE:g}, as generate)")
    evaluate.add_argument("--top-k", type=int, default=DEFAULT_TOP_K, help="the generators' top-k (0: every code)")
    evaluate.add_argument("--decode-steps", type=int, default=DEFAULT_DECODE_STEPS,
                          help=f"the generators' decode steps per window (default {DEFAULT_DECODE_STEPS}, as generate)")
    evaluate.add_argument("--out", type=Path, required=True, metavar="REPORT.md", help="markdown report to write")
    evaluate.add_argument("--encoder", type=Path, default=None, metavar="FOLDER",
                          help="motion encoder bundle (default models/motion-encoder)")
    evaluate.add_argument("--seeds", type=int, default=3, help="samples per clip of the stochastic methods (default 3)")
    add_models_argument(evaluate)
    evaluate.set_defaults(func=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    argv = ["--data", *map(str, args.data)] + (["--codec", args.codec] if args.codec else [])
    argv += ["--out", str(args.out)] + (["--seeds", str(args.seeds)] if args.seeds != 3 else [])
    argv += ["--encoder", str(args.encoder)] if args.encoder else []
    argv += ["--models", str(args.models)] if args.models else []
    for generator in args.generator:
        argv += ["--generator", generator]
    argv += ["--temperature", f"{args.temperature:g}"] if args.temperature != DEFAULT_TEMPERATURE else []
    argv += ["--top-k", str(args.top_k)] if args.top_k != DEFAULT_TOP_K else []
    argv += ["--decode-steps", str(args.decode_steps)] if args.decode_steps != DEFAULT_DECODE_STEPS else []
    options = SpeechOptions(tuple(args.data), args.out, args.codec, args.models, args.encoder, args.seeds,
                            f"python -m motion_tokens evaluate-speech {shlex.join(argv)}", tuple(args.generator),
                            args.temperature, args.top_k, args.decode_steps)
    return print_result(evaluate_speech(options, progress=progress_line))
