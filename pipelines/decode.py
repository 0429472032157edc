"""The decode job: a tokens file decoded with the bundles it names, written to a sink."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.codecs.coding import decode_parts_steps, load_tokens_codecs
from ..core.formats.tokens import read_tokens_file
from ..core.motion import Motion
from ..core.steps import Progress, Steps, run_steps


@dataclass(frozen=True)
class DecodeOptions:
    """tokens: the tokens file (made by encode); models_dir: None for the extension's models/;
    accept_other_codebook: decode (with a warning) even where an installed bundle is not the
    codebook the file records, or the file records none."""

    tokens: str | os.PathLike
    models_dir: str | os.PathLike | None = None
    accept_other_codebook: bool = False


@dataclass
class DecodeResult:
    motion: Motion
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def decode_steps(options: DecodeOptions, sink) -> Steps:
    """The decode as steps (core.steps): read `options.tokens` and load the bundles
    it names, decode each part a slice of frames at a time, write the motion to `sink`
    (outputs.FileSink, checked before the file is read, and never the tokens file itself);
    Progress counts frames (the read one share, each part one, the writing one); returns the
    DecodeResult: the motion, the sink's lines ending in the bundles used, and its warnings."""
    sink.check([options.tokens])
    yield Progress(0, 1, f"reading {Path(options.tokens).name}")
    tokens_file = read_tokens_file(options.tokens)
    warnings: list[str] = []
    codecs = load_tokens_codecs(tokens_file, options.models_dir, options.accept_other_codebook, warnings)
    n, parts = tokens_file.template.num_frames, len(tokens_file.tokens)
    motion = yield from decode_parts_steps(tokens_file.tokens, codecs, tokens_file.template, n, (parts + 2) * n)
    if tokens_file.seam_frames:  # generated motion: smoothed where its windows met, as generate did
        from ..core.inertialization import smoothed_at_seams

        motion = smoothed_at_seams(motion, tokens_file.seam_frames)
    yield Progress((parts + 1) * n, (parts + 2) * n, f"writing {motion.num_frames} frames")
    written = sink.write(motion)
    bundles = ", ".join(f"{c.name}-{part}" for part, c in codecs.items())
    lines = written.lines[:-1] + [f"{written.lines[-1]}, decoded with {bundles}"]
    return DecodeResult(motion, lines, warnings + written.warnings)


def decode(options: DecodeOptions, sink) -> DecodeResult:
    """`decode_steps` run to the end; the DecodeResult."""
    return run_steps(decode_steps(options, sink))
