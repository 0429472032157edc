"""The Inspector's jobs: a codec's codebook laid out in Blender (an atlas action with one code
per frame; pages of posed figures) and the usage of its codes as a histogram. bpy-free: the
armatures are handed in by the operators (scene.inspect, scene.atlas_grid).

    view = codebook_view(InspectOptions("kmeans-6", "body", sort="usage", usage=TRAINING_USAGE))
    view.order[0]             # the most used code: frame 1 of the atlas action, cell 0 of page 0
    view.features()           # (K, F) its poses in that order (core.inspect.codebook)
    view.motion(24.0)         # K frames of SMPL-X motion at 24 fps, one code a frame

What a code's pose is (k-means: its centroid; RQ-VAE: the decoder's steady state for a level's
codes alone, or for level-0 codes completed to real token tuples, `level=None`) is
core.inspect.codebook's. The tokens that decode to those poses are kept with the view
(`view.tokens`): k-means the ids, RQ-VAE with `level=None` the token tuples (decoded by
core.inspect.codebook.sum_of_codes_features); a level alone has none (its codes alone, the
other levels zero, are no token). Usage is counted on tokens kept on an action (`HeldTokens`,
read by scene.inspect.held_tokens) or the training data the bundle records (TRAINING_USAGE).

Sinks: `write_steps(view)` -> steps keying `view.motion` as a new action, their result having
`.action`, `.armature`, `.frame_start` and `.frame_end` (scene.inspect.AtlasActionTarget);
`build(view, page)` -> the page's collection (scene.atlas_grid.AtlasGrid).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from ..core.codecs.base import Codec
from ..core.codecs.coding import codebook_record
from ..core.codecs.features import CODEC_FPS, with_part_features
from ..core.codecs.registry import load_codec, require_codec_folder
from ..core.errors import MotionTokensError, OptionError, OutputError
from ..core.inspect.atlas_sheet import PER_PAGE, num_pages, page_of
from ..core.inspect.codebook import check_level, code_features, code_tuples, is_residual
from ..core.inspect.sources import TRAINING_LABEL, training_usage
from ..core.inspect.usage import HeldTokens, UsageStats, code_usage_stats, usage_order
from ..core.inspect.usage_figure import histogram_pixels, write_usage_png
from ..core.motion import Motion
from ..core.parts import PARTS
from ..core.skeleton import smplx_skeleton
from ..core.steps import Progress, Steps
from .atlas import TRAINING_USAGE

SORTS = ("usage", "id")
__all__ = ["PER_PAGE", "SORTS", "TRAINING_USAGE", "CodebookView", "HeldTokens", "InspectOptions", "InspectResult",
           "UsageResult", "atlas_action_steps", "atlas_grid", "code_usage", "codebook_view", "save_usage_png"]


@dataclass(frozen=True)
class InspectOptions:
    """codec: a codec name ('kmeans-6'); part: body, hands or face; level: an RQ-VAE level
    alone, or None (k-means: its one level; RQ-VAE: level-0 codes as token tuples); sort:
    'usage' (most used first) or 'id'; usage: None, TRAINING_USAGE or HeldTokens;
    smplx_model_folder: None for the approximate SMPL-X rest joints; models_dir: None for the
    extension's models/."""

    codec: str
    part: str
    level: int | None = None
    sort: str = "id"
    usage: HeldTokens | str | None = None
    smplx_model_folder: str | os.PathLike | None = None
    models_dir: str | os.PathLike | None = None


@dataclass
class CodebookView:
    """A codebook level in display order. order: (K,) code ids; tokens: (K,) or (K, Q) the
    tokens of each (module docstring), None for an RQ-VAE level alone; stats: the usage of the
    level shown (None without usage), level_stats every level's; where: what it was counted on."""

    codec: Codec
    level: int | None
    sort: str
    order: np.ndarray
    tokens: np.ndarray | None
    stats: UsageStats | None
    level_stats: tuple
    where: str
    skeleton: object = None

    @property
    def label(self) -> str:
        """'kmeans-6-body'."""
        return f"{self.codec.name}-{self.codec.part}"

    @property
    def num_codes(self) -> int:
        return len(self.order)

    @property
    def level_label(self) -> str:
        """'' (k-means), 'level 1 alone' or 'all levels' (RQ-VAE)."""
        if not is_residual(self.codec):
            return ""
        return "all levels" if self.level is None else f"level {self.level} alone"

    def code_name(self, code: int) -> str:
        """'kmeans-6-body code 017 (3.1%)': the code id zero-padded to the codebook's width
        (at least 3 digits, so names sort by id), with its share of the usage when counted."""
        digits = max(3, len(str(self.codec.codebook_size - 1)))
        level = f" L{self.level}" if self.level is not None and is_residual(self.codec) else ""
        share = "" if self.stats is None else f" ({self.stats.share_percent[code]:.1f}%)"
        return f"{self.label}{level} code {int(code):0{digits}d}{share}"

    def page_positions(self, page: int) -> np.ndarray:
        """The positions in `order` (0-based) on page `page` of PER_PAGE; OptionError past the end."""
        pages = num_pages(self.num_codes)
        if isinstance(page, bool) or not isinstance(page, (int, np.integer)) or not 0 <= page < pages:
            raise OptionError(f"page {page!r}: {self.label} has {self.num_codes} codes a level, {pages} page(s) of "
                              f"{PER_PAGE} (pages count from 0)")
        return page_of(np.arange(self.num_codes), int(page))

    @cached_property
    def _features(self) -> np.ndarray:
        return code_features(self.codec, self.level)[self.order]

    def features(self) -> np.ndarray:
        """(K, F) float32: each code's pose (part features) in display order."""
        return self._features

    def motion(self, fps: float, positions=None) -> Motion:
        """SMPL-X motion at `fps`, one frame per code (of `positions` in the order, default all):
        every joint at rest but the part's, which take the code's pose; the root at the origin.
        Its frames are the codes as they are, not resampled: frame i is code order[i] at any rate."""
        features = self.features() if positions is None else self.features()[positions]
        skeleton = self.skeleton or smplx_skeleton()
        n = len(features)
        rotations = np.zeros((n, skeleton.num_joints, 4))
        rotations[..., 0] = 1.0
        rest = Motion(skeleton, CODEC_FPS, rotations, np.zeros((n, 3)), name=f"{self.label} atlas")
        return replace(with_part_features(rest, self.codec.part, features), fps=float(fps))


def _held_usage(held: HeldTokens, codec: Codec) -> tuple[UsageStats, ...]:
    """Usage of tokens kept on an action, refused unless they index this codec's codebook."""
    if held.codec_name != codec.name:
        raise MotionTokensError(f"{held.where} keeps {codec.part} tokens of {held.codec_name}, not {codec.name}: they "
                                f"index another codebook; choose {held.codec_name} in the Codec panel")
    record = codebook_record(codec)
    if held.codebook is not None and held.codebook.sha256 != record.sha256:
        raise MotionTokensError(f"{held.where} keeps {codec.part} tokens of another {codec.name} codebook (its "
                                "weights differ from the installed bundle's); their codes mean other poses")
    try:
        tokens = codec.check_tokens(held.tokens)
    except ValueError as exc:
        raise MotionTokensError(f"{held.where}: its {codec.part} tokens {exc}") from None
    return code_usage_stats(tokens, codec.codebook_size)


def _usage(options: InspectOptions, codec: Codec) -> tuple[tuple, str]:
    if options.usage is None:
        return (), ""
    if options.usage == TRAINING_USAGE:
        return training_usage(codec), TRAINING_LABEL
    if isinstance(options.usage, HeldTokens):
        return _held_usage(options.usage, codec), options.usage.where
    raise OptionError(f"usage is counted on {TRAINING_USAGE!r} or tokens kept on an action, not {options.usage!r}")


def codebook_view(options: InspectOptions) -> CodebookView:
    """The codebook level of `options` in display order, with its usage (module docstring).
    OptionError for an unknown part, sort or level, or sorting by usage with none counted;
    MotionTokensError for a codec not installed for the part or held tokens of another codebook."""
    if options.part not in PARTS:
        raise OptionError(f"part {options.part!r}: the parts are {', '.join(PARTS)}")
    if options.sort not in SORTS:
        raise OptionError(f"sort {options.sort!r}: sort by {' or '.join(SORTS)}")
    if options.sort == "usage" and options.usage is None:
        raise OptionError("sorting by usage needs usage to sort by: count it on the active action's tokens or on "
                          "the training data, or sort by id")
    codec = load_codec(require_codec_folder(options.codec, options.part, options.models_dir))
    level = check_level(codec, options.level)
    if not is_residual(codec):
        level = None  # k-means has the one level: None and 0 are the same codes
    level_stats, where = _usage(options, codec)
    shown = level_stats[level or 0] if level_stats else None
    order = usage_order(shown, codec.codebook_size, options.sort)
    if not is_residual(codec):
        tokens = order.copy()
    else:
        tokens = code_tuples(codec)[order] if level is None else None
    folder = options.smplx_model_folder
    return CodebookView(codec, level, options.sort, order, tokens, shown, level_stats, where,
                        smplx_skeleton(model_folder=folder) if folder else None)


@dataclass
class InspectResult:
    """What an atlas job made (the sink's result), its view, the lines and warnings."""

    view: CodebookView
    made: object
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def _order_words(view: CodebookView) -> str:
    first = ", ".join(map(str, view.order[:6])) + (", ..." if view.num_codes > 6 else "")
    counted = f" on {view.where}" if view.stats is not None else ""
    return f"sorted by {view.sort}{counted}: {first}"


def atlas_action_steps(options: InspectOptions, sink) -> Steps:
    """The atlas action as steps: the view (module docstring), then the sink keys its motion,
    one code a frame from the first in display order; the InspectResult."""
    yield Progress(0, 2, "laying out the codebook")
    view = codebook_view(options)
    view.features()  # the decoding (RQ-VAE: every code through the decoder) before the scene changes
    yield Progress(1, 2, f"keying {view.num_codes} codes")
    made = yield from sink.write_steps(view)
    level = f" ({view.level_label})" if view.level_label else ""
    line = (f"Atlas of {view.label}{level}: action '{made.action.name}' on '{made.armature.name}', frames "
            f"{made.frame_start}-{made.frame_end}, one code a frame, {_order_words(view)}")
    return InspectResult(view, made, [line], list(getattr(made, "warnings", [])))


def atlas_grid(options: InspectOptions, page: int, sink) -> InspectResult:
    """Page `page` of the atlas as posed figures: the view, the page checked, then
    `sink.build(view, page)` (the collection); the InspectResult."""
    view = codebook_view(options)
    positions = view.page_positions(page)
    view.features()
    collection = sink.build(view, page)
    codes = view.order[positions]
    line = (f"Atlas page {page + 1} of {num_pages(view.num_codes)} of {view.label}: codes "
            f"{', '.join(map(str, codes[:6]))}{', ...' if len(codes) > 6 else ''} ({len(codes)} figures in "
            f"'{collection.name}'), {_order_words(view)}")
    return InspectResult(view, collection, [line])


@dataclass
class UsageResult:
    """The usage of a view's level: stats (shown level), level_stats, the display order,
    the histogram (H, W, 4) RGBA top row first, the PNG written (or None), lines, warnings."""

    view: CodebookView
    pixels: np.ndarray
    path: Path | None
    lines: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def stats(self) -> UsageStats:
        return self.view.stats


def usage_lines(view: CodebookView) -> list[str]:
    """The figures: where it was counted, each level's line, the never-used codes."""
    stats = view.stats
    lines = [f"Usage of {view.label} on {view.where}"]
    for q, level in enumerate(view.level_stats):
        label = "" if len(view.level_stats) == 1 else f"level {q}: "
        lines.append(f"{label}{level.line()}")
    if len(stats.unused):
        listed = ", ".join(map(str, stats.unused[:24])) + (", ..." if len(stats.unused) > 24 else "")
        shown = "" if len(view.level_stats) == 1 else f" (level {view.level or 0})"
        lines.append(f"never used{shown}: {listed}")
    else:
        lines.append("every code is used")
    return lines


def code_usage(options: InspectOptions, out: str | os.PathLike | None = None) -> UsageResult:
    """The usage of `options`' codebook level (its `usage` is required), its histogram, and
    with `out` a PNG of it (matplotlib). OptionError without usage; OutputError for an `out`
    that is not a .png or cannot be written."""
    if options.usage is None:
        raise OptionError("no usage source: count usage on the active action's tokens or the training data")
    if out is not None and Path(out).suffix.lower() != ".png":
        raise OutputError(f"{out}: the usage histogram is a PNG image; give the file a .png suffix")
    view = codebook_view(options)
    stats = view.stats
    pixels = histogram_pixels(stats.counts, view.order)
    lines = usage_lines(view)
    warnings = []
    if stats.rows < view.num_codes:
        warnings.append(f"usage counted on {stats.rows} rows of tokens for {view.num_codes} codes: too few to tell "
                        "rare codes from unused ones")
    path = None
    if out is not None:
        level = f" ({view.level_label})" if view.level_label else ""
        title = f"{view.label}{level}: code usage on {view.where}, sorted by {view.sort}"
        path = write_usage_png(out, stats, view.order, title, lines[1:])
        lines.append(f"saved {path}")
    return UsageResult(view, pixels, path, lines, warnings)


def save_usage_png(options: InspectOptions, out: str | os.PathLike) -> UsageResult:
    """`code_usage` with the PNG written to `out`."""
    return code_usage(options, out)
