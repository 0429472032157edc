"""Motion coded per part and back: the one encode and decode of whole motions.

    encoded = encode_parts(motion, {"body": "kmeans-6", "hands": "rqvae-9"})
    encoded.tokens["hands"]                 # (T, 3) int64 at 30 fps
    write_encoded("take.npz", encoded)      # a tokens file (core.formats.tokens)
    tokens_file = read_tokens_file("take.npz")
    motion = decoded_motion(tokens_file, load_tokens_codecs(tokens_file))

Each part is coded by its own codec (registry.py); the root orientation and translation, the
face and the parts not coded are carried through from the input (the template, on decoding).
Coding runs a slice of frames at a time as steps (`encode_parts_steps`, `decode_parts_steps`),
so long takes show progress and can be stopped: a k-means codec codes each frame alone, so its
slices are exact; an RQ-VAE's convolutions reach `Codec.context_frames` either side, so each
slice is coded with that many frames of its neighbours around it and only its own kept.
A codec of several frames per latent (rqvae4) has ceil(T / frames_per_latent) rows of tokens
at its own `token_fps`; its slices are whole latents (frames_per_latent frames each), its
context as many latents as cover the context frames.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import LayoutError, MotionTokensError, OutputError, pass_on
from ..formats.tokens import TOKEN_KEYS, Codebook, TokensFile, write_tokens_file
from ..motion import Motion
from ..steps import CHUNK_FRAMES, Progress, Steps, chunk_what, frame_chunks, run_steps, with_context
from .base import Codec
from .features import at_codec_rate, part_features, position_rmse_cm, with_part_features
from .registry import codec_folder, load_codec, require_codec_folder

_log = logging.getLogger(__name__)


@dataclass
class EncodedMotion:
    """tokens: part -> int64 tokens ((T,) k-means, (T, Q) RQ-VAE) at 30 fps; decoded: the
    motion rebuilt from the tokens (30 fps; root, face and uncoded parts from the input);
    codecs: part -> the Codec used."""

    tokens: dict[str, np.ndarray]
    decoded: Motion
    codecs: dict[str, Codec]


def codec_label(codec_names: dict[str, str]) -> str:
    """A short label of the codecs used: 'kmeans-6' when every part uses it; 'rqvae-12, rqvae-10
    face' when one codec codes several parts and others the rest (the shared one first, alone);
    else each part's, 'kmeans-6 body, kmeans-9 hands'."""
    counts = Counter(codec_names.values())
    shared, uses = counts.most_common(1)[0] if counts else ("", 0)
    if len(counts) == 1:
        return shared
    if uses > 1:
        return ", ".join([shared] + [f"{name} {part}" for part, name in codec_names.items() if name != shared])
    return ", ".join(f"{name} {part}" for part, name in codec_names.items())


def load_codecs(codec_names: dict[str, str], models_dir=None) -> dict[str, Codec]:
    """part -> the codec loaded (and verified) from the bundle of its name; BundleError for a
    missing or damaged bundle."""
    return {part: load_codec(codec_folder(name, part, models_dir)) for part, name in codec_names.items()}


def encode_parts(motion: Motion, codec_names: dict[str, str], models_dir=None) -> EncodedMotion:
    """Code each part of `motion` with its codec: codec_names maps part -> codec name
    ('body' -> 'kmeans-6', 'hands' -> 'rqvae-9'); any frame rate (resampled to 30 fps).

    Every bundle is loaded (and verified) before anything is coded. The decoded motion is at
    30 fps, its root, face and uncoded parts those of the input, named after the input and
    the codecs. Raises BundleError for a missing or damaged bundle, SkeletonError when the
    motion is not SMPL-X. `encode_parts_steps` run to the end.
    """
    return run_steps(encode_parts_steps(motion, load_codecs(codec_names, models_dir)))


def decode_parts(tokens: dict[str, np.ndarray], codecs: dict[str, Codec], template: Motion) -> Motion:
    """The motion that `tokens` (part -> tokens of codecs[part]) code, at 30 fps.

    template: supplies the skeleton, name, root orientation and translation, face, and the
    parts not in `tokens`; resampled to 30 fps, it must have as many frames as the tokens.
    Raises MotionTokensError for a frame count that differs or tokens the codec cannot decode.
    `decode_parts_steps` run to the end.
    """
    return run_steps(decode_parts_steps(tokens, codecs, template))


def require_token_frames(tokens: dict[str, np.ndarray], template: Motion,
                         codecs: dict[str, Codec] | None = None) -> Motion:
    """`template` at 30 fps; MotionTokensError when a part's tokens cover another frame count
    (ceil(T / frames_per_latent) rows for codecs[part], T rows without codecs)."""
    motion = at_codec_rate(template)
    for part, part_tokens in tokens.items():
        n = len(part_tokens)
        fpl = codecs[part].frames_per_latent if codecs and part in codecs else 1
        if n != -(-motion.num_frames // fpl):
            covers = f"{n} frames" if fpl == 1 else f"{n} latents of {fpl} frames"
            raise MotionTokensError(
                f"{part} tokens cover {covers} but the template motion {template.name!r} has "
                f"{motion.num_frames} frames at 30 fps; decode with the motion the tokens were made from"
            )
    return motion


def codebook_record(codec: Codec) -> Codebook:
    """The tokens file's record of the codebook `codec` codes with: its bundle's weights
    sha256, family and size fields. OutputError for a codec not loaded from a bundle."""
    if codec.bundle is None:
        raise OutputError(f"codec {codec.name} ({codec.part}) was not loaded from a bundle: its tokens cannot say "
                          "which codebook made them; write the bundle (write_bundle) and load it first")
    return Codebook(codec.bundle.weights_sha256, codec.family, codec.size_fields)


def write_encoded(path: str | os.PathLike, encoded: EncodedMotion, extra: dict | None = None) -> Path:
    """Write the decoded motion and its tokens as a tokens file (core.formats.tokens) at
    `path`, atomically, with the codebook record of each part (codebook_record) and the
    `extra` arrays. Raises
    OutputError for another suffix, an unwritable path, or codecs that code at different rates."""
    fps = {codec.fps for codec in encoded.codecs.values()}
    if len(fps) != 1:
        raise OutputError(f"cannot write {path}: the codecs code at different rates ({sorted(fps)} fps)")
    names = {part: codec.name for part, codec in encoded.codecs.items()}
    codebooks = {part: codebook_record(codec) for part, codec in encoded.codecs.items()}
    rates = {part: codec.token_fps for part, codec in encoded.codecs.items()}
    return write_tokens_file(path, encoded.decoded, encoded.tokens, names, fps.pop(), codebooks, rates, extra=extra)


#: How to decode with a codebook other than the one a file records.
ACCEPT_HINT = "decode anyway with --accept-other-codebook (DecodeOptions.accept_other_codebook)"


def _codebook_problem(tokens_file: TokensFile, part: str, codec: Codec) -> tuple[str, str] | None:
    """(what is wrong, what to do) when `codec` is not the codebook that made the part's
    tokens; None when it is."""
    bundle, key = f"{codec.name}-{part}", TOKEN_KEYS[part]
    recorded = tokens_file.codebooks.get(part)
    if recorded is None:
        return (f"records no codebook for `{key}` (written before tokens files named their codebooks' sha256), so "
                f"nothing shows that the installed {bundle} made them", "re-encode the source motion")
    installed = codebook_record(codec)
    if recorded.layout != installed.layout:
        return (f"`{key}` were made by a {recorded.layout} codebook (weights sha256 {recorded.sha256}) but the "
                f"installed {bundle} is {installed.layout} (sha256 {installed.sha256})", "decode with the bundle that made them")
    if recorded.sha256 != installed.sha256:
        return (f"`{key}` were made by the codebook with weights sha256 {recorded.sha256} but the installed {bundle} "
                f"has {installed.sha256} (another or a retrained bundle of that name)", "decode with the bundle that made them")
    return None


def check_codebooks(tokens_file: TokensFile, codecs: dict[str, Codec], accept_other: bool = False,
                    warnings: list[str] | None = None) -> None:
    """Refuse (LayoutError naming the file) a part whose codec is not the codebook the file
    records (weights sha256, family and size fields), or for which it records none. With
    accept_other each such part is decoded anyway: a warning (appended to `warnings`, or logged)."""
    problems = [p for part, codec in codecs.items() if (p := _codebook_problem(tokens_file, part, codec))]
    if problems and not accept_other:
        what, remedy = problems[0]
        raise LayoutError(tokens_file.path, f"{what}; {remedy}, or {ACCEPT_HINT}")
    notes = [f"{what}; decoded anyway as asked (--accept-other-codebook): the motion may be wrong"
             for what, _ in problems]
    pass_on(notes, warnings, _log, tokens_file.path, logging.WARNING)


def load_tokens_codecs(tokens_file: TokensFile, models_dir=None, accept_other_codebook: bool = False,
                       warnings: list[str] | None = None) -> dict[str, Codec]:
    """part -> the loaded codec each bundle named in `tokens_file` gives, from `models_dir`
    (default the shipped models/), checked against the file.

    Raises LayoutError naming the file: a bundle that is not installed, a `token_fps` that is
    not the codecs' rate or the motion's, tokens of the wrong shape or range for their codec,
    a codec that is not the codebook the file records (check_codebooks; with
    accept_other_codebook a warning appended to `warnings` instead); BundleError when a named
    bundle is damaged.
    """
    path = tokens_file.path
    codecs = {}
    for part, name in tokens_file.codec_names.items():
        try:
            folder = require_codec_folder(name, part, models_dir)
        except MotionTokensError as exc:
            raise LayoutError(path, f"names the codec bundle {name}-{part}, which is not installed: {exc}") from None
        codecs[part] = load_codec(folder)
    token_fps = tokens_file.token_fps
    for part, codec in codecs.items():
        if abs(token_fps - codec.fps) > 1e-6:
            raise LayoutError(path, f"`token_fps` is {token_fps:g} but codec {codec.name}-{part} codes {codec.fps:g} tokens a second")
        if abs(tokens_file.fps_of(part) - codec.token_fps) > 1e-6:
            raise LayoutError(path, f"the {part} tokens are at {tokens_file.fps_of(part):g} a second "
                              f"(`token_fps_{part}`, else `token_fps`) but codec {codec.name}-{part} codes "
                              f"{codec.token_fps:g} rows of tokens a second")
    template = tokens_file.template
    if abs(template.fps - token_fps) > 1e-6:
        raise LayoutError(
            path, f"the motion is at {template.fps:g} fps (`mocap_frame_rate`) but the tokens at {token_fps:g} (`token_fps`)"
        )
    for part, codec in codecs.items():
        try:
            codec.check_tokens(tokens_file.tokens[part], codec.num_latents(template.num_frames), "`poses`")
        except ValueError as exc:
            raise LayoutError(path, f"`{TOKEN_KEYS[part]}` {exc}") from None
    check_codebooks(tokens_file, codecs, accept_other_codebook, warnings)
    return codecs


def decoded_motion(tokens_file: TokensFile, codecs: dict[str, Codec]) -> Motion:
    """The motion the tokens of `tokens_file` code with `codecs` (load_tokens_codecs): its
    template with each coded part decoded from its tokens, smoothed at the file's seam frames
    as generate smoothed it (core/inertialization.py)."""
    motion = decode_parts(tokens_file.tokens, codecs, tokens_file.template)
    if tokens_file.seam_frames:
        from ..inertialization import smoothed_at_seams

        motion = smoothed_at_seams(motion, tokens_file.seam_frames)
    return motion


# --- coding a slice of frames at a time, as steps (core.steps) ------------------------------


def _sliced(run, num_frames: int, context: int, what: str, before: int, total: int) -> Steps:
    """Steps of `run(a, b)` (the results of frames [a, b)) a slice of frames each, with
    `context` frames either side (core.steps.with_context), counted from `before` of `total`;
    the results of every frame, in one array."""
    out = None
    for frames in frame_chunks(num_frames):
        yield Progress(before + frames.start, total, chunk_what(what, frames, num_frames))
        part = with_context(run, num_frames, frames, context)
        if out is None:  # the slices' own dtype, so the values are the whole's
            out = np.empty((num_frames, *part.shape[1:]), dtype=part.dtype)
        out[frames] = part
    return out


def _sliced_latents(run, codec: Codec, num_frames: int, side: int, what: str, before: int, total: int) -> Steps:
    """_sliced over whole latents of `codec` (frames_per_latent frames each): `run(a, b)` the
    results of latents [a, b); the context the latents that cover codec.context_frames[side]
    frames. Progress counts frames."""
    fpl = codec.frames_per_latent
    if fpl == 1:
        return (yield from _sliced(run, num_frames, codec.context_frames[side], what, before, total))
    latents = codec.num_latents(num_frames)
    context = -(-codec.context_frames[side] // fpl) + 1
    out = None
    for block in frame_chunks(latents, max(1, CHUNK_FRAMES // fpl)):
        yield Progress(before + min(block.start * fpl, num_frames), total,
                       chunk_what(what, slice(block.start * fpl, min(block.stop * fpl, num_frames)), num_frames))
        part = with_context(run, latents, block, context)
        if out is None:
            out = np.empty((latents, *part.shape[1:]), dtype=part.dtype)
        out[block] = part
    return out


def encode_parts_steps(motion: Motion, codecs: dict[str, Codec]) -> Steps:
    """Steps coding each part of `motion` (any rate, resampled to 30 fps), then decoding
    each back, a slice of frames each, Progress out of 2 x parts x frames at 30 fps; the
    EncodedMotion `encode_parts` makes."""
    motion30 = at_codec_rate(motion)
    n = motion30.num_frames
    total = 2 * n * len(codecs)
    tokens = {}
    for i, (part, codec) in enumerate(codecs.items()):
        fpl = codec.frames_per_latent

        def features(a, b, part=part, codec=codec, fpl=fpl):  # latents [a, b): frames [a fpl, b fpl)
            return codec.encode(part_features(motion30.frames(a * fpl, min(b * fpl, n)), part))

        tokens[part] = yield from _sliced_latents(features, codec, n, 0, f"coding the {part},", i * n, total)
    decoded = yield from decode_parts_steps(tokens, codecs, motion30, len(codecs) * n, total)
    return EncodedMotion(tokens, replace(decoded, name=f"{motion.name} ({codec_label(_names(codecs))})"), codecs)


def decode_parts_steps(tokens: dict[str, np.ndarray], codecs: dict[str, Codec], template: Motion,
                       before: int = 0, total: int | None = None) -> Steps:
    """Steps decoding each part's tokens onto `template`, a slice of frames each, Progress
    from `before` of `total` (default: `before` + parts x frames at 30 fps); the motion
    `decode_parts` makes (MotionTokensError, as there, for tokens of another
    frame count, before anything is decoded)."""
    motion = require_token_frames(tokens, template, codecs)
    n = motion.num_frames
    total = before + n * len(tokens) if total is None else total
    for i, (part, part_tokens) in enumerate(tokens.items()):
        codec = codecs[part]
        fpl = codec.frames_per_latent

        def run(a, b, t=part_tokens, c=codec, fpl=fpl):  # (latents, fpl, F): sliced by latent
            return c.decode(t[a:b]).reshape(b - a, fpl, -1)

        features = yield from _sliced_latents(run, codec, n, 1, f"decoding the {part},", before + i * n, total)
        motion = with_part_features(motion, part, features.reshape(-1, features.shape[-1])[:n])
    return motion


def _names(codecs: dict[str, Codec]) -> dict[str, str]:
    return {part: codec.name for part, codec in codecs.items()}
