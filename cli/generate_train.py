"""The generator's training command: train-generator."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.generate.config import ABLATIONS
from ..pipelines.train_generator import GeneratorTrainOptions, train_generator
from .common import add_models_argument, print_result, progress_line


def add_commands(commands) -> None:
    train = commands.add_parser(
        "train-generator",
        help="train a speech-to-gesture generator bundle for one codec",
        description="Train the masked token generator of codec NAME: the token prior on every motion file under "
        "the data folders (coded by the NAME bundles of every part), then the speech conditioning on the takes "
        "with speech (take.npz beside take.wav, or the BEAT2 layout smplxflame_30/ beside wave16k/), holding out "
        "the codecs' split; writes the bundle to --out. Deterministic for a seed on the CPU; uses a GPU when torch "
        "sees one; data-parallel under `torchrun --nproc_per_node N`.",
    )
    train.add_argument("--codec", required=True, metavar="NAME", help="codec name, e.g. kmeans-10 or rqvae-10")
    train.add_argument("--data", type=Path, nargs="+", required=True, metavar="DIR",
                       help="folders (or files) of motion, with speech beside it where there is any")
    train.add_argument("--out", type=Path, required=True, metavar="FOLDER", help="bundle folder, e.g. models/gen-kmeans-10")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--steps", type=int, default=1500, help="token prior steps (default 1500)")
    train.add_argument("--audio-steps", type=int, default=None, help="speech steps (default: a third of --steps)")
    train.add_argument("--replace", type=float, default=0.1,
                       help="share of the visible input tokens replaced by random codes in training (default 0.1)")
    train.add_argument("--ablation", choices=ABLATIONS, default=None,
                       help="train an ablation for the speech report: without the part cross-attention, or one "
                       "shared codebook for all parts (the codec's NAME-whole bundle, train-codec --part whole)")
    add_models_argument(train)
    train.set_defaults(func=run_train_generator)


def run_train_generator(args: argparse.Namespace) -> int:
    options = GeneratorTrainOptions(args.codec, tuple(args.data), args.out, args.seed, args.steps, args.audio_steps,
                                    args.replace, args.models, args.ablation)
    return print_result(train_generator(options, progress=progress_line))
