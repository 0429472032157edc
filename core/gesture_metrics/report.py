"""The markdown report of a speech evaluation (evaluation.MethodFigures per block)."""

from __future__ import annotations

import math

from .beat_alignment import ORDER, SIGMA, THRESHOLD
from .clips import CLIP_SECONDS, HOP_SECONDS
from .encoder import MotionEncoder
from .evaluation import TIGHT_SIGMA, MethodFigures
from .poses import METRIC_FPS
from .synchrony import MAX_LAG, PAIRS


def _f(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _blocks_table(takes) -> list[str]:
    from .speech_data import block_summary

    lines = ["| take | block | first frame | frames | seconds | clips |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for take, block, start, frames, clips in block_summary(takes):
        lines.append(f"| {take} | {block} | {start} | {frames} | {frames / METRIC_FPS:.1f} | {clips} |")
    return lines


def _encoder_lines(encoder: MotionEncoder) -> list[str]:
    if encoder.bundle is None:
        return ["Motion encoder: given as tensors (no bundle)."]
    m = encoder.bundle.manifest
    t = m.get("training", {})
    return [f"Motion encoder: `{encoder.bundle.folder.name}` (weights sha256 {encoder.bundle.weights_sha256[:12]}), "
            f"trained on {t.get('frames')} frames ({t.get('seconds')} s) of the split's training takes, "
            f"{t.get('windows')} windows; held-out reconstruction loss "
            f"{m.get('evaluation', {}).get('held_out_loss')}; made by `{m.get('command')}`."]


def _main_table(rows: list[MethodFigures]) -> list[str]:
    lines = [f"| method | seeds | FGD | BA (sigma {SIGMA:g} s) | BA (sigma {TIGHT_SIGMA:g} s) | L1div (m) | "
             "pairwise L1 (m) | seed spread (m) | jerk (m/s^3) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r.method} | {r.seeds} | {_f(r.fgd)} | {_f(r.beat_alignment)} | {_f(r.beat_alignment_tight)} "
                     f"| {_f(r.l1div)} | {_f(r.pairwise_l1)} | {_f(r.seed_spread)} | {_f(r.jerk, 1)} |")
    return lines


def _sync_table(rows: list[MethodFigures]) -> list[str]:
    names = [f"{p}-{q}" for p, q in PAIRS]
    lines = ["| method | " + " | ".join(f"{n}: r / lag s / VA" for n in names) + " |",
             "| --- | " + " | ".join("---:" for _ in names) + " |"]
    for r in rows:
        cells = [" / ".join([_f(r.sync[n][0], 2), _f(r.sync[n][1], 2), _f(r.sync[n][2], 2)]) for n in names]
        lines.append(f"| {r.method} | " + " | ".join(cells) + " |")
    return lines


def _reading_notes(clips: dict[str, int]) -> list[str]:
    held = clips.get("held-out", 0)
    return [
        "## How to read it", "",
        f"- **Weak statistics.** Clips are {CLIP_SECONDS:g} s every {HOP_SECONDS:g} s; the held-out block gives "
        f"{held} clips (overlapping: about 16 s of distinct motion of one speaker in one session, within-take, so "
        "optimistic). FGD there rests on a few hundred 32-dimensional latent frames (8 per 32-frame window, 3 windows a "
        "clip) and is biased upwards by so few samples. The shifted ground truth (the same block's motion, other clips) shows the noise floor: differences of that order between rows mean nothing. The "
        "in-sample block (the generator's and encoder's training frames) is reported beside it with more clips.",
        "- **FGD** (Frechet distance of motion-encoder features, core/gesture_metrics/fgd.py): against the ground-truth "
        "clips of the same block, so the ground truth scores 0 by construction; lower is closer. Stochastic methods: "
        "one FGD per seed (each set the size of the ground truth's), averaged.",
        f"- **BA** (Beat Alignment, EMAGE's): audio onsets (librosa's peak picking on core.audio's onset strength) "
        f"against local minima (order {ORDER}) of the speed of EMAGE's 13 upper-body joints above {THRESHOLD:g} x "
        "their training mean speed; mean over onsets of exp(-d^2 / (2 sigma^2)). FACTS.md: on this take it does not "
        "separate the true motion from motion shifted in time; read it only beside the ground truth's and the shifted "
        "ground truth's rows.",
        "- **L1div**: EMAGE's (pooled frames' summed absolute deviation from their mean pose, 55 joints x 3, pelvis "
        "frame, metres); **pairwise L1**: mean per-frame L1 between clips; **seed spread**: between two seeds' motions "
        "for the same audio (stochastic methods). The mean pose scores 0; the ground truth's figure is the target.",
        f"- **Synchrony** (after SpeechCAT's BPSS, core/gesture_metrics/synchrony.py): r is the best correlation of two "
        f"parts' speeds within +-{MAX_LAG:g} s, lag where it is, VA the Gaussian hit rate of their speed minima (sigma "
        f"{SIGMA:g} s). Closer to the ground truth is better; a still part gives n/a.",
        "- **Jerk**: mean third derivative of the 55 joints' positions, m/s^3; the ground truth's is the target (too "
        "high: jitter or seams; too low: oversmoothed).", "",
    ]


def render_report(figures: list[MethodFigures], takes, encoder: MotionEncoder, seeds: int,
                  command: str | None) -> str:
    """The whole markdown report."""
    from .speech_data import clip_counts

    lines = ["# Speech gestures: figures on held-out speech", ""]
    lines += [f"Command: `{command}`", ""] if command else []
    lines += _blocks_table(takes) + [""] + _encoder_lines(encoder) + [""]
    lines += [f"Stochastic methods are run with seeds 0-{seeds - 1}; the others once.", ""]
    lines += _reading_notes(clip_counts(takes))
    for block in dict.fromkeys((r.block for r in figures)):
        rows = [r for r in figures if r.block == block]
        lines += [f"## {block} ({rows[0].clips} clips)", ""] + _main_table(rows) + ["", "Part synchrony:", ""]
        lines += _sync_table(rows) + [""]
    notes = dict.fromkeys(f"- **{r.method}**: {r.note}" for r in figures if r.note)
    lines += ["## Methods", "", *notes, ""]
    return "\n".join(lines)


def summary_lines(figures: list[MethodFigures]) -> list[str]:
    """One line per method and block: FGD, BA, L1div, jerk."""
    return [f"{r.block:10s} {r.method:28s} FGD {_f(r.fgd)}  BA {_f(r.beat_alignment)}  L1div {_f(r.l1div)}  "
            f"jerk {_f(r.jerk, 1)}" for r in figures]
