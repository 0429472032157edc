"""The spot job: find lexicon signs in a query take (issue #17), bpy-free.

    query (.pose, a video through MediaPipe, an .npz/.bvh motion, or a captured action's
      features) --fit--> sign features (core.signs.features)
    lexicon (a folder of clips, built; or a saved .npz) --> per-entry features
    sliding windows x DTW --> per-label window confidences (core.signs.matching)
    --> temporal NMS (core.signs.nms) --> each detection's span narrowed to its sign's rows
    (core.signs.boundaries) --> detections, written as JSON or SRT
    --> (optional) the lexicon's recorded words at the detected times, a WAV (core.signs.spoken)

Windows run over the query's rows where its signing hand is found, so a detection's rows map
back to the take's frames through `SignFeatures.frames`; times are seconds from the query's
first frame (frame / 30 fps): start = the first row's frame, end = one past the last row's.

JSON: a list of {"label", "start", "end", "confidence"} sorted by start. SRT: one cue per
detection, its label as the text.

The lexicon job (`build_lexicon_file`) builds a folder's lexicon once into an .npz that `spot`
reads again without fitting a clip.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import InputFileError, OptionError, OutputError, require_file
from ..core.signs.boundaries import refined_detections
from ..core.signs.features import SignFeatures
from ..core.signs.lexicon import lexicon_entries
from ..core.signs.matching import (
    Lexicon,
    clip_feature_steps,
    default_windowing,
    lexicon_build_steps,
    load_lexicon,
    save_lexicon,
    window_confidences,
)
from ..core.signs.nms import Detection, nms_detections
from ..core.signs.spoken import SpokenTrack, spoken_track, write_wav
from ..core.steps import Progress, Steps, run_steps, within
from .outputs import refuse_output_onto_input

OUTPUT_SUFFIXES = (".json", ".srt")
AUDIO_SUFFIXES = (".wav",)


@dataclass(frozen=True)
class SpotOptions:
    """query: a .pose, video, .npz or .bvh (None where the caller gives the features); lexicon:
    a lexicon folder or .npz; out: .json or .srt (None: not written); audio_out: a .wav of the
    recorded words (None: none); window/hop: rows at 30 fps (None: from the lexicon,
    core.signs.matching.default_windowing); overlap: the NMS IoU threshold; threshold: the
    lowest confidence kept; language: only lexicon clips of this signed language."""

    query: Path | None
    lexicon: Path
    out: Path | None = None
    window: int | None = None
    hop: int | None = None
    overlap: float = 0.5
    threshold: float = 0.5
    language: str | None = None
    audio_out: Path | None = None

    def check(self) -> None:
        """OptionError for absurd windowing or thresholds, OutputError for an unknown output
        suffix or an output onto an input."""
        for name, value in (("--window", self.window), ("--hop", self.hop)):
            if value is not None and not 1 <= value <= 100_000:
                raise OptionError(f"{name} must be 1-100000 frames at 30 fps, got {value}")
        for name, value in (("--overlap", self.overlap), ("--threshold", self.threshold)):
            if not 0.0 <= value <= 1.0:
                raise OptionError(f"{name} must be between 0 and 1, got {value}")
        if self.out is not None and self.out.suffix.lower() not in OUTPUT_SUFFIXES:
            raise OutputError(f"{self.out}: detections are written as {' or '.join(OUTPUT_SUFFIXES)}")
        if self.audio_out is not None and self.audio_out.suffix.lower() not in AUDIO_SUFFIXES:
            raise OutputError(f"{self.audio_out}: the spoken words are written as a .wav")
        inputs = [p for p in (self.query, self.lexicon) if p is not None]
        for out in (self.out, self.audio_out):
            if out is not None:
                refuse_output_onto_input(out, inputs)


@dataclass(frozen=True)
class TimedDetection:
    """label, start/end in seconds from the query's start, confidence."""

    label: str
    start: float
    end: float
    confidence: float


@dataclass
class SpotResult:
    """detections sorted by start; seconds: the query's duration; spoken: the recorded words'
    track where audio_out was asked; lexicon: the one matched against."""

    detections: list[TimedDetection]
    lines: list[str]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    spoken: SpokenTrack | None = None
    lexicon: Lexicon | None = None


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
    """Run the job to the end (spot_steps)."""
    return run_steps(spot_steps(options))


def lexicon_steps(path: Path, language: str | None = None) -> Steps:
    """A folder's lexicon built (a step or more per clip) or a saved lexicon .npz loaded."""
    path = Path(path)
    if path.is_dir():
        return (yield from lexicon_build_steps(lexicon_entries(path, language)))
    if path.suffix.lower() != ".npz":
        raise InputFileError(path, "is neither a lexicon folder nor a lexicon .npz")
    yield Progress(0, 1, f"reading the lexicon {path.name}")
    return load_lexicon(path)


#: Shares of a spot job's progress (of 1000): the lexicon, the query's features, the matching.
_LEXICON_UNITS, _QUERY_UNITS, _UNITS = 300, 500, 1000


def spot_steps(options: SpotOptions, query_features: SignFeatures | None = None, query_name: str = "",
               lexicon: Lexicon | None = None) -> Steps:
    """The job (module docstring) as steps; writes `options.out` and `options.audio_out` where
    given. `query_features`: the query's features where the caller has them (a captured action)
    instead of `options.query`; `lexicon`: one already built (`options.lexicon` then only names it).
    Raises InputFileError for a query with no hand found in any frame, the lexicon's errors
    (core.signs.matching), OptionError/OutputError (SpotOptions.check)."""
    options.check()
    if query_features is None:
        if options.query is None:
            raise OptionError("no query: give a .pose file, a video or a motion file to spot signs in")
        require_file(options.query)
    name = query_name or (options.query.name if options.query is not None else "the query")
    if lexicon is None:
        lexicon = yield from within(lexicon_steps(options.lexicon, options.language), 0, _LEXICON_UNITS, _UNITS)
    if options.audio_out is not None:  # never over one of the words it is made of
        refuse_output_onto_input(options.audio_out, [a for a in lexicon.audio if a])
    if query_features is None:
        query_features = yield from within(clip_feature_steps(options.query), _LEXICON_UNITS, _QUERY_UNITS, _UNITS)
    if query_features.num_found == 0:
        raise InputFileError(options.query or name, "no signer: no hand is found in any frame")
    window, hop = default_windowing(lexicon)
    window = options.window if options.window is not None else window
    hop = options.hop if options.hop is not None else (hop if options.window is None else max(window // 4, 1))
    yield Progress(_LEXICON_UNITS + _QUERY_UNITS, _UNITS,
                   f"matching {query_features.num_found} frames of {name} against {len(lexicon.labels)} signs")
    confidences = window_confidences(query_features.values, lexicon, window, hop)
    kept = nms_detections(confidences, window, hop, options.overlap, options.threshold)
    detections = timed_detections(refined_detections(kept, query_features.values, lexicon, window // 2),
                                  query_features)
    seconds = query_features.num_frames / query_features.fps
    lines = [f"{d.start:7.2f}-{d.end:7.2f} s  {d.label}  ({d.confidence:.2f})" for d in detections]
    written = [str(options.out)] if options.out is not None else []
    warnings, spoken = [], None
    if options.audio_out is not None:
        spoken = spoken_track(detections, lexicon.audio_of, seconds)
        warnings += spoken.warnings
    if options.out is not None:
        write_detections(detections, options.out)
    if options.audio_out is not None:
        write_wav(options.audio_out, spoken)
        written.append(f"{options.audio_out} ({len(spoken.placed)} recorded words, {spoken.seconds:.1f} s)")
    lines.append(f"{len(detections)} signs found in {name} ({len(lexicon.labels)} lexicon entries, "
                 f"window {window}, hop {hop} frames at 30 fps)" + (f" -> {', '.join(written)}" if written else ""))
    return SpotResult(detections, lines, warnings, seconds, spoken, lexicon)


@dataclass(frozen=True)
class LexiconOptions:
    """folder: the lexicon's clips; out: the .npz to write; language: only this signed language."""

    folder: Path
    out: Path
    language: str | None = None


@dataclass
class LexiconResult:
    lexicon: Lexicon
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def build_lexicon_file(options: LexiconOptions) -> Steps:
    """Build the folder's lexicon (steps per clip) and save it as `options.out` (.npz)."""
    if options.out.suffix.lower() != ".npz":
        raise OutputError(f"{options.out}: a lexicon is saved as .npz")
    if not Path(options.folder).is_dir():
        raise InputFileError(options.folder, "is not a lexicon folder (a folder of sign clips)")
    refuse_output_onto_input(options.out, [options.folder])
    lexicon = yield from lexicon_build_steps(lexicon_entries(options.folder, options.language))
    save_lexicon(lexicon, options.out)
    with_audio = sorted({label for label, audio in zip(lexicon.labels, lexicon.audio) if audio})
    lines = [f"{len(lexicon.labels)} clips of {len(lexicon.label_order)} signs"
             f" ({len(with_audio)} with a recorded word) -> {options.out}"]
    return LexiconResult(lexicon, lines)


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
