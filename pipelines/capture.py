"""The capture job: a filmed person (a video, or MediaPipe Holistic landmarks in a `.pose`
file) becomes SMPL-X body and finger motion, coded through a codec and decoded.

    video (core.capture.video: OpenCV frames -> MediaPipe Holistic) or .pose (core.formats.pose)
      -> Landmarks -> fit (core.capture.fit: SMPL-X local rotations, smoothed, gaps filled)
      -> the raw fit at 30 fps -> tokens and decoded motion (core.codecs.coding, body and hands)
      -> both resampled to the output rate -> sink

Both motions are kept: the decoded one is the job's result, the raw fit beside it (in the
`.npz` as `raw_poses`/`raw_trans` and the found-masks, core.capture.file; in Blender as a
second action). The face is not captured (it stays at rest), the root stays where it is
(world landmarks are centred on the hips: a video gives no path).

Sinks as in pipelines.generate: `check(inputs)` before anything is read, `write_steps(captured,
index)` -> steps whose Result is an outputs.Written, and optionally `discard()`, called when
the job fails or is closed part-way (Esc) so that nothing half-made is left.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..core.capture.landmarks import Landmarks
from ..core.codecs.coding import codec_label
from ..core.codecs.registry import installed_parts, require_codec_folder
from ..core.errors import InputFileError, OptionError, require_file
from ..core.limits import check_fps
from ..core.motion import Motion
from ..core.steps import Progress, Steps, run_steps, within
from .encode import Coded, code_motion_steps
from .outputs import FileSink, Written, planned_sinks

#: Inputs read as MediaPipe landmarks, and those run through MediaPipe.
POSE_SUFFIXES = (".pose",)
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg")
#: The parts a capture codes: the face is not fitted.
CAPTURED_PARTS = ("body", "hands")
DEFAULT_CODEC = "kmeans-10"
#: The codecs' frame rate: the fit is resampled to it for coding.
CODING_FPS = 30.0
#: Frames of video a step reads (MediaPipe takes ~50 ms a frame on 2 cores: ~0.4 s a step,
#: so Esc is seen quickly and the progress moves).
VIDEO_FRAMES_PER_STEP = 8
#: Progress units per input: landmarks, then fitting, coding and writing.
_UNITS = 1000
_LANDMARK_UNITS, _FIT_UNITS, _CODE_UNITS = 850, 40, 70


@dataclass(frozen=True)
class CaptureOptions:
    """inputs: videos or .pose files; codec: the codec (e.g. kmeans-10) coding the body and
    hands (the parts it has bundles for), or part -> codec name; fps: the output frame rate (the same duration);
    mirrored: the inputs are mirror images (a selfie camera); workers: MediaPipe processes
    (core.capture.video); fit: core.capture.fit.FitSettings (None: the defaults); models_dir:
    None for the extension's models/; clips: per input, (skip seconds, seconds) of it to keep
    (a trimmed movie strip), or () for every input whole."""

    inputs: tuple
    codec: str = DEFAULT_CODEC
    fps: float = CODING_FPS
    mirrored: bool = False
    workers: int = 1
    fit: object = None
    models_dir: str | os.PathLike | None = None
    clips: tuple = ()

    def check(self) -> None:
        """OptionError for no inputs, a bad frame rate or worker count; InputFileError for an
        input that is not a video or .pose file, or is missing."""
        if not self.inputs:
            raise OptionError("no input: give a video or a .pose file")
        check_fps("output frame rate (--fps)", self.fps)
        if self.clips and len(self.clips) != len(self.inputs):
            raise OptionError(f"{len(self.clips)} clip ranges for {len(self.inputs)} inputs")
        if self.workers not in (1, 2):
            raise OptionError(f"--workers must be 1 or 2, got {self.workers}")
        for source in self.inputs:
            input_kind(source)
            require_file(source)


@dataclass
class Captured:
    """One input captured: its landmarks, the fit (core.capture.fit.CaptureFit, at the
    landmarks' rate), the raw and decoded motions at the output rate, and the coding (tokens
    at 30 fps, decoded motion at 30 fps)."""

    source: Path
    landmarks: Landmarks
    fit: object
    raw: Motion
    decoded: Motion
    coded: Coded
    warnings: list[str] = field(default_factory=list)
    start_seconds: float = 0.0

    @property
    def codec_names(self) -> dict[str, str]:
        return {part: codec.name for part, codec in self.coded.encoded.codecs.items()}

    @property
    def codec_label(self) -> str:
        return codec_label(self.codec_names)

    @property
    def name(self) -> str:
        return self.source.stem


@dataclass
class CaptureResult:
    captured: list[Captured]
    lines: list[str]
    warnings: list[str] = field(default_factory=list)
    targets: list = field(default_factory=list)


def input_kind(source) -> str:
    """'pose' or 'video' by the suffix; InputFileError naming the file for any other."""
    suffix = Path(source).suffix.lower()
    if suffix in POSE_SUFFIXES:
        return "pose"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise InputFileError(source, f"cannot capture from {suffix or 'a file without a suffix'}: give a video "
                                 f"({', '.join(VIDEO_SUFFIXES)}) or MediaPipe landmarks in a .pose file")


def landmark_steps(source: Path, mirrored: bool, workers: int) -> Steps:
    """The input's Landmarks: a .pose file read at once, a video through MediaPipe a few
    frames a step (Progress in frames; closing the steps closes the video)."""
    if input_kind(source) == "pose":
        from ..core.formats.pose import read_pose_landmarks

        yield Progress(0, 1, f"reading {source.name}")
        return replace(read_pose_landmarks(source), mirrored=mirrored)
    from ..core.capture.video import VideoLandmarkReader

    reader = VideoLandmarkReader(source, mirrored=mirrored, workers=workers)
    try:
        total = max(reader.num_frames, 1)
        done, started = 0, time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            rate = f", {done / elapsed:.1f} frames/s" if done and elapsed > 0 else ""
            yield Progress(min(done, total), total, f"MediaPipe on {source.name}, frame {done + 1} of {total}{rate}")
            read = reader.read(VIDEO_FRAMES_PER_STEP)
            if read == 0:
                break
            done += read
        return reader.landmarks()
    finally:
        reader.close()


def clipped(motion: Motion, clip, warnings: list[str]) -> Motion:
    """The frames of `motion` from `clip` = (skip seconds, seconds) on (None: all of it); where
    the clip runs past the take's end its last frame is held, said in `warnings`."""
    if clip is None:
        return motion
    skip, seconds = clip
    first = max(0, int(round(skip * motion.fps)))
    count = max(1, int(round(seconds * motion.fps)))
    if first + count > motion.num_frames:
        warnings.append(f"the clip runs {(first + count - motion.num_frames) / motion.fps:.2f} s past the end of "
                        "the video: its last pose is held there")
    index = np.minimum(np.arange(first, first + count), motion.num_frames - 1)
    return replace(motion, rotations=motion.rotations[index], trans=motion.trans[index],
                   expressions=None if motion.expressions is None else motion.expressions[index])


def capture_one_steps(source: Path, options: CaptureOptions, codecs: dict[str, str], clip=None) -> Steps:
    """One input from landmarks to the Captured (Progress in _UNITS)."""
    from ..core.capture.fit import FitSettings, fit_landmarks

    landmarks = yield from within(landmark_steps(source, options.mirrored, options.workers), 0, _LANDMARK_UNITS, _UNITS)
    if not landmarks.body_found.any():
        raise InputFileError(source, f"no person found in any of its {landmarks.num_frames} frames: MediaPipe saw "
                                     "no body to fit (film the signer from the waist up, facing the camera)")
    yield Progress(_LANDMARK_UNITS, _UNITS, f"fitting SMPL-X to {landmarks.num_frames} frames of {source.name}")
    fit = fit_landmarks(landmarks, options.fit or FitSettings())
    warnings = list(fit.warnings)
    raw30 = clipped(fit.motion.resampled(CODING_FPS), clip, warnings)
    coding = code_motion_steps(raw30, codecs, options.models_dir)
    coded = yield from within(coding, _LANDMARK_UNITS + _FIT_UNITS, _CODE_UNITS, _UNITS)
    decoded = coded.encoded.decoded
    raw, decoded = (m if abs(options.fps - CODING_FPS) < 1e-9 else m.resampled(options.fps) for m in (raw30, decoded))
    return Captured(source, landmarks, fit, replace(raw, name=f"{source.stem} raw"),
                    replace(decoded, name=source.stem), coded, warnings, clip[0] if clip else 0.0)


def capture_codecs(options: CaptureOptions) -> dict[str, str]:
    """part -> codec name for the captured parts: `options.codec` a name (every captured part
    it has a bundle for) or part -> name (the Codec panel's choice; other parts left out);
    MotionTokensError when none is left."""
    if isinstance(options.codec, dict):
        codecs = {part: name for part, name in options.codec.items() if part in CAPTURED_PARTS and name}
        for part, name in codecs.items():
            require_codec_folder(name, part, options.models_dir)
    else:
        codecs = {part: options.codec for part in installed_parts(options.codec, options.models_dir)
                  if part in CAPTURED_PARTS}
    if not codecs:
        raise OptionError(f"no codec for the body or hands ({options.codec}): pick one that codes them")
    return codecs


def summary_line(captured: Captured) -> str:
    lm = captured.landmarks
    errors = ", ".join(f"{part} {rmse:.2f} cm" for part, rmse in captured.coded.rmse_cm.items())
    return (f"{captured.source.name}: {lm.num_frames} frames at {lm.fps:g} fps ({lm.found_summary()}) -> "
            f"{captured.decoded.num_frames} frames at {captured.decoded.fps:g} fps through "
            f"{codec_label(captured.codec_names)} (decoded against the fit: {errors})")


def capture_steps(options: CaptureOptions, sink) -> Steps:
    """The capture job as steps (core.steps): options and sink checked, the codecs found,
    then for each input: landmarks, fit, coding, writing. Any error, or closing the steps
    part-way, calls the sink's `discard()`; the CaptureResult."""
    options.check()
    sink.check(list(options.inputs))
    codecs = capture_codecs(options)
    total = _UNITS * len(options.inputs)
    result = CaptureResult([], [])
    try:
        for i, source in enumerate(options.inputs):
            source = Path(source)
            clip = options.clips[i] if options.clips else None
            captured = yield from within(capture_one_steps(source, options, codecs, clip), _UNITS * i, _UNITS - 50,
                                         total)
            written = yield from within(sink.write_steps(captured, i), _UNITS * (i + 1) - 50, 50, total)
            result.captured.append(captured)
            result.lines.append(summary_line(captured))
            result.lines.extend(written.lines)
            result.warnings.extend(f"{source.name}: {w}" for w in captured.warnings)
            result.warnings.extend(written.warnings)
            result.targets.append(written.target)
    except BaseException:  # an error or GeneratorExit (Esc): remove what earlier inputs made
        discard = getattr(sink, "discard", None)
        if discard is not None:
            discard()
        raise
    return result


@dataclass
class CapturedFiles:
    """The file sink: one output per input (outputs.planned_sinks: `out` a file, or a folder
    for several inputs with files of type `suffix`). `.npz`: the tokens file (the decoded
    motion at 30 fps and its tokens) with the raw fit inside (core.capture.file); `.bvh`,
    `.blend`, `.fbx`: the decoded motion on `rig`, and the raw fit beside it as
    `<stem>-raw<suffix>`. `fps`: the job's output rate (an .npz holds 30 fps)."""

    out: Path
    rig: str = "smplx"
    suffix: str | None = None
    write_scene: object = None
    fps: float = CODING_FPS
    sinks: list[FileSink] = field(default_factory=list, init=False)
    raw_sinks: list[FileSink | None] = field(default_factory=list, init=False)

    def check(self, inputs) -> None:
        """Plan every output and refuse (OutputError, OptionError) what cannot be written."""
        self.sinks = planned_sinks(Path(self.out), [Path(s).stem for s in inputs], list(inputs), self.suffix,
                                   self.rig, self.write_scene)
        self.raw_sinks = []
        for sink in self.sinks:
            if sink.path.suffix.lower() == ".npz":
                if abs(self.fps - CODING_FPS) > 1e-9:
                    raise OptionError(f"{sink.path}: a tokens .npz holds the motion at the codecs' {CODING_FPS:g} fps; "
                                      f"leave out --fps {self.fps:g} or write .bvh, .blend or .fbx")
                self.raw_sinks.append(None)
                continue
            raw = FileSink(sink.path.with_name(f"{sink.path.stem}-raw{sink.path.suffix}"), self.rig, 1, self.write_scene)
            raw.check(list(inputs))
            self.raw_sinks.append(raw)

    def write_steps(self, captured: Captured, index: int) -> Steps:
        """Write input `index`'s decoded motion (and its tokens and raw fit, or the raw file)."""
        from ..core.capture.file import found_at, raw_fit_arrays
        from ..core.codecs.coding import write_encoded

        sink, raw_sink = self.sinks[index], self.raw_sinks[index]
        yield Progress(0, 1, f"writing {sink.path.name}")
        if raw_sink is None:
            found = found_at(captured.landmarks, captured.raw.num_frames, captured.raw.fps, captured.start_seconds)
            write_encoded(sink.path, captured.coded.encoded, extra=raw_fit_arrays(captured.raw, found))
            return Written([f"{sink.path}: {captured.decoded.num_frames} frames at {CODING_FPS:g} fps, their tokens "
                            f"({codec_label(captured.codec_names)}) and the raw fit"])
        written = sink.write(captured.decoded)
        raw_written = raw_sink.write(captured.raw)
        return Written(written.lines + [line + " (the raw fit)" for line in raw_written.lines],
                       written.warnings + raw_written.warnings)


def capture(options: CaptureOptions, sink) -> CaptureResult:
    """`capture_steps` run to the end; the CaptureResult."""
    return run_steps(capture_steps(options, sink))
