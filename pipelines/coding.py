"""Motion coded and decoded per part a slice of frames at a time, as steps
(pipelines.progress): what the encode, decode and quantize jobs share.

A k-means codec codes each frame alone, so its slices are exact; an RQ-VAE's convolutions
reach `Codec.context_frames` either side, so each slice is coded with that many frames of
its neighbours around it and only its own frames kept: the whole's tokens and features.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.codecs.base import Codec
from ..core.codecs.coding import EncodedMotion, codec_label, require_token_frames
from ..core.codecs.features import at_codec_rate, part_features, with_part_features
from ..core.codecs.registry import codec_folder, load_codec
from ..core.motion import Motion
from . import chunks
from .chunks import chunk_what, frame_chunks, with_context
from .progress import Progress, Steps


def load_codecs(codec_names: dict[str, str], models_dir=None) -> dict[str, Codec]:
    """part -> the codec loaded (and verified) from the bundle of its name; BundleError for a
    missing or damaged bundle."""
    return {part: load_codec(codec_folder(name, part, models_dir)) for part, name in codec_names.items()}


def _sliced(run, num_frames: int, context: int, what: str, before: int, total: int) -> Steps:
    """Steps of `run(a, b)` (the results of frames [a, b)) a slice of frames each, with
    `context` frames either side (chunks.with_context), counted from `before` of `total`;
    the results of every frame, in one array."""
    out = None
    for frames in frame_chunks(num_frames, chunks.CHUNK_FRAMES):
        yield Progress(before + frames.start, total, chunk_what(what, frames, num_frames))
        part = with_context(run, num_frames, frames, context)
        if out is None:  # the slices' own dtype, so the values are the whole's
            out = np.empty((num_frames, *part.shape[1:]), dtype=part.dtype)
        out[frames] = part
    return out


def encode_parts_steps(motion: Motion, codecs: dict[str, Codec]) -> Steps:
    """Steps coding each part of `motion` (any rate, resampled to 30 fps), then decoding
    each back, a slice of frames each, Progress out of 2 x parts x frames at 30 fps; the
    EncodedMotion core.codecs.coding.encode_parts makes."""
    motion30 = at_codec_rate(motion)
    n = motion30.num_frames
    total = 2 * n * len(codecs)
    tokens = {}
    for i, (part, codec) in enumerate(codecs.items()):
        def features(a, b, part=part, codec=codec):
            return codec.encode(part_features(motion30.frames(a, b), part))

        tokens[part] = yield from _sliced(features, n, codec.context_frames[0], f"coding the {part},", i * n, total)
    decoded = yield from decode_parts_steps(tokens, codecs, motion30, len(codecs) * n, total)
    return EncodedMotion(tokens, replace(decoded, name=f"{motion.name} ({codec_label(_names(codecs))})"), codecs)


def decode_parts_steps(tokens: dict[str, np.ndarray], codecs: dict[str, Codec], template: Motion,
                       before: int = 0, total: int | None = None) -> Steps:
    """Steps decoding each part's tokens onto `template`, a slice of frames each, Progress
    from `before` of `total` (default: `before` + parts x frames at 30 fps); the motion
    core.codecs.coding.decode_parts makes (MotionTokensError, as there, for tokens of another
    frame count, before anything is decoded)."""
    motion = require_token_frames(tokens, template)
    n = motion.num_frames
    total = before + n * len(tokens) if total is None else total
    for i, (part, part_tokens) in enumerate(tokens.items()):
        codec = codecs[part]
        features = yield from _sliced(lambda a, b, t=part_tokens, c=codec: c.decode(t[a:b]), n,
                                      codec.context_frames[1], f"decoding the {part},", before + i * n, total)
        motion = with_part_features(motion, part, features)
    return motion


def _names(codecs: dict[str, Codec]) -> dict[str, str]:
    return {part: codec.name for part, codec in codecs.items()}
