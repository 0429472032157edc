"""The tokens export and import jobs: a tokens file out to `.json`, `.jsonl` or `.npy` for
language-model work, and such a file (exported, or written by a model) back in, decoded
with the installed bundles onto a rig (core/formats/token_export.py gives the layouts).

Import writes `.npz` as a tokens file (the decoded motion and the tokens, codec names,
codebook records and rates, so export -> import -> export gives the same tokens and the
same export), and `.bvh`, `.blend`, `.fbx` through the decode job's sink (outputs.FileSink).
A part whose recorded codebook (weights sha256, family, size) is not the installed bundle's
is refused unless accept_other_codebook: tokens index one codebook only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.codecs.coding import decode_parts_steps, load_tokens_codecs
from ..core.formats.token_export import EXPORT_SUFFIXES, export_files, read_token_export, write_token_export
from ..core.formats.tokens import read_tokens_file, write_tokens_file
from ..core.motion import Motion
from ..core.steps import Progress, Steps, run_steps
from .outputs import FileSink, check_suffix, refuse_output_onto_input


@dataclass(frozen=True)
class TokensExportOptions:
    """tokens: the tokens file (made by encode or generate); out: the export, its suffix
    (.json, .jsonl, .npy) the format; with_side_information: False writes the tokens and
    their header only (importing then decodes with the root at the origin, at rest)."""

    tokens: str | os.PathLike
    out: str | os.PathLike
    with_side_information: bool = True


@dataclass
class TokensExportResult:
    files: list[Path]
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def export_tokens(options: TokensExportOptions) -> TokensExportResult:
    """Write the tokens file `options.tokens` as the export `options.out`. OutputError for an
    unknown suffix or an output that is the input (checked before reading); the tokens file's
    own errors (read_tokens_file; LayoutError for a part without a codebook record)."""
    out = Path(options.out)
    check_suffix(out, EXPORT_SUFFIXES)
    refuse_output_onto_input(out, [options.tokens])
    refuse_output_onto_input(export_files(out)[-1], [options.tokens])  # an .npy's header too
    tokens_file = read_tokens_file(options.tokens)
    files = write_token_export(out, tokens_file, options.with_side_information)
    parts = ", ".join(f"{part} {tuple(t.shape)} at {tokens_file.fps_of(part):g}/s"
                      for part, t in tokens_file.tokens.items())
    side = "with" if options.with_side_information else "without"
    lines = [f"{files[0]}: {tokens_file.template.num_frames} frames at {tokens_file.token_fps:g} fps, tokens of {parts}, "
             f"{side} side information"]
    lines += [f"{extra}: its header" for extra in files[1:]]
    return TokensExportResult(files, lines)


@dataclass(frozen=True)
class TokensImportOptions:
    """source: an export (.json, .jsonl, .npy beside its .npy.json); out: .npz (a tokens
    file), .bvh, .blend or .fbx; rig: the skeleton of .bvh/.blend/.fbx output (smplx, a
    shipped layout or a bone map; .npz is SMPL-X); models_dir: None for the extension's
    models/; accept_other_codebook: decode (with a warning) even where an installed bundle is
    not the codebook the export records."""

    source: str | os.PathLike
    out: str | os.PathLike
    rig: str = "smplx"
    models_dir: str | os.PathLike | None = None
    accept_other_codebook: bool = False
    frame_start: int = 1


@dataclass
class TokensImportResult:
    motion: Motion
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


_NO_SIDE_INFORMATION = ("carries no side information (exported tokens-only): decoded with the root at the origin, "
                        "every uncoded joint at rest, no body shape and no expressions beyond the coded parts")


def import_tokens_steps(options: TokensImportOptions, write_scene: Callable | None = None) -> Steps:
    """The import as steps (core.steps): check the output (suffix, rig, not an input file)
    before reading, read and check the export, load and check the bundles it names
    (load_tokens_codecs: LayoutError naming the export for a bundle not installed, another
    rate, or a codebook that is not the recorded one unless accept_other_codebook), decode
    each part a slice at a time, write; Progress counts frames; the TokensImportResult.
    write_scene: the scene writer for .blend/.fbx (scene.outputs.write_scene_file)."""
    out = Path(options.out)
    sink = FileSink(out, options.rig, options.frame_start, write_scene)
    sink.check(export_files(options.source))
    warnings: list[str] = []
    tokens_file, codecs, motion = yield from decoded_tokens_steps(options.source, options.models_dir,
                                                                  options.accept_other_codebook, warnings)
    bundles = ", ".join(f"{c.name}-{part}" for part, c in codecs.items())
    if out.suffix.lower() == ".npz":
        write_tokens_file(out, motion, tokens_file.tokens, tokens_file.codec_names, tokens_file.token_fps,
                          tokens_file.codebooks, tokens_file.part_token_fps, tokens_file.seam_frames)
        shapes = ", ".join(f"{part} {tuple(t.shape)}" for part, t in tokens_file.tokens.items())
        return TokensImportResult(motion, [f"{out}: tokens file with {motion.num_frames} frames at {motion.fps:g} fps, "
                                           f"tokens of {shapes}, decoded with {bundles}"], warnings)
    written = sink.write(motion)
    lines = written.lines[:-1] + [f"{written.lines[-1]}, decoded with {bundles}"]
    return TokensImportResult(motion, lines, warnings + written.warnings)


def decoded_tokens_steps(source, models_dir, accept_other_codebook: bool, warnings: list[str]) -> Steps:
    """Read an export (.json, .jsonl, .npy) or a tokens file (.npz), load and check the bundles
    it names (load_tokens_codecs), decode each part a slice at a time, smooth the seams of
    generated motion as generate did; Progress counts frames, the last step announcing the
    writing; (the TokensFile, the codecs, the decoded 30 fps motion). What the reader should
    know goes into `warnings` (an export without side information, another codebook accepted)."""
    yield Progress(0, 1, f"reading {Path(source).name}")
    if Path(source).suffix.lower() == ".npz":
        tokens_file = read_tokens_file(source)
    else:
        export = read_token_export(source)
        tokens_file = export.tokens_file
        if not export.carries_side_information:
            warnings.append(f"{tokens_file.path}: {_NO_SIDE_INFORMATION}")
    codecs = load_tokens_codecs(tokens_file, models_dir, accept_other_codebook, warnings)
    n, parts = tokens_file.template.num_frames, len(tokens_file.tokens)
    motion = yield from decode_parts_steps(tokens_file.tokens, codecs, tokens_file.template, n, (parts + 2) * n)
    if tokens_file.seam_frames:  # generated motion: smoothed where its windows met, as generate did
        from ..core.inertialization import smoothed_at_seams

        motion = smoothed_at_seams(motion, tokens_file.seam_frames)
    yield Progress((parts + 1) * n, (parts + 2) * n, f"writing {motion.num_frames} frames")
    return tokens_file, codecs, motion


@dataclass(frozen=True)
class TokensToArmatureOptions:
    """source: an export (.json, .jsonl, .npy) or a tokens file (.npz); the rest as for
    TokensImportOptions."""

    source: str | os.PathLike
    models_dir: str | os.PathLike | None = None
    accept_other_codebook: bool = False


def import_tokens_to_armature_steps(options: TokensToArmatureOptions, sink) -> Steps:
    """Tokens decoded onto an armature: `decoded_tokens_steps`, then `sink(motion,
    tokens_file)` (steps keying the motion as a new action and keeping the tokens on it:
    scene.token_actions.TokensArmatureTarget; its result has `action`, `armature`,
    `frame_start`, `frame_end`, `warnings`); a TokensImportResult whose line says where."""
    warnings: list[str] = []
    tokens_file, codecs, motion = yield from decoded_tokens_steps(options.source, options.models_dir,
                                                                  options.accept_other_codebook, warnings)
    written = yield from sink(motion, tokens_file)
    bundles = ", ".join(f"{c.name}-{part}" for part, c in codecs.items())
    line = (f"Imported the tokens of {Path(options.source).name} ({motion.num_frames} frames at {motion.fps:g} fps) "
            f"as action '{written.action.name}' on '{written.armature.name}', frames {written.frame_start}-"
            f"{written.frame_end}, decoded with {bundles}")
    return TokensImportResult(motion, [line], warnings + list(written.warnings))


def import_tokens(options: TokensImportOptions, write_scene: Callable | None = None) -> TokensImportResult:
    """`import_tokens_steps` run to the end; the TokensImportResult."""
    return run_steps(import_tokens_steps(options, write_scene))
