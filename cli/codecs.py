"""The codec commands: train-codec, evaluate-codecs, encode, decode, codecs."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..core.codecs.features import PARTS
from ..core.parts import CODED_PARTS
from ..core.codecs.registry import FAMILIES, OFFERED_BITS
from ..pipelines.decode import DecodeOptions, decode_steps
from ..pipelines.encode import EncodeOptions, encode_steps
from ..pipelines.encode_corpus import CorpusOptions, encode_corpus_steps, is_corpus
from ..pipelines.evaluate_codecs import EvaluateOptions, evaluate_codecs
from ..pipelines.list_codecs import ListOptions, list_codecs
from ..pipelines.train_codec import TrainOptions, train_codec
from .common import (
    add_models_argument,
    add_rig_argument,
    file_sink,
    print_result,
    progress_line,
    run_with_progress,
)

_DATA_HELP = "folders (or files) of motion"
#: encode's status when some inputs of a corpus failed (listed); 2 stays bad options or output.
EXIT_SOME_FAILED = 1


def add_commands(commands) -> None:
    """Every codec subcommand, in the order `--help` lists them."""
    for add in (_add_train, _add_evaluate, _add_encode, _add_decode, _add_listing):
        add(commands)


def _add_train(commands) -> None:
    train = commands.add_parser(
        "train-codec",
        help="train a k-means or RQ-VAE codec bundle for one body part",
        description="Train a codec at BITS bits per frame for one part on the motion files (.bvh, .npz) "
        "under the data folders, holding out the fixed split (core/codecs/split.json), and write the bundle "
        "(manifest.json, weights.safetensors) to --out. Deterministic for a seed.",
    )
    train.add_argument("--family", choices=FAMILIES, required=True,
                       help="kmeans, rqvae (one latent per frame) or rqvae4 (one latent per 4 frames, same bits/s)")
    train.add_argument("--bits", type=int, choices=OFFERED_BITS, required=True, help="bits per frame")
    train.add_argument("--part", choices=CODED_PARTS, required=True,
                       help="body part to code (whole: body, hands and face in one codebook, the speech ablation)")
    train.add_argument("--data", type=Path, nargs="+", required=True, metavar="DIR", help=_DATA_HELP)
    train.add_argument("--out", type=Path, required=True, metavar="FOLDER",
                       help="bundle folder to write, e.g. models/kmeans-9-body")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--entropy-guided", action="store_true",
                       help="RQ-VAE only: Gumbel soft assignment with an entropy loss towards uniform code usage")
    train.add_argument("--checkpoint-dir", type=Path, default=None, metavar="DIR",
                       help="RQ-VAE only: write a training checkpoint here every --checkpoint-every steps")
    train.add_argument("--checkpoint-every", type=int, default=500, metavar="N", help="steps between checkpoints (500)")
    train.add_argument("--resume", action="store_true",
                       help="continue from the checkpoint in --checkpoint-dir (the same weights as a run never stopped)")
    train.set_defaults(func=run_train_codec)


def run_train_codec(args: argparse.Namespace) -> int:
    options = TrainOptions(args.family, args.bits, args.part, tuple(args.data), args.out, args.seed,
                           args.entropy_guided, args.checkpoint_dir, args.checkpoint_every, args.resume)
    return print_result(train_codec(options, progress=progress_line))


def _add_evaluate(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate-codecs",
        help="rate-distortion table and plot of the codec bundles on the held-out split",
        description="Encode and decode the held-out takes under the data folders with each codec bundle and "
        "write the rate-distortion report (markdown) and its plot (PNG, beside the report).",
    )
    evaluate.add_argument("--data", type=Path, nargs="+", required=True, metavar="DIR", help=_DATA_HELP)
    evaluate.add_argument("--codecs", nargs="+", default=None, metavar="NAME",
                          help="codec names, e.g. kmeans-9 rqvae-9 (default: every bundle)")
    evaluate.add_argument("--out", type=Path, required=True, metavar="REPORT.md", help="markdown report to write")
    evaluate.add_argument("--plot", type=Path, default=None, metavar="PLOT.png",
                          help="plot to write (default: beside the report, REPORT_rd.png)")
    add_models_argument(evaluate)
    evaluate.set_defaults(func=run_evaluate_codecs)


def _evaluate_command(args: argparse.Namespace) -> str:
    """The command line that reproduces this evaluation, for the report."""
    argv = ["--data", *map(str, args.data), "--out", str(args.out)]
    argv += ["--codecs", *args.codecs] if args.codecs else []
    argv += ["--plot", str(args.plot)] if args.plot else []
    argv += ["--models", str(args.models)] if args.models else []
    return f"python -m motion_tokens evaluate-codecs {shlex.join(argv)}"


def run_evaluate_codecs(args: argparse.Namespace) -> int:
    options = EvaluateOptions(tuple(args.data), args.out, tuple(args.codecs) if args.codecs else None, args.plot,
                              args.models, _evaluate_command(args))
    return print_result(evaluate_codecs(options, progress=progress_line))


def _add_encode(commands) -> None:
    encode_parser = commands.add_parser(
        "encode",
        help="code motion files into tokens per part: one file, or whole folders (a corpus) in parallel",
        description="Read an SMPL-X .npz or a BVH, code each part (body, hands) with the codec NAME at 30 fps, "
        "and write a tokens file: the decoded motion in the BEAT2 .npz layout plus tokens_body, tokens_hands, "
        "codec and token_fps. Several inputs, or folders (searched recursively for .npz and .bvh): --out is a "
        "folder; each input gets the tokens file of its path relative to its folder (x/y.bvh -> OUT/x/y.npz), "
        "--jobs processes code them, files whose output is up to date (same size, time and codec bundles, "
        "recorded in OUT/index.jsonl) are skipped, and a file that cannot be read is listed failed while the "
        "rest go on. Exit status: 0 all done, 1 some inputs failed (listed), 2 bad options or output.",
    )
    encode_parser.add_argument("inputs", type=Path, nargs="+", metavar="MOTION_OR_DIR",
                               help="input motion files (.npz, .bvh) or folders of them")
    encode_parser.add_argument("--codec", required=True, metavar="NAME", help="codec name, e.g. kmeans-6 or rqvae-12")
    encode_parser.add_argument("--out", type=Path, required=True, metavar="OUT.npz|DIR",
                               help="tokens file to write, or for several inputs or a folder the folder to write into")
    encode_parser.add_argument("--jobs", type=int, default=1, metavar="N",
                               help="processes coding files at once, for several inputs or a folder (default 1)")
    add_models_argument(encode_parser)
    encode_parser.set_defaults(func=run_encode)


def run_encode(args: argparse.Namespace) -> int:
    if is_corpus(args.inputs, args.out):
        options = CorpusOptions(tuple(args.inputs), args.codec, args.out, args.jobs, args.models)
        result = run_with_progress(encode_corpus_steps(options), "encode", unit="file")
        print_result(result)
        return EXIT_SOME_FAILED if result.failed else 0
    steps = encode_steps(EncodeOptions(args.inputs[0], args.codec, args.out, args.models))
    return print_result(run_with_progress(steps, "encode"))


def _add_decode(commands) -> None:
    decode_parser = commands.add_parser(
        "decode",
        help="decode a tokens file into motion",
        description="Decode the tokens in a tokens file (made by encode) with the codec bundles it names; the "
        "root orientation, translation and face come from the file. Writes .npz (BEAT2 layout), .bvh, .blend "
        "or .fbx.",
    )
    decode_parser.add_argument("file", type=Path, metavar="TOKENS.npz", help="tokens file")
    decode_parser.add_argument("--out", type=Path, required=True, metavar="OUT",
                               help="motion file to write; its suffix (.npz, .bvh, .blend, .fbx) picks the format")
    add_models_argument(decode_parser)
    add_rig_argument(decode_parser)
    decode_parser.add_argument("--accept-other-codebook", action="store_true",
                               help="decode even with an installed bundle that is not the codebook the file records "
                               "(another sha256 or size), or when the file records none; warns, the motion may be wrong")
    decode_parser.set_defaults(func=run_decode)


def run_decode(args: argparse.Namespace) -> int:
    options = DecodeOptions(args.file, args.models, args.accept_other_codebook)
    return print_result(run_with_progress(decode_steps(options, file_sink(args.out, args.rig)), "decode"))


def _add_listing(commands) -> None:
    listing = commands.add_parser(
        "codecs",
        help="list the codec bundles",
        description="List the codec bundles (verified): name, part, family, bits per frame and per second "
        "(from the manifest), codebook size (k, or D x Q) and size on disk.",
    )
    add_models_argument(listing)
    listing.set_defaults(func=run_codecs)


def run_codecs(args: argparse.Namespace) -> int:
    return print_result(list_codecs(ListOptions(args.models)))
