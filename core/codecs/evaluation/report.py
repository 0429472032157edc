"""The evaluation's words: the markdown report (`render_markdown`) and a console summary
(`summary_lines`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ...machine import machine_line
from ...parts import get_part
from ..registry import FAMILY_CLASSES
from .figures import DataSummary, EvaluationReport, EvaluationRow, FamilyRatio
from .findings import findings, fmt

if TYPE_CHECKING:
    from ..training.dataset import Split

FAMILY_LABELS = {**{name: cls.family_label for name, cls in FAMILY_CLASSES.items()}, "baseline": "none (0 bits)"}

#: What the shipped data can say about each part (prose about the data folders, not a property
#: of the part).
_DATA_LIMITS = {
    "hands": (
        " Only BEAT2 has finger motion: the hands are one speaker in one session, held out as the last part "
        "of the same take (within-take, so the held-out figure is optimistic about new speakers), and a "
        "difference of a few millimetres between hand codecs is within what another take could change. The "
        "hand codecs are to be refitted when hand poses fitted from sign-language video arrive."
    ),
    "body": (
        " Held out are whole Bandai takes (new styles of the trained contents) plus the end of the BEAT2 "
        "take; Bandai dominates both splits, so the body figures describe mocap of acted actions more than "
        "conversational gesture."
    ),
}

_COLUMNS = [
    "- mean-pose: not a codec but the zero-bit reference, every frame decoded as the training split's mean "
    "joint angles of the part.",
    "- bits/frame = log2(k) or Q x log2(D), bits/s = bits/frame x the manifest's fps, both computed from the "
    "bundle's manifest. The root orientation and translation are not coded (side information carried through).",
    "- RMSE full pose: root-mean-square 3D distance over all 55 SMPL-X joints and all frames, original against "
    "decoded with the same root (forward kinematics on the default SMPL-X skeleton), cm. In-sample: the same on "
    "the training split (quantisation error); held-out: generalisation error.",
    "- Kabsch RMSE body: joints 0-21 rigidly aligned (rotation and translation, no scale) per frame; hands: each "
    "hand (wrist, 15 finger joints, 5 fingertips) aligned on its own, the two pooled. A body codec leaves the "
    "hands' figure at 0 and a hands codec the body's (each codec changes only its own joints).",
    "- Wrist hull %: the convex-hull volume of each wrist's trajectory in the root's frame, summed over the "
    "takes, decoded as % of original (below 100%: gestures shrink towards the cluster means).",
    "- Jerk ratio: mean |third derivative| of the part's points, decoded over original (body joints 1-21 in the "
    "root's frame; finger joints and tips in their wrist's frame); above 1 the decoded motion is jerkier.",
    "- Code usage: % of the codebook used by the held-out tokens; perplexity: exp(entropy) of their histogram "
    "(at most k or D); for RQ-VAE the mean over the Q quantizers, each in parentheses. Whole tokens: an "
    "RQ-VAE frame's Q indices read as one symbol of D^Q = 2^bits (for k-means the same as the code), so the "
    "two families compare: % of the 2^bits symbols used, and the perplexity of their histogram.",
]


def _per_q(values: Sequence[float], digits: int) -> str:
    mean = fmt(float(np.mean(values)), digits)
    if len(values) == 1:
        return mean
    return f"{mean} ({'/'.join(fmt(v, digits) for v in values)})"


def table(rows: Sequence[EvaluationRow]) -> list[str]:
    """The rate-distortion table, one markdown line per row (held-out figures, in-sample RMSE)."""
    lines = [
        "| codec | part | family | size | bits/frame | bits/s | RMSE full pose cm (held-out) | RMSE full pose cm (in-sample) "
        "| Kabsch RMSE body cm | Kabsch RMSE hands cm | wrist hull % (left/right) | jerk ratio | code usage % | perplexity "
        "| whole tokens used % of 2^bits | whole-token perplexity |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        h, i = r.held_out, r.in_sample
        lines.append(
            f"| {r.codec} | {r.part} | {FAMILY_LABELS.get(r.family, r.family)} | {r.size} | {r.bits_per_frame:g} | "
            f"{r.bits_per_second:g} | **{fmt(h.rmse_cm)}** | {fmt(i.rmse_cm)} | {fmt(h.kabsch_body_cm)} | "
            f"{fmt(h.kabsch_hands_cm)} | {fmt(h.wrist_hull_mean_pct, 1)} ({fmt(h.wrist_hull_pct[0], 1)}/"
            f"{fmt(h.wrist_hull_pct[1], 1)}) | {fmt(h.jerk_ratio)} | {_per_q(h.usage_pct, 1)} | "
            f"{_per_q(h.perplexity, 1)} | {fmt(h.token_usage_pct, 1)} | {fmt(h.token_perplexity, 1)} |"
        )
    return lines


def _ratio_table(ratios: Sequence[FamilyRatio]) -> list[str]:
    lines = [
        "| part | bits/frame | figure | k-means cm | RQ-VAE cm | **k-means / RQ-VAE** | in-sample: k-means cm | RQ-VAE cm | ratio "
        "| full-pose ratio | Kabsch ratio |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for q in ratios:
        lines.append(
            f"| {q.part} | {q.bits_per_frame:g} | {get_part(q.part).headline_label} | {fmt(q.kmeans.part_rmse_cm)} | "
            f"{fmt(q.rqvae.part_rmse_cm)} | **{fmt(q.ratio)}x** | {fmt(q.kmeans.part_rmse_in_sample_cm)} | "
            f"{fmt(q.rqvae.part_rmse_in_sample_cm)} | {fmt(q.in_sample_ratio)}x | {fmt(q.full_pose_ratio)}x | "
            f"{fmt(q.kabsch_ratio)}x |"
        )
    return lines


def _source_table(rows: Sequence[EvaluationRow]) -> list[str]:
    sources = sorted({src for r in rows for src in r.held_out.rmse_by_source_cm})
    lines = [
        "| codec | part | " + " | ".join(sources) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in sources) + " |",
    ]
    for r in rows:
        cells = [fmt(r.held_out.rmse_by_source_cm.get(src, float("nan"))) for src in sources]
        lines.append(f"| {r.codec} | {r.part} | " + " | ".join(cells) + " |")
    return lines


def _data_section(data: Sequence[DataSummary], split: "Split", data_dirs) -> list[str]:
    lines = [
        f"Motion under {', '.join(f'`{d}`' for d in data_dirs)}, every take at 30 fps. Split: {split.describe()}. "
        "Figures are pooled over the frames of every take of a split in which the part moves; takes where it never "
        "moves are left out (the Bandai BVH has no fingers, so hands come from BEAT2 alone).",
        "",
        "| part | held-out takes | held-out frames | training takes | training frames | takes left out (part at rest) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in data:
        lines.append(
            f"| {d.part} | {d.held_out_takes} | {d.held_out_frames:,} | {d.train_takes} | {d.train_frames:,} | {d.skipped} |"
        )
    return lines


def _limits_section(data: Sequence[DataSummary]) -> list[str]:
    lines = [
        f"- {d.part}: {d.train_frames:,} training frames ({d.train_frames / 30 / 60:.1f} min) in {d.train_takes} "
        f"take(s), {d.held_out_frames:,} held-out frames ({d.held_out_frames / 30:.0f} s) in {d.held_out_takes} "
        "take(s)." + _DATA_LIMITS.get(d.part, "")
        for d in data
    ]
    return lines + [
        "- In-sample figures are on the training takes as they are (30 fps, not mirrored); bundles fitted on 90 fps "
        "or mirrored copies of them (see the manifests) saw those frames, or frames between them, in fitting."
    ]


def render_markdown(rows, data, ratios, split: "Split", command: str, data_dirs, plot: Path | None, out: Path,
                    seconds: float) -> str:
    """The report's markdown: command, data, table, RQ-VAE vs k-means, findings, definitions."""
    lines = [
        "# Codec rate-distortion",
        "",
        "Made by `core/codecs/evaluation/` (`python -m motion_tokens evaluate-codecs`), which wrote this file "
        "and the plot; do not edit by hand.",
        "",
        f"Command: `{command}`  ",
        f"{machine_line().rstrip('.')}; {seconds:.0f} s in all.",
        "",
        "## Data",
        "",
        *_data_section(data, split, data_dirs),
        "", "## Rate and distortion (held-out split unless marked in-sample)", "",
        *table(rows),
    ]
    if plot is not None:
        lines += ["", f"![RMSE against bits per frame]({os.path.relpath(plot, out.parent)})"]
    lines += ["", "## RQ-VAE against k-means, per bitrate", ""]
    lines += _ratio_table(ratios) if ratios else ["No bitrate has both families evaluated."]
    lines += ["", "## Held-out full-pose RMSE (cm) per source folder", "", *_source_table(rows)]
    lines += ["", "## Findings (computed from the figures above)", "", *findings(rows, data, ratios)]
    lines += ["", "## What the data can and cannot say", "", *_limits_section(data)]
    lines += ["", "## What the columns mean", "", *_COLUMNS]
    return "\n".join(lines) + "\n"


_SUMMARY_COLUMNS = (  # (heading, width, format of the value)
    ("codec", 10, "<"), ("part", 6, "<"), ("bits/frame", 10, ">g"), ("bits/s", 7, ">g"),
    ("held-out", 9, ">.2f"), ("in-sample", 9, ">.2f"), ("Kabsch body", 11, ">.2f"), ("Kabsch hands", 12, ">.2f"),
    ("hull %", 7, ">.1f"), ("jerk", 6, ">.2f"), ("usage %", 8, ">.1f"), ("perplexity", 10, ">.1f"),
)


def _summary_values(r: EvaluationRow) -> tuple:
    """One row's values in the order of `summary_lines`' columns: codec, part, bits/frame,
    bits/s, the part's headline figure held out and in-sample (cm), Kabsch body and hands (cm),
    wrist hull mean %, jerk ratio, whole-token usage % and perplexity (all held out)."""
    h = r.held_out
    return (r.codec, r.part, r.bits_per_frame, r.bits_per_second, r.part_rmse_cm, r.part_rmse_in_sample_cm,
            h.kabsch_body_cm, h.kabsch_hands_cm, h.wrist_hull_mean_pct, h.jerk_ratio, h.token_usage_pct,
            h.token_perplexity)


def summary_lines(report: EvaluationReport) -> list[str]:
    """A fixed-width table of the report's rows for a console (one line per row under a
    header), then a line naming the files written. 'held-out' and 'in-sample' are each part's
    headline figure (`Part.headline_label`, cm); usage and perplexity are of whole tokens."""
    header = " ".join(f"{name:{'<' if align[0] == '<' else '>'}{width}}" for name, width, align in _SUMMARY_COLUMNS)
    lines = [header]
    for r in report.rows:
        cells = []
        for (_, width, align), v in zip(_SUMMARY_COLUMNS, _summary_values(r)):
            cells.append(f"{v:{align[0]}{width}{align[1:]}}" if isinstance(v, str) or np.isfinite(v)
                         else f"{'n/a':{align[0]}{width}}")
        lines.append(" ".join(cells))
    lines.append(f"{report.out}: report" + (f"; {report.plot}: plot" if report.plot else ""))
    return lines
