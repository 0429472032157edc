"""The command line: `python -m motion_tokens COMMAND ...` (also `motion-tokens`, and inside
Blender `blender -b -P tools/blender_cli.py -- COMMAND ...`).

    import FILE --out OUT.{blend,npz,bvh,fbx} [--fps 30] [--frame-start 1] [--smplx-model DIR]
        [--rig {smplx,metahuman,mixamo,rigify,MAP.json}]

Reads an SMPL-X .npz (BEAT2/AMASS) or a BVH as SMPL-X motion; writes it as a BEAT2-layout .npz
or a BVH (core only, no Blender), or as a .blend holding an SMPL-X armature with the motion as
its action, or an FBX of that armature (both need Blender's Python module, bpy, imported only
then). With --rig other than smplx the motion is retargeted (core/retarget.py) onto that rig
layout (core/rigs.py): the .bvh is written on its skeleton, the .blend/.fbx armature is one of
that layout (MetaHuman-compatible, Mixamo, Rigify, or a map file's "skeleton").

    train-codec --family {kmeans,rqvae} --bits {6,9,10,12} --part {body,hands} --data DIR...
        --out models/NAME-PART [--seed 0] [--entropy-guided]
    evaluate-codecs --data DIR... [--codecs NAME...] --out REPORT.md [--plot PNG] [--models DIR]
    encode MOTION.{npz,bvh} --codec NAME --out TOKENS.npz [--models DIR]
    decode TOKENS.npz --out OUT.{npz,bvh,blend,fbx} [--models DIR] [--rig RIG]
    codecs [--models DIR]

The codec commands train a bundle (core/codecs/training/), write the rate-distortion report
(core/codecs/evaluation/), code a motion into a tokens file (the decoded motion in the BEAT2
layout plus tokens_body, tokens_hands, codec, token_fps: core/formats/tokens.py), decode
one, and list the bundles.

Bad input (a missing, empty, corrupt or wrongly laid out file, an unknown output suffix) prints
one line naming the file to stderr and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from .core.errors import MotionTokensError, OutputError
from .core.retarget import read_smplx_motion

PROG = "motion-tokens"
EXIT_BAD_INPUT = 2
OUTPUT_SUFFIXES = (".blend", ".npz", ".bvh", ".fbx")
#: --rig values besides a map file path (core.rigs.SHIPPED_RIGS).
RIG_CHOICES = ("smplx", "metahuman", "mixamo", "rigify")
_MANIFEST = Path(__file__).resolve().parent / "blender_manifest.toml"


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
        help="read a motion file as SMPL-X motion and write it as .npz, .bvh, .blend or .fbx",
        description="Read an SMPL-X .npz (BEAT2 or AMASS layout) or a BVH file as SMPL-X motion "
        "and write it as a BEAT2-layout .npz, a BVH, or a .blend or .fbx with an armature playing it "
        "(.blend and .fbx need Blender's bpy module); --rig retargets it onto another skeleton.",
    )
    imp.add_argument("file", type=Path, metavar="FILE", help="input motion: .npz or .bvh")
    imp.add_argument(
        "--out", type=Path, required=True, metavar="OUT",
        help="output file; its suffix (.blend, .npz, .bvh, .fbx) picks the format",
    )
    imp.add_argument("--fps", type=float, default=30.0, help="frame rate to resample to (default 30)")
    imp.add_argument(
        "--frame-start", type=int, default=1,
        help="first frame of the action in the .blend or .fbx (default 1)",
    )
    imp.add_argument(
        "--smplx-model", type=Path, default=None, metavar="DIR",
        help="folder with your SMPLX_NEUTRAL.npz: exact rest joints for the file's body shape "
        "instead of the approximate ones",
    )
    add_rig_argument(imp)
    imp.set_defaults(func=run_import)
    add_codec_commands(commands)
    return parser


def run_import(args: argparse.Namespace) -> int:
    suffix = args.out.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise OutputError(
            f"{args.out}: unknown output type {suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(OUTPUT_SUFFIXES)}"
        )
    if not (args.fps > 0):
        raise OutputError(f"--fps must be positive, got {args.fps:g}")
    layout = rig_for_output(args.out, args.rig)  # a bad map file is refused before reading
    motion = read_smplx_motion(args.file, args.fps, args.smplx_model)
    print(write_rig_output(args.out, motion, layout, args.frame_start))
    return 0


# --- rigs: --rig for every command that writes motion ---------------------------------------


def add_rig_argument(parser: argparse.ArgumentParser) -> None:
    """--rig: the skeleton the written motion is on (see `write_rig_output`)."""
    parser.add_argument(
        "--rig", default="smplx", metavar="{" + ",".join(RIG_CHOICES) + ",MAP.json}",
        help="the skeleton to write the motion on (default smplx): metahuman (UE5 bone names, A-pose), "
        "mixamo, rigify (DEF- bones), or a bone map file (JSON, see core/rigs.py; it needs a \"skeleton\" "
        "block to build from). With .blend/.fbx output an armature of that layout is made and animated, with "
        ".bvh its skeleton is written; .npz output is always SMPL-X",
    )


def rig_for_output(path: Path, rig: str):
    """The rig layout (core.rigs) for `--rig`, checked against the output `path`: None for
    smplx; OutputError for another rig with .npz output (an .npz holds SMPL-X) or a map without
    a skeleton to build; the map file's own errors (MissingFileError, LayoutError) name it."""
    from .core.retarget import rig_layout

    if rig == "smplx":
        return None
    suffix = path.suffix.lower()
    if suffix == ".npz":
        raise OutputError(f"{path}: an .npz holds SMPL-X motion; --rig {rig} needs .blend, .bvh or .fbx output")
    layout = rig_layout(rig)
    if layout.skeleton is None:
        raise OutputError(
            f"{path}: the bone map {layout.path} has no \"skeleton\" block, so there is no {layout.name!r} skeleton "
            "to write; add one (see core/rigs.py) or retarget onto your armature inside Blender"
        )
    return layout


def write_rig_output(path: Path, motion, layout, frame_start: int = 1) -> str:
    """Write SMPL-X `motion` to `path` by its suffix, on the rig `layout` (None: SMPL-X); a
    line saying what was written.

    .npz and .bvh go through core.formats (a rig's motion retargeted with core.retarget onto
    its rest skeleton first); .blend and .fbx need bpy: a new scene with an armature of the
    layout playing the motion from `frame_start` (`write_blend`, `write_fbx`).
    """
    suffix = path.suffix.lower()
    name = "SMPL-X" if layout is None else layout.name
    if suffix in (".blend", ".fbx"):
        frame_end = (write_blend if suffix == ".blend" else write_fbx)(path, motion, frame_start, layout)
        return (f"{path}: {name} armature with {motion.num_frames} frames at {motion.fps:g} fps "
                f"(frames {frame_start}-{frame_end})")
    from .core.formats import write_motion

    if layout is not None:
        from .core.retarget import retarget

        motion = retarget(motion, layout.bone_map, layout.skeleton).motion
    write_motion(path, motion)
    return f"{path}: {motion.num_frames} frames at {motion.fps:g} fps" + ("" if layout is None else f" on {name}")


def write_blend(path: Path, motion, frame_start: int, layout=None) -> int:
    """Save a new .blend at `path` with an armature playing `motion` from `frame_start`; the
    last frame of the action. The armature is SMPL-X's (the motion keyed as it is) or, with a
    rig `layout` (core.rigs), one of that layout with the motion retargeted onto it.

    The scene's frame rate and range are set to the motion's. Needs bpy: this is the one place
    in core that imports it (and the scene helpers), lazily, only for .blend and .fbx output.
    """
    bpy = _import_bpy(path, ".blend")
    path = _writable(path)
    obj, frame_end = _animated_scene(motion, frame_start, layout)
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(path), check_existing=False)
    except RuntimeError as exc:  # Blender reports a failed save (e.g. no permission) this way
        raise OutputError(f"{path}: Blender could not save the file ({str(exc).strip()})") from None
    return frame_end


def write_fbx(path: Path, motion, frame_start: int, layout=None) -> int:
    """Write an FBX file at `path` (Blender's own FBX exporter, scene.fbx) of a new armature
    playing `motion` from `frame_start`, made as for `write_blend`; the last frame. The
    armature object is named "Armature", which Unreal's importer takes for the file's armature
    node rather than an extra root bone."""
    _import_bpy(path, ".fbx")
    path = _writable(path)
    from .scene.fbx import export_fbx

    obj, frame_end = _animated_scene(motion, frame_start, layout, object_name="Armature")
    export_fbx(obj, path)
    return frame_end


def _import_bpy(path: Path, suffix: str):
    try:
        import bpy
    except ImportError:
        raise OutputError(
            f"{path}: writing a {suffix} needs Blender's Python module (bpy); run this inside "
            "Blender (blender -b -P tools/blender_cli.py -- import ...) or write .npz/.bvh"
        ) from None
    return bpy


def _writable(path: Path) -> Path:
    path = path.resolve()
    if not path.parent.is_dir():
        raise OutputError(f"{path}: cannot write here, the folder {path.parent} does not exist")
    return path


def _animated_scene(motion, frame_start: int, layout, object_name: str | None = None):
    """(armature, last frame): a new empty scene at the motion's frame rate and range with an
    armature playing `motion` (see `write_blend`); warnings and bones left out to stderr."""
    import bpy

    from .scene.rig import TARGET_NEW_SMPLX, create_rig_armature, retarget_onto_armature, write_to_target

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    fps = max(1, round(motion.fps))
    scene.render.fps, scene.render.fps_base = fps, fps / motion.fps
    if layout is None:
        result = write_to_target(bpy.context, motion, TARGET_NEW_SMPLX, frame_start=frame_start,
                                 action_name=motion.name or None)
        obj = result.armature
    else:
        obj = create_rig_armature(layout)
        result = retarget_onto_armature(obj, motion, layout, frame_start=frame_start, action_name=motion.name or None)
    if object_name is not None:
        obj.name = object_name
    scene.frame_start, scene.frame_end = result.frame_start, result.frame_end
    scene.frame_set(result.frame_start)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if result.missing:
        print(f"note: the motion of {len(result.missing)} bones of the map is left out: the armature "
              f"lacks {', '.join(result.missing)}", file=sys.stderr)
    return obj, result.frame_end


# --- codecs ---------------------------------------------------------------------------------


def add_codec_commands(commands) -> None:
    """The codec subcommands: train-codec, evaluate-codecs, encode, decode, codecs."""
    from .core.codecs.features import PARTS
    from .core.codecs.registry import FAMILIES, OFFERED_BITS

    models_help = "folder of codec bundles (default: the extension's models/)"

    train = commands.add_parser(
        "train-codec",
        help="train a k-means or RQ-VAE codec bundle for one body part",
        description="Train a codec at BITS bits per frame for one part on the motion files (.bvh, .npz) "
        "under the data folders, holding out the fixed split (core/codecs/split.json), and write the bundle "
        "(manifest.json, weights.safetensors) to --out. Deterministic for a seed.",
    )
    train.add_argument("--family", choices=FAMILIES, required=True, help="kmeans or rqvae")
    train.add_argument("--bits", type=int, choices=OFFERED_BITS, required=True, help="bits per frame")
    train.add_argument("--part", choices=PARTS, required=True, help="body part to code")
    train.add_argument("--data", type=Path, nargs="+", required=True, metavar="DIR", help="folders (or files) of motion")
    train.add_argument("--out", type=Path, required=True, metavar="FOLDER",
                       help="bundle folder to write, e.g. models/kmeans-9-body")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--entropy-guided", action="store_true",
                       help="RQ-VAE only: Gumbel soft assignment with an entropy loss towards uniform code usage")
    train.set_defaults(func=run_train_codec)

    evaluate = commands.add_parser(
        "evaluate-codecs",
        help="rate-distortion table and plot of the codec bundles on the held-out split",
        description="Encode and decode the held-out takes under the data folders with each codec bundle and "
        "write the rate-distortion report (markdown) and its plot (PNG, beside the report).",
    )
    evaluate.add_argument("--data", type=Path, nargs="+", required=True, metavar="DIR", help="folders (or files) of motion")
    evaluate.add_argument("--codecs", nargs="+", default=None, metavar="NAME",
                          help="codec names, e.g. kmeans-9 rqvae-9 (default: every bundle)")
    evaluate.add_argument("--out", type=Path, required=True, metavar="REPORT.md", help="markdown report to write")
    evaluate.add_argument("--plot", type=Path, default=None, metavar="PLOT.png",
                          help="plot to write (default: beside the report, REPORT_rd.png)")
    evaluate.add_argument("--models", type=Path, default=None, metavar="DIR", help=models_help)
    evaluate.set_defaults(func=run_evaluate_codecs)

    encode = commands.add_parser(
        "encode",
        help="code a motion file into tokens per part and write them with the decoded motion",
        description="Read an SMPL-X .npz or a BVH, code each part (body, hands) with the codec NAME at 30 fps, "
        "and write a tokens file: the decoded motion in the BEAT2 .npz layout plus tokens_body, tokens_hands, "
        "codec and token_fps.",
    )
    encode.add_argument("file", type=Path, metavar="MOTION", help="input motion: .npz or .bvh")
    encode.add_argument("--codec", required=True, metavar="NAME", help="codec name, e.g. kmeans-6 or rqvae-12")
    encode.add_argument("--out", type=Path, required=True, metavar="OUT.npz", help="tokens file to write")
    encode.add_argument("--models", type=Path, default=None, metavar="DIR", help=models_help)
    encode.set_defaults(func=run_encode)

    decode = commands.add_parser(
        "decode",
        help="decode a tokens file into motion",
        description="Decode the tokens in a tokens file (made by encode) with the codec bundles it names; the "
        "root orientation, translation and face come from the file. Writes .npz (BEAT2 layout) or .bvh.",
    )
    decode.add_argument("file", type=Path, metavar="TOKENS.npz", help="tokens file")
    decode.add_argument("--out", type=Path, required=True, metavar="OUT",
                        help="motion file to write; its suffix (.npz, .bvh, .blend, .fbx) picks the format")
    decode.add_argument("--models", type=Path, default=None, metavar="DIR", help=models_help)
    add_rig_argument(decode)
    decode.set_defaults(func=run_decode)

    listing = commands.add_parser(
        "codecs",
        help="list the codec bundles",
        description="List the codec bundles (verified): name, part, family, bits per frame and per second "
        "(from the manifest), codebook size (k, or D x Q) and size on disk.",
    )
    listing.add_argument("--models", type=Path, default=None, metavar="DIR", help=models_help)
    listing.set_defaults(func=run_codecs)


def run_train_codec(args: argparse.Namespace) -> int:
    from .core.codecs.training.train import train_codec

    if args.entropy_guided and args.family != "rqvae":
        raise MotionTokensError("--entropy-guided is an option of the RQ-VAE codebooks; leave it out for k-means")
    bundle = train_codec(args.family, args.bits, args.part, args.data, args.out, seed=args.seed,
                         entropy_guided=args.entropy_guided, progress=lambda line: print(line, flush=True))
    print(f"{bundle.folder}: {bundle.name} {bundle.manifest['part']}, {bundle.bits_per_frame():g} bits/frame")
    return 0


def run_evaluate_codecs(args: argparse.Namespace) -> int:
    from .core.codecs.evaluation.report import summary_lines
    from .core.codecs.evaluation.run import evaluate_codecs

    if args.out.suffix.lower() != ".md":
        raise OutputError(f"{args.out}: the report is markdown; give it a .md suffix")
    report = evaluate_codecs(args.data, args.codecs, args.models, args.out, args.plot,
                             progress=lambda line: print(line, flush=True))
    print("\n".join(summary_lines(report)))
    return 0


def run_encode(args: argparse.Namespace) -> int:
    from .core.codecs.coding import encode_parts, part_rmse_cm, write_encoded
    from .core.codecs.registry import installed_parts

    if args.out.suffix.lower() != ".npz":
        raise OutputError(f"{args.out}: a tokens file is an .npz; give the output a .npz suffix")
    parts = installed_parts(args.codec, args.models)
    motion = read_smplx_motion(args.file, None, None)
    encoded = encode_parts(motion, {part: args.codec for part in parts}, args.models)
    write_encoded(args.out, encoded)
    rmse = part_rmse_cm(motion, encoded.decoded, parts)
    print(f"{args.out}: {encoded.decoded.num_frames} frames at {encoded.decoded.fps:g} fps coded with {args.codec}")
    for part in parts:
        codec, tokens = encoded.codecs[part], encoded.tokens[part]
        print(f"  {part}: tokens {tokens.shape}, {codec.size_label}, {codec.bits_per_frame:g} bits/frame = "
              f"{codec.bits_per_second:g} bits/s, joint position RMSE {rmse[part]:.2f} cm")
    return 0


def run_decode(args: argparse.Namespace) -> int:
    from .core.codecs.coding import decoded_motion, load_tokens_codecs
    from .core.formats.tokens import read_tokens_file

    if args.out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise OutputError(f"{args.out}: unknown output type {args.out.suffix or '(no suffix)'!r}; "
                          f"use one of {', '.join(OUTPUT_SUFFIXES)}")
    layout = rig_for_output(args.out, args.rig)
    tokens_file = read_tokens_file(args.file)
    codecs = load_tokens_codecs(tokens_file, args.models)
    motion = decoded_motion(tokens_file, codecs)
    bundles = ", ".join(f"{c.name}-{part}" for part, c in codecs.items())
    print(f"{write_rig_output(args.out, motion, layout)}, decoded with {bundles}")
    return 0


def run_codecs(args: argparse.Namespace) -> int:
    from .core.codecs.registry import MODELS_DIR, available_codecs

    infos = available_codecs(args.models)
    if not infos:
        print(f"no codec bundles in {MODELS_DIR if args.models is None else args.models}")
        return 0
    sizes = [sum(f.stat().st_size for f in info.folder.iterdir() if f.is_file()) for info in infos]
    print(f"{'name':<10} {'part':<6} {'family':<7} {'bits/frame':>10} {'bits/s':>7} {'codebook':<12} {'size':>9}")
    for info, size in zip(infos, sizes):
        print(f"{info.name:<10} {info.part:<6} {info.family:<7} {info.bits_per_frame:>10g} "
              f"{info.bits_per_second:>7g} {info.size:<12} {size / 1024:>6.0f} KiB")
    print(f"{len(infos)} bundles, {sum(sizes) / 2**20:.1f} MiB in {infos[0].folder.parent}")
    return 0


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
