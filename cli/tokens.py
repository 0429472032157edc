"""The tokens commands: `tokens export` (a tokens file to .json, .jsonl or .npy for
language-model work) and `tokens import` (such a file decoded back onto a rig)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..pipelines.tokens import TokensExportOptions, TokensImportOptions, export_tokens, import_tokens_steps
from ..scene.outputs import write_scene_file
from .common import add_models_argument, add_rig_argument, print_result, run_with_progress


def add_commands(commands) -> None:
    """The `tokens` command group: export, import."""
    tokens = commands.add_parser(
        "tokens",
        help="export motion tokens for language-model work (.json, .jsonl, .npy) and import them back",
        description="Move motion tokens between tokens files and files any language reads: `export` writes "
        "a tokens file's tokens, codec names, codebook sha256 and rates (and the side information decoding "
        "keeps) as .json, .jsonl (one record per row of tokens) or .npy (with its OUT.npy.json header); "
        "`import` decodes such a file with the installed bundles (see core/formats/token_export.py).",
    )
    actions = tokens.add_subparsers(dest="tokens_action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export", help="write a tokens file as .json, .jsonl or .npy",
        description="Write the tokens of a tokens file (made by encode or generate) as .json, .jsonl or .npy "
        "(plus OUT.npy.json), with each part's codec, codebook sha256, family and size, and rates.",
    )
    export.add_argument("file", type=Path, metavar="TOKENS.npz", help="tokens file")
    export.add_argument("--out", type=Path, required=True, metavar="OUT.{json,jsonl,npy}",
                        help="export to write; its suffix picks the format")
    export.add_argument("--tokens-only", action="store_true",
                        help="leave out the side information (root, translation, uncoded joints and expressions, body "
                        "shape): importing then decodes with the root at the origin, at rest")
    export.set_defaults(func=run_export)

    imported = actions.add_parser(
        "import", help="decode exported tokens into motion or a tokens file",
        description="Read exported tokens (.json, .jsonl, or .npy beside its .npy.json), decode them with the "
        "installed codec bundles they name and write .npz (a tokens file: the decoded motion and the tokens), "
        ".bvh, .blend or .fbx. Tokens whose recorded codebook is not the installed bundle's are refused.",
    )
    imported.add_argument("file", type=Path, metavar="FILE", help="exported tokens: .json, .jsonl or .npy")
    imported.add_argument("--out", type=Path, required=True, metavar="OUT",
                          help="file to write; its suffix (.npz, .bvh, .blend, .fbx) picks the format")
    add_rig_argument(imported)
    add_models_argument(imported)
    imported.add_argument("--accept-other-codebook", action="store_true",
                          help="decode even with an installed bundle that is not the codebook the file records "
                          "(another sha256 or size); warns, the motion may be wrong")
    imported.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    return print_result(export_tokens(TokensExportOptions(args.file, args.out, not args.tokens_only)))


def run_import(args: argparse.Namespace) -> int:
    options = TokensImportOptions(args.file, args.out, args.rig, args.models, args.accept_other_codebook)
    return print_result(run_with_progress(import_tokens_steps(options, write_scene_file), "tokens import"))
