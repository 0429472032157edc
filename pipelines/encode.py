"""The encode job: a motion file coded per part into a tokens file; and `code_motion`, the
coding plus its error that the quantize job shares."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.codecs.coding import EncodedMotion, encode_parts, part_rmse_cm, write_encoded
from ..core.codecs.registry import installed_parts
from ..core.errors import OutputError
from ..core.motion import Motion
from ..core.retarget import read_smplx_motion
from .outputs import refuse_output_onto_input


@dataclass(frozen=True)
class Coded:
    """encoded: the tokens, decoded motion and codecs; rmse_cm: part -> joint position RMSE
    (cm) of the decoded part against the original."""

    encoded: EncodedMotion
    rmse_cm: dict[str, float]


def code_motion(motion: Motion, codecs: dict[str, str], models_dir=None) -> Coded:
    """Code `motion` with codecs (part -> codec name, every bundle loaded and verified
    first); the coding and the per-part joint position error."""
    encoded = encode_parts(motion, codecs, models_dir)
    return Coded(encoded, part_rmse_cm(motion, encoded.decoded, list(codecs)))


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


def encode(options: EncodeOptions) -> EncodeResult:
    """Code `options.source` with `options.codec` and write the tokens file; the coding and
    a line for the file plus one per part. OutputError for an output that is not .npz or is
    the source, MotionTokensError when no bundle of the codec is installed, before anything is
    read."""
    out = Path(options.out)
    if out.suffix.lower() != ".npz":
        raise OutputError(f"{out}: a tokens file is an .npz; give the output a .npz suffix")
    refuse_output_onto_input(out, [options.source])
    parts = installed_parts(options.codec, options.models_dir)
    warnings: list[str] = []
    motion = read_smplx_motion(options.source, None, None, warnings)
    coded = code_motion(motion, {part: options.codec for part in parts}, options.models_dir)
    write_encoded(out, coded.encoded)
    decoded = coded.encoded.decoded
    lines = [f"{out}: {decoded.num_frames} frames at {decoded.fps:g} fps coded with {options.codec}"]
    return EncodeResult(coded, lines + [_part_line(part, coded) for part in parts], warnings)
