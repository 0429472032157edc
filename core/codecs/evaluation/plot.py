"""The evaluation's plot: per part, its figure against bits per frame (matplotlib, PNG).

Bits per frame are the per-frame equivalent (bits per second / fps), so a downsampled RQ-VAE
(one latent per several frames) sits at the bitrate it costs, on a curve of its own."""

from __future__ import annotations

import textwrap

from pathlib import Path
from typing import Sequence

from ...errors import OutputError
from ...parts import PARTS, get_part
from .figures import EvaluationRow
from .report import FAMILY_LABELS

#: The families drawn as curves, and their colours (the baseline is a dotted line).
_COLOURS = {"kmeans": "tab:blue", "rqvae": "tab:red"}
#: Downsampled variants of a family (more than one frame per latent).
_DOWNSAMPLED = {"rqvae": "tab:orange"}


def _series(rows: Sequence[EvaluationRow], part: str) -> list[tuple[str, str, list[EvaluationRow]]]:
    """(label, colour, rows by bitrate) per curve of `part`: per family and frames per latent."""
    out = []
    families = list(_COLOURS) + sorted({r.family for r in rows if r.family not in _COLOURS} - {"baseline"})
    for fam in families:
        colour = _COLOURS.get(fam, _DOWNSAMPLED["rqvae"])
        for fpl in sorted({r.frames_per_latent for r in rows if r.part == part and r.family == fam}):
            series = sorted((r for r in rows if r.part == part and r.family == fam and r.frames_per_latent == fpl),
                            key=lambda r: r.bits_per_frame)
            label = FAMILY_LABELS.get(fam, fam) + (f", 1 latent / {fpl} frames" if fpl > 1 else "")
            out.append((label, colour if fpl == 1 else _DOWNSAMPLED.get(fam, colour), series))
    return out


def axis_label(part: str) -> str:
    """The y label of `part`'s panel: its headline figure and unit (cm for the `*_cm` figures;
    the face's expression coefficients have none)."""
    spec = get_part(part)
    return f"{spec.headline_label} (cm)" if spec.headline.endswith("_cm") else f"{spec.headline_label}, no unit"


def _panel(ax, part: str, rows: Sequence[EvaluationRow]) -> None:
    """One part: each curve held-out (solid) and in-sample (dashed), the baseline dotted."""
    for label, colour, fam_rows in _series(rows, part):
        x = [r.bits_per_frame for r in fam_rows]
        ax.plot(x, [r.part_rmse_cm for r in fam_rows], "o-", color=colour, label=f"{label} held-out")
        ax.plot(x, [r.part_rmse_in_sample_cm for r in fam_rows], "s--", color=colour, alpha=0.6,
                label=f"{label} in-sample")
    for r in rows:
        if r.part == part and r.family == "baseline":
            ax.axhline(r.part_rmse_cm, color="grey", linestyle=":", label="training mean pose (0 bits), held-out")
    ax.set_title(f"{part} codecs")
    ax.set_xlabel("bits per frame (bits per second / 30)")
    ax.set_ylabel(textwrap.fill(axis_label(part), 34))  # the face's label is longer than its panel
    ax.set_xticks(sorted({r.bits_per_frame for r in rows if r.part == part and r.family != "baseline"}))
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)


def write_plot(path: Path, rows: Sequence[EvaluationRow]) -> Path:
    """PNG at `path`: per part, the part's RMSE against bits/frame per family. Returns `path`;
    OutputError when it cannot be written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = [p for p in PARTS if any(r.part == p for r in rows)]
    fig, axes = plt.subplots(1, len(parts), figsize=(5.5 * len(parts), 4.2), squeeze=False)
    for ax, part in zip(axes[0], parts):
        _panel(ax, part, rows)
    # One legend under the panels, so it never hides a curve; labels shared by the panels once.
    labels = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labels.setdefault(label, handle)
    fig.legend(list(labels.values()), list(labels), loc="lower center", ncol=min(len(labels), 5), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise OutputError(f"cannot write the plot {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path
