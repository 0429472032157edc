"""The atlas job: a codec's codebook as a contact sheet PNG of its poses, with code usage.

    result = make_atlas(AtlasOptions("kmeans-6", "body", Path("atlas.png"), usage_from=("take.npz",)))

What a code's pose is (k-means: its centroid; RQ-VAE: the decoder's steady state for a code
of one level alone, or for level-0 codes completed to real tokens) is core.inspect.codebook's;
the sheet is core.inspect.atlas_sheet's; usage (counts, usage %, perplexity, entropy) is
core.inspect.usage's, counted on tokens files, motion files coded on the fly, or the training
data the bundle records (core.inspect.sources). Every option is checked, and the output, before
anything is read: OptionError for an unknown part, sort, level or page; OutputError for an
output that is not a .png, sits in a missing or unwritable folder, or is one of the inputs;
MotionTokensError for a codec not installed for the part. Bad usage files raise the readers'
InputFileError naming the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.codecs.base import Codec
from ..core.codecs.registry import load_codec, require_codec_folder
from ..core.errors import OptionError, OutputError
from ..core.inspect.atlas_sheet import PER_PAGE, num_pages, page_of, write_atlas_sheet
from ..core.inspect.codebook import check_level, code_features, held_codes, is_residual
from ..core.inspect.sources import TRAINING_LABEL, file_tokens, training_usage, usage_files
from ..core.inspect.usage import UsageStats, code_usage_stats, usage_order
from ..core.parts import PARTS
from .outputs import refuse_output_onto_input

#: `usage_from` value that counts usage on the training data the bundle records.
TRAINING_USAGE = "training"
SORTS = ("usage", "id")


@dataclass(frozen=True)
class AtlasOptions:
    """codec: a codec name ('kmeans-6', 'rqvae4-9'); part: body, hands or face; out: the PNG;
    level: RQ-VAE level q alone, or None (k-means: its one level; RQ-VAE: level-0 codes as real
    token tuples); sort: 'usage' (most used first) or 'id', None for 'usage' when usage is
    counted and 'id' otherwise; page: 0-based page of PER_PAGE codes; usage_from: None (no
    usage), TRAINING_USAGE, or tokens files, motion files and folders of them; models_dir:
    None for the extension's models/."""

    codec: str
    part: str
    out: Path
    level: int | None = None
    sort: str | None = None
    page: int = 0
    usage_from: tuple | str | None = None
    models_dir: str | os.PathLike | None = None


@dataclass
class AtlasResult:
    """path: the PNG written; codes: the page's code ids in cell order; stats: the usage of
    the level shown (None without usage); level_stats: every level's; lines, warnings."""

    path: Path
    codes: np.ndarray
    stats: UsageStats | None
    level_stats: tuple[UsageStats, ...]
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def _check_options(options: AtlasOptions) -> tuple[Path, list[Path]]:
    """The output path and the usage files, after the checks that need no codec."""
    if options.part not in PARTS:
        raise OptionError(f"--part {options.part!r}: the parts are {', '.join(PARTS)}")
    if options.sort is not None and options.sort not in SORTS:
        raise OptionError(f"--sort {options.sort!r}: sort by {' or '.join(SORTS)}")
    if options.sort == "usage" and options.usage_from is None:
        raise OptionError("--sort usage needs usage to sort by: count it on files (--usage FILE_OR_DIR...) or on "
                          "the training data (--training-usage), or sort by id")
    if isinstance(options.page, bool) or not isinstance(options.page, (int, np.integer)) or options.page < 0:
        raise OptionError(f"--page {options.page!r}: pages are numbered from 0")
    out = Path(options.out)
    if out.suffix.lower() != ".png":
        raise OutputError(f"{out}: the atlas is a PNG image; give the output a .png suffix")
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; give the PNG file to write")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{out}: the folder {folder} does not exist; make it first")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{out}: the folder {folder} is not writable")
    sources = options.usage_from
    if isinstance(sources, (str, os.PathLike)) and sources != TRAINING_USAGE:
        sources = (sources,)  # one path, not its characters
    files = [] if sources in (None, TRAINING_USAGE) else usage_files(sources)
    refuse_output_onto_input(out, files)
    return out, files


def _usage(options: AtlasOptions, codec: Codec, files: list[Path], warnings: list[str]) -> tuple[tuple, str]:
    """(one UsageStats per level, or () without usage; the words for where it was counted)."""
    if options.usage_from is None:
        return (), ""
    if options.usage_from == TRAINING_USAGE:
        return training_usage(codec), TRAINING_LABEL
    tokens = [file_tokens(path, codec, warnings) for path in files]
    stats = code_usage_stats(np.concatenate(tokens), codec.codebook_size)
    names = files[0].name if len(files) == 1 else f"{len(files)} files"
    return stats, names


def _what(codec: Codec, level: int | None) -> str:
    """What the cells show, for the header."""
    if not is_residual(codec):
        return "each code's centroid"
    how = "decoded as a constant latent sequence (the decoder's steady state)"
    if level is not None:
        return f"level {level}'s codes alone (the other levels zero), {how}"
    held = ", ".join(f"{q + 1}:{c}" for q, c in enumerate(held_codes(codec)))
    return f"level-0 codes as token tuples, levels {held} held (the encoder's tokens for the code alone), {how}"


def _header(codec: Codec, level: int | None, shown: UsageStats | None, where: str, sort: str,
            page: int, codes: np.ndarray) -> str:
    """The sheet's header: codec, part, level, what the cells show; page and order; usage."""
    levels = "" if not is_residual(codec) else f", level {'0 (tuples)' if level is None else level} of {codec.Q}"
    first = (f"{codec.name}-{codec.part}: {codec.family_label} {codec.size_label}, {codec.bits_per_frame:g} bits/frame"
             f"{levels}; page {page + 1} of {num_pages(codec.codebook_size)}, {len(codes)} codes sorted by {sort}")
    usage = f"usage on {where}: {shown.line()}" if shown is not None else "usage: not counted"
    return "\n".join([first, _what(codec, level), usage])


def make_atlas(options: AtlasOptions) -> AtlasResult:
    """Write the atlas PNG of `options` (module docstring); the AtlasResult."""
    out, files = _check_options(options)
    codec = load_codec(require_codec_folder(options.codec, options.part, options.models_dir))
    level = check_level(codec, options.level)
    K = codec.codebook_size
    if options.page >= num_pages(K):
        raise OptionError(f"--page {options.page}: codec {codec.name} ({codec.part}) has {K} codes a level, "
                          f"{num_pages(K)} page(s) of {PER_PAGE} (pages count from 0)")
    warnings: list[str] = []
    level_stats, where = _usage(options, codec, files, warnings)
    shown = level_stats[level or 0] if level_stats else None
    sort = options.sort or ("usage" if shown is not None else "id")
    codes = page_of(usage_order(shown, K, sort), options.page)
    features = code_features(codec, level)[codes]
    shares = None if shown is None else shown.share_percent[codes]
    unused = None if shown is None else shown.counts[codes] == 0
    header = _header(codec, level, shown, where, sort, options.page, codes)
    write_atlas_sheet(out, features, codec.part, codes, header, shares, unused)
    lines = [f"{out}: atlas of {codec.name}-{codec.part}, codes {', '.join(map(str, codes[:8]))}"
             f"{', ...' if len(codes) > 8 else ''} ({len(codes)} of {K}, sorted by {sort})"]
    if shown is not None:
        for q, stats in enumerate(level_stats):
            label = "" if len(level_stats) == 1 else f"level {q}: "
            lines.append(f"  {label}{stats.line()}")
        if len(shown.unused):
            listed = ", ".join(map(str, shown.unused[:32])) + (", ..." if len(shown.unused) > 32 else "")
            lines.append(f"  never used{'' if len(level_stats) == 1 else f' (level {level or 0})'}: {listed}")
        if shown.rows < K:
            warnings.append(f"usage counted on {shown.rows} rows of tokens for {K} codes: too few to tell rare "
                            "codes from unused ones")
    return AtlasResult(out, codes, shown, level_stats, lines, warnings)
