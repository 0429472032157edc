"""The decode job: a tokens file decoded with the bundles it names, written to a sink."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..core.codecs.coding import decoded_motion, load_tokens_codecs
from ..core.formats.tokens import read_tokens_file
from ..core.motion import Motion


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


def decode(options: DecodeOptions, sink) -> DecodeResult:
    """Decode `options.tokens` and write the motion to `sink` (outputs.FileSink, checked
    before the file is read, and never the tokens file itself); the motion, the sink's lines ending in the bundles used, and its
    warnings."""
    sink.check([options.tokens])
    tokens_file = read_tokens_file(options.tokens)
    warnings: list[str] = []
    codecs = load_tokens_codecs(tokens_file, options.models_dir, options.accept_other_codebook, warnings)
    motion = decoded_motion(tokens_file, codecs)
    written = sink.write(motion)
    bundles = ", ".join(f"{c.name}-{part}" for part, c in codecs.items())
    lines = written.lines[:-1] + [f"{written.lines[-1]}, decoded with {bundles}"]
    return DecodeResult(motion, lines, warnings + written.warnings)
