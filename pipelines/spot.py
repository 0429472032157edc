"""The spot job: find lexicon signs in a query take (issue #17), bpy-free.

    query (.pose, or a video through MediaPipe) --fit--> sign features (core.signs.features)
    lexicon (a folder of clips, built; or a saved .npz) --> per-entry features
    sliding windows x DTW --> per-label window confidences (core.signs.matching)
    --> temporal NMS (core.signs.nms) --> detections, written as JSON or SRT

Windows run over the query's rows where its signing hand is found, so a detection's rows map
back to the take's frames through `SignFeatures.frames`; times are seconds from the query's
first frame (frame / 30 fps): start = the first row's frame, end = one past the last row's.

JSON: a list of {"label", "start", "end", "confidence"} sorted by start. SRT: one cue per
detection, its label as the text.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import InputFileError, OptionError, OutputError, require_file
from ..core.signs.features import SignFeatures
from ..core.signs.matching import clip_features, default_windowing, lexicon_from_path, window_confidences
from ..core.signs.nms import Detection, nms_detections

OUTPUT_SUFFIXES = (".json", ".srt")


@dataclass(frozen=True)
class SpotOptions:
    """query: a .pose or video; lexicon: a lexicon folder or .npz; out: .json or .srt;
    window/hop: rows at 30 fps (None: from the lexicon, core.signs.matching.default_windowing);
    overlap: the NMS IoU threshold; threshold: the lowest confidence kept."""

    query: Path
    lexicon: Path
    out: Path
    window: int | None = None
    hop: int | None = None
    overlap: float = 0.5
    threshold: float = 0.5
    language: str | None = None


@dataclass(frozen=True)
class TimedDetection:
    """label, start/end in seconds from the query's start, confidence."""

    label: str
    start: float
    end: float
    confidence: float


@dataclass
class SpotResult:
    detections: list[TimedDetection]
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def timed_detections(detections: list[Detection], features: SignFeatures) -> list[TimedDetection]:
    """Detections over feature rows as seconds of the take, sorted by start."""
    frames = features.frames
    timed = []
    for d in detections:
        last = min(d.end, len(frames)) - 1
        timed.append(TimedDetection(d.label, float(frames[d.start]) / features.fps,
                                    float(frames[last] + 1) / features.fps, float(d.confidence)))
    return sorted(timed, key=lambda t: (t.start, t.label))


def spot(options: SpotOptions) -> SpotResult:
    """Run the job (module docstring) and write `options.out`. Raises InputFileError for a
    query with no hand found in any frame, the lexicon's errors (core.signs.matching), and
    OutputError for an output suffix other than .json/.srt."""
    suffix = options.out.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise OutputError(f"{options.out}: detections are written as {' or '.join(OUTPUT_SUFFIXES)}")
    require_file(options.query)
    lexicon = lexicon_from_path(options.lexicon, options.language)
    features = clip_features(options.query)
    if features.num_found == 0:
        raise InputFileError(options.query, "no signer: no hand is found in any frame")
    window, hop = default_windowing(lexicon)
    window = options.window if options.window is not None else window
    hop = options.hop if options.hop is not None else (hop if options.window is None else max(window // 4, 1))
    if window < 1 or hop < 1:
        raise OptionError(f"--window and --hop must be at least 1 frame, got {window} and {hop}")
    confidences = window_confidences(features.values, lexicon, window, hop)
    detections = timed_detections(nms_detections(confidences, window, hop, options.overlap, options.threshold),
                                  features)
    write_detections(detections, options.out)
    lines = [f"{d.start:7.2f}-{d.end:7.2f} s  {d.label}  ({d.confidence:.2f})" for d in detections]
    lines.append(f"{len(detections)} signs found in {options.query.name} ({len(lexicon.labels)} lexicon entries, "
                 f"window {window}, hop {hop} frames at 30 fps) -> {options.out}")
    return SpotResult(detections, lines)


def write_detections(detections: list[TimedDetection], path: str | os.PathLike) -> None:
    """Write detections as JSON (a list of objects) or SRT (by the suffix)."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        rows = [{"label": d.label, "start": round(d.start, 4), "end": round(d.end, 4),
                 "confidence": round(d.confidence, 4)} for d in detections]
        path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
        return
    cues = [f"{i}\n{_srt_time(d.start)} --> {_srt_time(d.end)}\n{d.label}\n" for i, d in enumerate(detections, 1)]
    path.write_text("\n".join(cues), encoding="utf-8")


def _srt_time(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
