"""Code usage as pictures: a raster histogram drawn with numpy (what the Inspector panel shows
as a Blender image) and a matplotlib PNG of the same bars with axes and figures (Save PNG).

Both draw one bar per code of one level, in a display order (core.inspect.usage.usage_order:
by id, or most used first), the bar's height its count against the most used code's; codes
never used get no bar and a red mark under the baseline, so they stand out even among
thousands.

The raster (`histogram_pixels`) is (H, W, 4) float32 RGBA in [0, 1], top row first: bars of
`bar_px` pixels (the widest that fits `width` for the codebook, 1 pixel for more codes than
`width`: a 4096-code codebook is 4096 pixels wide, so no code is merged with another), a
1-pixel gap between bars where they are 3 pixels or wider, light guide lines at a quarter,
half and three quarters of the tallest bar, the baseline, and the band of unused marks below
it. A code used at all gets at least one pixel of bar, so rare codes are not drawn as unused.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..formats.atomic import write_atomically
from .usage import UsageStats

#: Raster size: bars fill `HIST_WIDTH` pixels for up to that many codes; `HIST_HEIGHT` rows.
HIST_WIDTH = 512
HIST_HEIGHT = 200
_TOP, _BAND, _GAP = 6, 12, 3  # rows: above the tallest bar, the unused band, between them
_WHITE = (1.0, 1.0, 1.0, 1.0)
_BAR = (0.12, 0.37, 0.75, 1.0)
_GUIDE = (0.88, 0.88, 0.88, 1.0)
_BASE = (0.35, 0.35, 0.35, 1.0)
_USED_BAND = (0.93, 0.93, 0.93, 1.0)
_UNUSED = (0.84, 0.15, 0.16, 1.0)


def _order(counts: np.ndarray, order) -> np.ndarray:
    """`order` checked as a permutation of the codes (None: by id)."""
    if order is None:
        return np.arange(len(counts))
    order = np.asarray(order, dtype=np.int64)
    if order.shape != counts.shape or not np.array_equal(np.sort(order), np.arange(len(counts))):
        raise ValueError(f"the display order must list each of the {len(counts)} codes once")
    return order


def bar_width(num_codes: int, width: int = HIST_WIDTH) -> int:
    """Pixels per bar: the widest that fits `width`, at least 1."""
    return max(1, width // max(int(num_codes), 1))


def histogram_pixels(counts, order=None, width: int = HIST_WIDTH, height: int = HIST_HEIGHT) -> np.ndarray:
    """(height, K x bar_width(K, width), 4) float32 RGBA, top row first: the usage histogram of
    (K,) `counts` in display `order` (module docstring). ValueError for counts that are not
    (K,) non-negative integers, an order that is not a permutation, or a height under 32."""
    c = np.asarray(counts)
    if c.ndim != 1 or c.size == 0 or c.dtype.kind not in "iu" or (c < 0).any():
        raise ValueError(f"code counts must be (K,) non-negative integers, got {c.dtype} {c.shape}")
    if height < 32:
        raise ValueError(f"the histogram needs at least 32 rows, got {height}")
    shown = c[_order(c, order)].astype(np.int64)
    bw = bar_width(len(shown), width)
    W = len(shown) * bw
    bars_h = height - _TOP - _GAP - _BAND - 1  # rows the tallest bar takes (the baseline below it)
    top = max(int(shown.max()), 1)
    # Bar heights in rows: at least one for any use, so a rare code never reads as unused.
    heights = np.where(shown > 0, np.maximum(1, np.rint(shown / top * bars_h)), 0).astype(np.int64)
    column_code = np.arange(W) // bw
    is_bar_column = np.ones(W, dtype=bool) if bw < 3 else (np.arange(W) % bw) != bw - 1

    img = np.empty((height, W, 4), dtype=np.float32)
    img[:] = _WHITE
    base_row = _TOP + bars_h  # the baseline, just under the bars
    for fraction in (0.25, 0.5, 0.75):
        img[base_row - int(round(fraction * bars_h))] = _GUIDE
    rows = np.arange(height)[:, None]
    bar = (rows < base_row) & (rows >= base_row - heights[column_code][None, :]) & is_bar_column[None, :]
    img[bar] = _BAR
    img[base_row] = _BASE
    band = slice(base_row + 1 + _GAP, base_row + 1 + _GAP + _BAND)
    unused_column = (shown[column_code] == 0) & is_bar_column
    img[band] = _USED_BAND
    img[band, unused_column] = _UNUSED
    return img


def write_usage_png(path: str | os.PathLike, stats: UsageStats, order, title: str,
                    level_lines: list[str] | None = None) -> Path:
    """Write the usage of one level as a PNG bar chart with matplotlib (Agg, no pyplot): each
    code's share of the rows (%) in display `order`, unused codes marked red under the axis,
    `title` and the figures (usage %, perplexity, entropy; `level_lines`, one per level, when
    given) above it; the path. OutputError when it cannot be written (core.formats.atomic)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    order = _order(stats.counts, order)
    share = stats.share_percent[order]
    K = len(order)
    lines = [title] + (level_lines or [stats.line()])
    fig = Figure(figsize=(9.0, 3.2 + 0.16 * len(lines)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.07, 0.16, 0.91, 0.8 - 0.045 * len(lines)))
    x = np.arange(K)
    ax.bar(x, share, width=0.85 if K <= 256 else 1.0, color="#1f5fbf", linewidth=0)
    unused = np.flatnonzero(stats.counts[order] == 0)
    low = -0.04 * max(float(share.max()), 1e-9)
    ax.scatter(x[unused], np.full(len(unused), low), marker="|", color="#d62728", s=40, linewidths=1.2,
               label=f"never used ({len(unused)})", clip_on=False)
    ax.set_xlim(-0.6, K - 0.4)
    ax.set_ylim(2 * low, max(float(share.max()), 1e-9) * 1.08)
    ax.set_ylabel("share of rows (%)")
    if K <= 64:  # each bar labelled with its code id
        ax.set_xticks(x, [str(code) for code in order], fontsize=6, rotation=90)
        ax.set_xlabel("code id")
    else:
        ticks = np.linspace(0, K - 1, 9).round().astype(int)
        ax.set_xticks(ticks, [f"{t}\n(id {order[t]})" for t in ticks], fontsize=7)
        ax.set_xlabel("position in the order shown (code id below)")
    if len(unused):
        ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.text(0.01, 0.99, "\n".join(lines), ha="left", va="top", fontsize=8, family="monospace")
    return write_atomically(path, lambda f: fig.savefig(f, format="png"))
