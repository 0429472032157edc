"""The evaluation's words: the markdown report (`render_markdown`) and a console summary
(`summary_lines`)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ...machine import machine_line
from ...parts import PARTS, get_part
from ..registry import FAMILY_CLASSES
from .findings import findings, fmt, shortfalls, targets
from .rows import DataSummary, EvaluationReport, EvaluationRow, FamilyRatio, ratio

if TYPE_CHECKING:
    from ..training.dataset import Split

FAMILY_LABELS = {**{name: cls.family_label for name, cls in FAMILY_CLASSES.items()}, "baseline": "none (0 bits)"}

#: What the shipped data can say about each part (prose about the data folders, not a property
#: of the part).
_DATA_LIMITS = {
    "hands": (
        " Three sources of finger motion: BEAT2 (one speaker, held out as the last quarter of the same take, "
        "within-take), ManipNet grasps (whole objects held out) and fingerspelling in ten sign languages fitted "
        "from video (whole letters held out, other letters of the same signers in training). ManipNet's takes "
        "are the largest share of the held-out frames (the per-source table), so the held-out hand figures say "
        "most about grasps of unseen objects. Every hand figure is over these takes and their mirror images "
        "(twice the frames counted here; above)."
    ),
    "face": (
        " One BEAT2 take of one speaker, held out as its last quarter (within-take): a few hundred frames (a "
        "quarter as many latents for a downsampled codec), so the face figures, held-out code usage "
        "included, are weak."
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
    "- bits/s: the manifest's `bits_per_second`, else bits per latent (log2(k) or Q x log2(D)) x fps / frames per "
    "latent; bits/frame = bits/s / fps, the per-frame equivalent, by which codecs are compared (an `rqvae4-B` "
    "codes one latent of 4B bits per 4 frames: the bits per second of a B-bit per-frame codec). latent: bits of one "
    "latent / frames it codes. The root orientation and translation are not coded (side information carried "
    "through).",
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
    "- Rotation: the geodesic angle of R_orig^T R_decoded of every coded joint's local rotation (via quaternions), "
    "in degrees, mean and 95th percentile over all frames x joints of the split; the worst joints are those of "
    "largest mean. Unlike the position figures it sees twists of end joints (wrists, head, feet) about their "
    "own bone, which move no joint position but do turn a rig's mesh.",
    "- Velocity error: RMS over frames and points of the difference between decoded and original velocities "
    "(forward differences at 30 fps) of the part's error points (`part_positions`: the part alone, each point "
    "relative to its origin joint), cm/s.",
    "- Expression RMSE (a part with expression coefficients only): RMSE of the coded coefficients.",
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


def _latent(r: EvaluationRow) -> str:
    """'bits / frames' of one latent ('40 / 4'); '-' for the baseline."""
    return "-" if r.family == "baseline" else f"{r.latent_bits:g} / {r.frames_per_latent}"


def table(rows: Sequence[EvaluationRow]) -> list[str]:
    """The rate-distortion table, one markdown line per row (held-out figures, in-sample RMSE)."""
    parts = _parts(rows)
    lines = [
        "| codec | part | family | size | bits/frame | bits/s | latent: bits / frames | RMSE full pose cm (held-out) "
        "| RMSE full pose cm (in-sample) | " + " | ".join(f"Kabsch RMSE {p} cm" for p in parts)
        + " | wrist hull % (left/right) | jerk ratio | code usage % | perplexity "
        "| whole tokens used % of 2^bits | whole-token perplexity |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in parts)
        + " | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        h, i = r.held_out, r.in_sample
        lines.append(
            f"| {r.codec} | {r.part} | {FAMILY_LABELS.get(r.family, r.family)} | {r.size} | {r.bits_per_frame:g} | "
            f"{r.bits_per_second:g} | {_latent(r)} | **{fmt(h.rmse_cm)}** | {fmt(i.rmse_cm)} | "
            + " | ".join(fmt(h.kabsch_cm(p)) for p in parts)
            + f" | {fmt(h.wrist_hull_mean_pct, 1)} ({fmt(h.wrist_hull_pct[0], 1)}/"
            f"{fmt(h.wrist_hull_pct[1], 1)}) | {fmt(h.jerk_ratio)} | {_per_q(h.usage_pct, 1)} | "
            f"{_per_q(h.perplexity, 1)} | {fmt(h.token_usage_pct, 1)} | {fmt(h.token_perplexity, 1)} |"
        )
    return lines


def _parts(rows: Sequence[EvaluationRow]) -> list[str]:
    """The registered parts that have rows, in registry order."""
    return [p for p in PARTS if any(r.part == p for r in rows)]


def _worst(figures, count: int = 3) -> str:
    return ", ".join(f"{name} {fmt(deg, 1)}" for name, deg in figures.feature_figures.worst_joints(count)) or "n/a"


def rotation_table(rows: Sequence[EvaluationRow]) -> list[str]:
    """Per row: geodesic rotation error of the coded part's joints (mean, p95; held-out and
    in-sample), its three worst joints held out, the velocity error, and the expression RMSE
    where a part has expressions."""
    expressions = any(get_part(r.part).expressions for r in rows)
    lines = [
        "| codec | part | bits/s | rotation mean deg (held-out) | rotation p95 deg (held-out) | rotation mean deg "
        "(in-sample) | rotation p95 deg (in-sample) | worst joints, mean deg (held-out) | velocity error cm/s "
        "(held-out) | velocity error cm/s (in-sample) |" + (" expression RMSE (held-out) | (in-sample) |" if expressions else ""),
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |" + (" ---: | ---: |" if expressions else ""),
    ]
    for r in rows:
        h, i = r.held_out, r.in_sample
        line = (f"| {r.codec} | {r.part} | {r.bits_per_second:g} | **{fmt(h.rotation_mean_deg)}** | "
                f"{fmt(h.rotation_p95_deg)} | {fmt(i.rotation_mean_deg)} | {fmt(i.rotation_p95_deg)} | {_worst(h)} | "
                f"**{fmt(h.velocity_rmse_cm_s, 1)}** | {fmt(i.velocity_rmse_cm_s, 1)} |")
        if expressions:
            line += f" {fmt(h.expression_rmse, 3)} | {fmt(i.expression_rmse, 3)} |"
        lines.append(line)
    return lines


def speed_table(rows: Sequence[EvaluationRow]) -> list[str]:
    """Per codec bundle: frames encoded and decoded per second over the training takes (the
    largest split), in this run, and how many times the k-means of the same part and bits per
    second is faster (measured in the same run, so the machine's load is shared)."""
    coded = [r for r in rows if r.family != "baseline"]
    if not any(math.isfinite(r.in_sample.encode_fps) for r in coded):
        return ["No coding speed was measured."]
    kmeans = {(r.part, r.bits_per_second): r for r in coded if r.family == "kmeans"}
    lines = ["| codec | part | bits/s | encode frames/s | decode frames/s | k-means' encode speed / this | "
             "k-means' decode speed / this |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in coded:
        k = kmeans.get((r.part, r.bits_per_second))
        enc, dec = r.in_sample.encode_fps, r.in_sample.decode_fps
        vs = ((f"{fmt(ratio(k.in_sample.encode_fps, enc))}x", f"{fmt(ratio(k.in_sample.decode_fps, dec))}x")
              if k is not None and k is not r else ("-", "-"))
        lines.append(f"| {r.codec} | {r.part} | {r.bits_per_second:g} | {enc:,.0f} | {dec:,.0f} | {vs[0]} | {vs[1]} |")
    return lines


def _ratio_table(ratios: Sequence[FamilyRatio], named: bool = False) -> list[str]:
    """k-means / RQ-VAE of the position figures; named: a column naming the RQ-VAE."""
    lines = [
        "| part | bits/frame | bits/s |" + (" RQ-VAE |" if named else "") + " figure | k-means cm | RQ-VAE cm "
        "| **k-means / RQ-VAE** | in-sample: k-means cm | RQ-VAE cm | ratio | full-pose ratio | Kabsch ratio |",
        "| --- | ---: | ---: |" + (" --- |" if named else "") + " --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for q in ratios:
        lines.append(
            f"| {q.part} | {q.bits_per_frame:g} | {q.bits_per_second:g} |" + (f" {q.rqvae.codec} |" if named else "")
            + f" {get_part(q.part).headline_label} | {fmt(q.kmeans.part_rmse_cm)} | "
            f"{fmt(q.rqvae.part_rmse_cm)} | **{fmt(q.ratio)}x** | {fmt(q.kmeans.part_rmse_in_sample_cm)} | "
            f"{fmt(q.rqvae.part_rmse_in_sample_cm)} | {fmt(q.in_sample_ratio)}x | {fmt(q.full_pose_ratio)}x | "
            f"{fmt(q.kabsch_ratio)}x |"
        )
    return lines


def _rotation_ratio_table(ratios: Sequence[FamilyRatio], named: bool = False) -> list[str]:
    """k-means / RQ-VAE of the geodesic rotation error (mean, p95) and of the velocity error."""
    lines = [
        "| part | bits/frame | bits/s |" + (" RQ-VAE |" if named else "") + " k-means deg | RQ-VAE deg "
        "| **k-means / RQ-VAE** | p95: k-means deg | RQ-VAE deg | ratio | in-sample: k-means deg | RQ-VAE deg | ratio "
        "| velocity: k-means cm/s | RQ-VAE cm/s | ratio |",
        "| --- | ---: | ---: |" + (" --- |" if named else "") + " ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: | ---: |",
    ]
    for q in ratios:
        km, rq = q.kmeans, q.rqvae
        lines.append(
            f"| {q.part} | {q.bits_per_frame:g} | {q.bits_per_second:g} |" + (f" {rq.codec} |" if named else "")
            + f" {fmt(km.held_out.rotation_mean_deg)} | {fmt(rq.held_out.rotation_mean_deg)} | "
            f"**{fmt(q.rotation_ratio)}x** | {fmt(km.held_out.rotation_p95_deg)} | {fmt(rq.held_out.rotation_p95_deg)} | "
            f"{fmt(q.rotation_p95_ratio)}x | {fmt(km.in_sample.rotation_mean_deg)} | "
            f"{fmt(rq.in_sample.rotation_mean_deg)} | {fmt(q.in_sample_rotation_ratio)}x | "
            f"{fmt(km.held_out.velocity_rmse_cm_s, 1)} | {fmt(rq.held_out.velocity_rmse_cm_s, 1)} | "
            f"{fmt(q.velocity_ratio)}x |"
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
        "moves are left out (the Bandai BVH has no fingers and no face; ManipNet and the fingerspelling fits move "
        "the fingers alone, so they count for the hands only).",
        "",
        "| part | held-out takes | held-out frames | training takes | training frames | takes left out (part at rest) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in data:
        lines.append(
            f"| {d.part} | {d.held_out_takes} | {d.held_out_frames:,} | {d.train_takes} | {d.train_frames:,} | {d.skipped} |"
        )
    mirrored = [d.part for d in data if d.mirrored]
    if mirrored:
        lines += ["", f"The {', '.join(mirrored)} codecs are fitted on the training takes and their left/right mirror "
                  "images, to code either hand leading; so every figure of them, held out and in-sample, is over the "
                  "takes above and their mirror images (twice the frames; training.dataset.evaluation_dataset). The "
                  "held-out takes sign right-handed: alone they leave the codes of left-handed poses unused. No "
                  "mirror image of a held-out take is trained on."]
    return lines


def _limits_section(data: Sequence[DataSummary]) -> list[str]:
    lines = [
        f"- {d.part}: {d.train_frames:,} training frames ({d.train_frames / 30 / 60:.1f} min) in {d.train_takes} "
        f"take(s), {d.held_out_frames:,} held-out frames ({d.held_out_frames / 30:.0f} s) in {d.held_out_takes} "
        "take(s)." + _DATA_LIMITS.get(d.part, "")
        for d in data
    ]
    return lines + [
        "- In-sample figures are on the training takes at 30 fps (with their mirror images for the parts mirrored in "
        "training); bundles fitted on 90 fps (see the manifests) saw those frames, or frames between them, in fitting."
    ]


def _comparison_section(ratios: Sequence[FamilyRatio], best: Sequence[FamilyRatio]) -> list[str]:
    """The seed's tables (per-frame RQ-VAE against k-means of the same bits per frame), then the
    best RQ-VAE offered at each bitrate (per-frame or downsampled, equal bits per second)."""
    if not (ratios or best):
        return ["No bitrate has both families evaluated."]
    lines = ["The seed's comparison: each per-frame RQ-VAE against the k-means of the same bits per frame.", "",
             "Positions:", "", *_ratio_table(ratios), "", "Rotations (geodesic error of the coded joints) and "
             "velocity:", "", *_rotation_ratio_table(ratios)] if ratios else []
    if best:
        lines += ["", "### The best RQ-VAE offered at each bitrate against k-means (equal bits per second)", "",
                  "Per bitrate, the RQ-VAE (per-frame, or one latent per several frames with as many bits per second) "
                  "of the lowest held-out figure.", "", "Positions:", "", *_ratio_table(best, named=True), "",
                  "Rotations and velocity:", "", *_rotation_ratio_table(best, named=True), "", *shortfalls(best)]
    return lines


def render_markdown(rows, data, ratios, split: "Split", command: str, data_dirs, plot: Path | None, out: Path,
                    seconds: float, best: Sequence[FamilyRatio] | None = None) -> str:
    """The report's markdown: command, data, tables, RQ-VAE vs k-means, findings, definitions.
    best: k-means against the best RQ-VAE at each bitrate (rows.best_family_ratios; None:
    computed from the rows)."""
    from .rows import best_family_ratios

    best = best_family_ratios(rows) if best is None else best
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
        "", "## Rotations and velocity (the coded part's joints; held-out split unless marked in-sample)", "",
        *rotation_table(rows),
    ]
    if plot is not None:
        lines += ["", f"![RMSE against bits per frame]({os.path.relpath(plot, out.parent)})"]
    lines += ["", "## RQ-VAE against k-means, per bitrate", "", *_comparison_section(ratios, best)]
    lines += ["", "## Targets", "", *targets(rows)]
    lines += ["", "## Coding speed (the training takes, one thread, numpy inference for the RQ-VAE)", "",
              *speed_table(rows)]
    lines += ["", "## Held-out full-pose RMSE (cm) per source folder", "", *_source_table(rows)]
    lines += ["", "## Findings: the seed's per-frame families (computed from the figures above)", "",
              "`RQ-VAE` in this section is the per-frame rqvae-B against k-means, the seed's comparison; the best "
              "RQ-VAE offered at each bitrate, the downsampled rqvae4-B included, is compared with k-means under "
              "*The best RQ-VAE offered at each bitrate* above.", "", *findings(rows, data, ratios)]
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
