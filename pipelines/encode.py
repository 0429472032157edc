"""The encode job: a motion file coded per part into a tokens file; and `code_motion_steps`,
the coding plus its error that the quantize job shares."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.codecs.coding import (
    EncodedMotion,
    encode_parts_steps,
    load_codecs,
    write_encoded,
)
from ..core.codecs.features import part_features, position_squared_error, rmse_cm_of
from ..core.codecs.registry import installed_parts
from ..core.errors import OutputError
from ..core.motion import Motion
from ..core.retarget import read_smplx_motion
from ..core.steps import Progress, Steps, run_steps, within
from .outputs import refuse_output_onto_input


@dataclass(frozen=True)
class Coded:
    """encoded: the tokens, decoded motion and codecs; rmse_cm: part -> joint position RMSE
    (cm) of the decoded part against the original."""

    encoded: EncodedMotion
    rmse_cm: dict[str, float]


#: Frames (at 30 fps) of the error measured in one step: about 0.2 s for the hands beside a test run.
MEASURE_SLICE = 8192


def code_motion_steps(motion: Motion, codecs: dict[str, str], models_dir=None) -> Steps:
    """Steps coding `motion` with codecs (part -> codec name, every bundle loaded and
    verified first) a slice of frames at a time (core.codecs.coding), then measuring the
    error, a step per part and slice of MEASURE_SLICE frames; Progress out of 3 x parts x frames (coding, decoding,
    measuring); the Coded: the coding and the per-part joint position error."""
    loaded = load_codecs(codecs, models_dir)
    units = len(codecs) * motion.num_frames
    encoded = yield from within(encode_parts_steps(motion, loaded), 0, 2 * units, 3 * units)
    rmse_cm = {}
    for i, part in enumerate(codecs):
        original, decoded = part_features(motion, part), part_features(encoded.decoded, part)
        n = len(original)
        total = 0.0
        for start in range(0, n, MEASURE_SLICE):  # a long take's forward kinematics take a while
            done = (2 * len(codecs) + i) * motion.num_frames + start * motion.num_frames // max(n, 1)
            yield Progress(done, 3 * units, f"measuring the joint position error of the {part}, frames "
                                            f"{start + 1}-{min(start + MEASURE_SLICE, n)} of {n}")
            total += position_squared_error(original[start:start + MEASURE_SLICE], decoded[start:start + MEASURE_SLICE], part)
        rmse_cm[part] = rmse_cm_of(total, n, part) if n else float("nan")
    return Coded(encoded, rmse_cm)


@dataclass(frozen=True)
class EncodeOptions:
    """source: motion file (.npz, .bvh); codec: a name such as kmeans-6, used for every part
    it has a bundle for; out: the tokens .npz; models_dir: None for the extension's models/."""

    source: str | os.PathLike
    codec: str
    out: Path
    models_dir: str | os.PathLike | None = None


@dataclass
class EncodeResult:
    coded: Coded
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def _part_line(part: str, coded: Coded) -> str:
    codec, tokens = coded.encoded.codecs[part], coded.encoded.tokens[part]
    return (f"  {part}: tokens {tokens.shape}, {codec.size_label}, {codec.bits_per_frame:g} bits/frame = "
            f"{codec.bits_per_second:g} bits/s, joint position RMSE {coded.rmse_cm[part]:.2f} cm")


def encode_steps(options: EncodeOptions) -> Steps:
    """The encode as steps (core.steps): read `options.source`, code it with
    `options.codec` a slice of frames at a time per part, write the tokens file; Progress
    counts frames (the read one share, the coding three, the writing one); returns the
    EncodeResult: the coding and a line for the file plus one per part. OutputError for an
    output that is not .npz or is the source, MotionTokensError when no bundle of the codec is
    installed, before anything is read."""
    out = Path(options.out)
    if out.suffix.lower() != ".npz":
        raise OutputError(f"{out}: a tokens file is an .npz; give the output a .npz suffix")
    refuse_output_onto_input(out, [options.source])
    parts = installed_parts(options.codec, options.models_dir)
    warnings: list[str] = []
    yield Progress(0, 1, f"reading {Path(options.source).name}")
    motion = read_smplx_motion(options.source, None, None, warnings)
    n = motion.num_frames
    coding = code_motion_steps(motion, {part: options.codec for part in parts}, options.models_dir)
    coded = yield from within(coding, n, 3 * n, 5 * n)
    decoded = coded.encoded.decoded
    yield Progress(4 * n, 5 * n, f"writing {decoded.num_frames} frames and their tokens")
    write_encoded(out, coded.encoded)
    lines = [f"{out}: {decoded.num_frames} frames at {decoded.fps:g} fps coded with {options.codec}"]
    return EncodeResult(coded, lines + [_part_line(part, coded) for part in parts], warnings)


def encode(options: EncodeOptions) -> EncodeResult:
    """`encode_steps` run to the end; the EncodeResult."""
    return run_steps(encode_steps(options))
