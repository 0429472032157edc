"""The evaluation's plot: per part, its figure against bits per frame (matplotlib, PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ...errors import OutputError
from ...parts import PARTS, get_part
from .figures import EvaluationRow
from .report import FAMILY_LABELS

#: The families drawn as curves, and their colours (the baseline is a dotted line).
_COLOURS = {"kmeans": "tab:blue", "rqvae": "tab:red"}


def _panel(ax, part: str, rows: Sequence[EvaluationRow]) -> None:
    """One part: each family held-out (solid) and in-sample (dashed), the baseline dotted."""
    for fam, colour in _COLOURS.items():
        label = FAMILY_LABELS[fam]
        fam_rows = sorted((r for r in rows if r.part == part and r.family == fam), key=lambda r: r.bits_per_frame)
        if not fam_rows:
            continue
        x = [r.bits_per_frame for r in fam_rows]
        ax.plot(x, [r.part_rmse_cm for r in fam_rows], "o-", color=colour, label=f"{label} held-out")
        ax.plot(x, [r.part_rmse_in_sample_cm for r in fam_rows], "s--", color=colour, alpha=0.6,
                label=f"{label} in-sample")
    for r in rows:
        if r.part == part and r.family == "baseline":
            ax.axhline(r.part_rmse_cm, color="grey", linestyle=":", label="training mean pose (0 bits), held-out")
    ax.set_title(f"{part} codecs")
    ax.set_xlabel("bits per frame")
    ax.set_ylabel(f"{get_part(part).headline_label} (cm)")
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
