"""The speech command: generate (speech audio to gestures through motion tokens)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.errors import OptionError
from ..pipelines.generate import DEFAULT_DECODE_STEPS, DEFAULT_GENERATOR, DEFAULT_TEMPERATURE, DEFAULT_TOP_K, \
    MAX_DECODE_STEPS, MAX_TEMPERATURE, MAX_TOP_K, MIN_TEMPERATURE, GeneratedFiles, GenerateOptions, generate_steps
from ..pipelines.outputs import OUTPUT_SUFFIXES
from ..scene.outputs import write_scene_file
from .common import add_models_argument, add_rig_argument, print_result, run_with_progress


def add_commands(commands) -> None:
    """generate: audio files to body, hand and face motion (.npz with tokens, .bvh, .blend, .fbx)."""
    gen = commands.add_parser(
        "generate",
        help="speech audio to gestures: body, hand and face motion through motion tokens",
        description="Generate body, hand and face motion for each speech recording (wav, flac, ogg, ...) with a "
        "generator bundle, through its codecs' motion tokens. .npz output is the BEAT2 layout with the tokens "
        "(tokens_body/hands/face, codec, sha256, token_fps); .bvh, .blend and .fbx hold the motion (.blend and "
        ".fbx need Blender's bpy). Several inputs: --out is a folder, one output each named after its input.",
    )
    gen.add_argument("audio", type=Path, nargs="+", metavar="AUDIO", help="speech audio files")
    gen.add_argument("--out", type=Path, required=True, metavar="OUT",
                     help="output file (.npz, .bvh, .blend, .fbx; the suffix picks the format) or, for several "
                     "inputs, a folder")
    gen.add_argument("--format", choices=[s.lstrip(".") for s in OUTPUT_SUFFIXES], default=None,
                     help="the output type when --out is a folder (default npz)")
    which = gen.add_mutually_exclusive_group()
    which.add_argument("--generator", default=None, metavar="NAME",
                       help=f"generator bundle in models/ or a folder (default {DEFAULT_GENERATOR})")
    which.add_argument("--codec", default=None, metavar="NAME",
                       help="pick the generator of this codec: --codec kmeans-10 is --generator gen-kmeans-10")
    gen.add_argument("--seed", type=int, default=0, help="random seed, 0-4294967295 (default 0): the same seed "
                     "gives the same motion")
    gen.add_argument("--temperature", type=float, default=DEFAULT_TEMPERATURE,
                     help=f"sampling temperature, {MIN_TEMPERATURE:g}-{MAX_TEMPERATURE:g} "
                     f"(default {DEFAULT_TEMPERATURE:g})")
    gen.add_argument("--top-k", type=int, default=DEFAULT_TOP_K,
                     help=f"sample from the k likeliest codes, 0-{MAX_TOP_K} (default {DEFAULT_TOP_K}; 0: every code)")
    gen.add_argument("--decode-steps", type=int, default=DEFAULT_DECODE_STEPS,
                     help=f"masked-decoding steps per window, 1-{MAX_DECODE_STEPS} (default {DEFAULT_DECODE_STEPS}): "
                     "more settle the tokens more, each costs a pass of the network")
    add_rig_argument(gen)
    add_models_argument(gen)
    gen.set_defaults(func=run_generate)


def generator_name(args: argparse.Namespace) -> str:
    """The generator bundle --generator or --codec names (default gen-kmeans-10)."""
    if args.codec is not None:
        if not args.codec.strip():
            raise OptionError("--codec needs a codec name such as kmeans-10")
        return f"gen-{args.codec.strip()}"
    return args.generator or DEFAULT_GENERATOR


def keep_blend_tokens(path: Path, made) -> None:
    """Put the tokens of `made` (pipelines.generate.Generated) on the action of the .blend just
    saved at `path` (scene.tokens_prop; bpy is there, since the .blend was written)."""
    from ..scene.tokens_prop import ActionTokens, keep_tokens_in_blend

    keep_tokens_in_blend(path, ActionTokens(made.tokens, made.codec_names, made.codebooks, made.token_fps, 1, 30.0,
                                            made.generator_name, made.generator_sha256, made.seed, made.speech.name,
                                            seam_frames=made.seam_frames))


def run_generate(args: argparse.Namespace) -> int:
    options = GenerateOptions(tuple(args.audio), generator_name(args), args.seed, args.temperature, args.top_k,
                              models_dir=args.models, decode_steps=args.decode_steps)
    sink = GeneratedFiles(args.out, args.rig, args.format, write_scene_file, keep_blend_tokens)
    return print_result(run_with_progress(generate_steps(options, sink), "generate"))
