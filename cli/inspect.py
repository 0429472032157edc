"""The codebook inspection commands: atlas (a contact sheet of a codec's code poses and usage)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.parts import PARTS
from ..pipelines.atlas import SORTS, TRAINING_USAGE, AtlasOptions, make_atlas
from .common import add_models_argument, print_result


def add_commands(commands) -> None:
    """The inspection subcommands, in the order `--help` lists them."""
    _add_atlas(commands)


def _add_atlas(commands) -> None:
    atlas = commands.add_parser(
        "atlas",
        help="a contact sheet PNG of a codebook's poses, with code usage",
        description="Draw every code of the codec NAME for one part as a stick figure on the SMPL-X skeleton "
        "(k-means: its centroid; RQ-VAE: the decoder's steady state for a constant code), 64 a page, each titled "
        "with its id and share of the usage, never-used codes in red, under a header with the usage %, "
        "perplexity and entropy. Usage is counted on tokens files (those of this codebook), on motion files "
        "coded on the fly, or on the training data the bundle records.",
    )
    atlas.add_argument("--codec", required=True, metavar="NAME", help="codec name, e.g. kmeans-6 or rqvae4-9")
    atlas.add_argument("--part", required=True, choices=PARTS, help="the part whose codebook to draw")
    atlas.add_argument("--out", type=Path, required=True, metavar="ATLAS.png", help="PNG to write")
    atlas.add_argument("--level", type=int, default=None, metavar="Q",
                       help="RQ-VAE: draw level Q's codes alone (the other levels zero); default: the level-0 codes "
                       "as real token tuples")
    atlas.add_argument("--sort", choices=SORTS, default=None,
                       help="order of the cells: most used first, or by id (default: usage when counted, else id)")
    atlas.add_argument("--page", type=int, default=0, metavar="N", help="page of 64 codes, from 0 (default 0)")
    usage = atlas.add_mutually_exclusive_group()
    usage.add_argument("--usage", type=Path, nargs="+", default=None, metavar="FILE_OR_DIR",
                       help="count usage on these tokens files, motion files (.npz, .bvh, coded with the codec) "
                       "and folders of them")
    usage.add_argument("--training-usage", action="store_true",
                       help="count usage on the training data (the frequencies the bundle stores)")
    add_models_argument(atlas)
    atlas.set_defaults(func=run_atlas)


def run_atlas(args: argparse.Namespace) -> int:
    usage_from = TRAINING_USAGE if args.training_usage else (tuple(args.usage) if args.usage else None)
    options = AtlasOptions(args.codec, args.part, args.out, args.level, args.sort, args.page, usage_from, args.models)
    return print_result(make_atlas(options))
