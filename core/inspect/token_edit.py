"""Edit motion by editing its tokens: pin a code (or a run of codes copied from elsewhere) on a
range of frames, decode again, and change nothing beyond the range and a blend margin.

Units and shapes. Frames are motion frames at the codecs' 30 fps, ranges half-open
[start, stop). Tokens are a codec's ((N,) int for k-means, (N, Q) for RQ-VAE), one row per
`frames_per_latent` frames (1; 4 for rqvae4, N = ceil(T / 4)). Features are a part's
(core/codecs/features.py): (T, F) axis-angle radians per joint, then expression coefficients.

    edited = edited_tokens(codec, tokens, 60, 90, 17)                 # k-means: code 17
    edited = edited_tokens(codec, tokens, 60, 90, (3, 5))             # RQ-VAE: one code per level
    edited = edited_tokens(codec, tokens, 100, 130, copied_tokens(codec, tokens, 0, 30))
    features = decoded_edit(codec, original_features, tokens, edited, 60, 90)
    encoded = edit_motion_tokens(encoded, "body", 60, 90, 17)          # EncodedMotion in and out

Which rows an edit replaces: every row whose frames overlap [start, stop). For rqvae4 a latent
only partly inside the range is replaced whole, so the tokens change up to 3 frames beyond the
range on either side; those frames lie inside the margin below (it counts them). A sequence is
laid over the rows from the first replaced one: a longer one is cut to the rows' count, a
shorter one repeats from its first row (tiled). Copying rows between ranges whose starts differ
modulo 4 shifts an rqvae4 copy by up to 3 frames (a latent cannot be split).

What the decoded edit is (`decoded_edit`). Let e be the decode of the edited tokens and o the
unedited decode. Frames in [start, stop) are e. Frames outside [start - M, stop + M) are o,
bit for bit (copied, whatever the decoder did). In the margins, per joint
    q(f) = slerp(o(f), target(f), w(f)),  w = 3 s^2 - 2 s^3 (smoothstep),
    s = (f - (start - M - 1)) / (M + 1) before the range, (stop + M - f) / (M + 1) after it,
expression coefficients linearly (o + w (target - o)); w rises from 0 just outside the margin
to 1 at the range, and moves at most 1.5 / (M + 1) a frame. target(f) is e(f) where the edit
can change the decode, held at the edge of that stretch beyond it: e(clip(f, a - R, b + R - 1)),
[a, b) the frames of the replaced rows, R the decoder's reach below. For k-means (R = 0) the
target in the margins is the range's first (last) decoded pose, so the motion eases into the
pinned pose instead of jumping to it; for RQ-VAE with the default margin it is the decode of
the edited tokens itself, eased in over the frames the decoder spreads the change across.

The decoder's reach R: how many frames beyond a changed latent's own frames its decode changes.
Measured on the shipped body bundles (decode 400 frames of random tokens, change one code of
the middle latent, at every level, to other codes, and find the farthest frame that differs at
all): k-means 0 (a per-frame lookup), rqvae 42 on both sides (rqvae-6, -9, -12), rqvae4 72
(rqvae4-6, -12), the analytic reach of their layer plans (`decoder_reach_frames`, from
`Codec.context_frames`). `MEASURED_DECODER_REACH` keeps the numbers; tests/test_token_edit.py
measures them again. The smallest margin is R + frames_per_latent - 1 (the partial latents),
so that every frame the edited tokens can change lies inside it: 0 for k-means, 42 frames
(1.4 s) for rqvae, 75 frames (2.5 s) for rqvae4. The default margin is that, and at least
`BLEND_FRAMES` (6 frames, 0.2 s): k-means 6, rqvae 42, rqvae4 75.
"""

from __future__ import annotations

import numbers
from dataclasses import replace

import numpy as np

from .. import rotations as rot
from ..codecs.base import Codec
from ..codecs.coding import EncodedMotion
from ..codecs.features import at_codec_rate, part_features, with_part_features
from ..errors import MotionTokensError, OptionError
from ..limits import MAX_FRAME
from ..motion import Motion
from ..parts import get_part

#: The shortest blend margin, frames (0.2 s at 30 fps): a pinned k-means pose eases in over it.
BLEND_FRAMES = 6
#: Family -> frames beyond a changed latent's own frames whose decode changes, measured on the
#: shipped body bundles (module docstring); `decoder_reach_frames` gives a codec's.
MEASURED_DECODER_REACH = {"kmeans": 0, "rqvae": 42, "rqvae4": 72}


def decoder_reach_frames(codec: Codec) -> int:
    """Frames either side of a latent's own frames that changing its tokens can change in the
    decode: the decoder's receptive field (0 for k-means)."""
    # context_frames[1] counts from a latent's first frame; a latent's frames span fpl - 1 more.
    return codec.context_frames[1] - (codec.frames_per_latent - 1)


def min_margin_frames(codec: Codec) -> int:
    """The smallest blend margin for `codec`: the reach plus a partial latent's frames."""
    return decoder_reach_frames(codec) + codec.frames_per_latent - 1


def default_margin_frames(codec: Codec) -> int:
    """The blend margin used when none is given: min_margin_frames, at least BLEND_FRAMES."""
    return max(min_margin_frames(codec), BLEND_FRAMES)


def token_rows(codec: Codec, start: int, stop: int) -> slice:
    """The rows of tokens whose frames overlap the frames [start, stop)."""
    fpl = codec.frames_per_latent
    return slice(start // fpl, -(-stop // fpl))


def edit_window(codec: Codec, start: int, stop: int, num_frames: int, margin_frames: int | None = None) -> slice:
    """The frames an edit of [start, stop) may change: [start - M, stop + M) within the motion."""
    margin = _checked_margin(codec, margin_frames)
    return slice(max(start - margin, 0), min(stop + margin, num_frames))


def copied_tokens(codec: Codec, tokens, start: int, stop: int, num_frames: int | None = None) -> np.ndarray:
    """The rows of `tokens` covering frames [start, stop): a sequence to paste elsewhere
    (edited_tokens). OptionError for a range outside the motion."""
    t = _checked_tokens(codec, tokens, num_frames)
    _check_range(start, stop, _frames_of(codec, t, num_frames))
    return t[token_rows(codec, start, stop)].copy()


def edited_tokens(codec: Codec, tokens, start: int, stop: int, replacement, num_frames: int | None = None) -> np.ndarray:
    """A copy of `tokens` (int64) whose rows covering frames [start, stop) hold `replacement`.

    replacement: one code repeated over the rows (an int for k-means; Q ints, one per level,
    for RQ-VAE), or a sequence of rows ((L,) for k-means, (L, Q) for RQ-VAE) tiled or cut to
    the rows' count (module docstring). num_frames: the motion's frames (default every frame
    the rows cover). Raises OptionError naming what is wrong: a range outside the motion or
    empty, a code that is not a whole number or not below the codebook's size, the wrong
    number of levels; MotionTokensError for tokens that are not the codec's.
    """
    t = _checked_tokens(codec, tokens, num_frames)
    _check_range(start, stop, _frames_of(codec, t, num_frames))
    rows = token_rows(codec, start, stop)
    codes = _replacement_rows(codec, replacement)
    out = t.copy()
    out[rows] = codes[np.arange(rows.stop - rows.start) % len(codes)]
    return out


def decoded_edit(codec: Codec, original_features, tokens, edited, start: int, stop: int,
                 margin_frames: int | None = None) -> np.ndarray:
    """(T, F) features: the decode of `edited` on [start, stop), `original_features` (the
    decode of `tokens`) outside [start - M, stop + M) exactly, the two blended in between
    (module docstring). margin_frames M: default default_margin_frames(codec), at least
    min_margin_frames(codec). Raises OptionError for a bad range or margin, MotionTokensError
    for features or tokens that are not the codec's, or edited tokens that differ from
    `tokens` outside the rows covering [start, stop).
    """
    o = np.asarray(original_features)
    if o.ndim != 2 or o.shape[1] != codec.num_features:
        raise MotionTokensError(f"codec {codec.name} ({codec.part}) decodes ({codec.num_features},)-wide frames, "
                                f"got original features {o.shape}")
    T = len(o)
    before, after = _checked_tokens(codec, tokens, T), _checked_tokens(codec, edited, T)
    _check_range(start, stop, T)
    margin = _checked_margin(codec, margin_frames)
    rows = token_rows(codec, start, stop)
    changed = np.flatnonzero((before != after).reshape(len(before), -1).any(axis=1))
    outside = changed[(changed < rows.start) | (changed >= rows.stop)]
    if outside.size:
        raise MotionTokensError(f"the edited tokens differ from the original at row {outside[0]}, outside rows "
                                f"{rows.start}-{rows.stop - 1} that cover frames {start}-{stop - 1}")
    fpl, reach = codec.frames_per_latent, decoder_reach_frames(codec)
    lo, hi = max(rows.start * fpl - reach, 0), min(rows.stop * fpl + reach, T)  # where e may differ from o
    first, decoded = _decoded_stretch(codec, after, lo, hi, T)
    window = np.arange(max(start - margin, 0), min(stop + margin, T))
    target = decoded[np.clip(window, lo, hi - 1) - first]
    out = o.copy()
    out[start:stop] = target[start - window[0] : stop - window[0]]
    in_margin = (window < start) | (window >= stop)
    if in_margin.any():
        frames = window[in_margin]
        s = np.where(frames < start, frames - (start - margin - 1), stop + margin - frames) / (margin + 1)
        out[frames] = _blended(o[frames], target[in_margin], s * s * (3.0 - 2.0 * s), codec.part)
    return out


def edit_motion_tokens(encoded: EncodedMotion, part: str, start: int, stop: int, replacement,
                       margin_frames: int | None = None) -> EncodedMotion:
    """`encoded` with the `part`'s tokens on frames [start, stop) replaced (edited_tokens) and
    its decoded motion re-decoded there (decoded_edit): a new EncodedMotion. Only the part's
    tokens change; the decoded motion changes only on the part's joints (and expression
    coefficients) within edit_window: every other array, and every frame outside the window,
    is the input's bit for bit. A tokens file is edited through `encoded_tokens_file`.
    Raises OptionError for a part not coded, or as edited_tokens and decoded_edit do."""
    if part not in encoded.tokens:
        raise OptionError(f"part {part!r} is not coded here; the coded parts are {', '.join(encoded.tokens) or 'none'}")
    codec, motion = encoded.codecs[part], at_codec_rate(encoded.decoded)
    T = motion.num_frames
    edited = edited_tokens(codec, encoded.tokens[part], start, stop, replacement, T)
    window = edit_window(codec, start, stop, T, margin_frames)
    features = decoded_edit(codec, part_features(motion, part), encoded.tokens[part], edited, start, stop, margin_frames)
    return EncodedMotion({**encoded.tokens, part: edited}, _spliced(motion, part, features, window), encoded.codecs)


def encoded_tokens_file(tokens_file, codecs: dict[str, Codec]) -> EncodedMotion:
    """A tokens file (core.formats.tokens.TokensFile) as the EncodedMotion edit_motion_tokens
    takes, decoded with `codecs` (core.codecs.coding.load_tokens_codecs) as decoding it would
    (smoothed at its seam frames; a writer keeping `seam_frames` should drop those inside an
    edit's window, or reading it back smooths the edited frames again)."""
    from ..codecs.coding import decoded_motion

    return EncodedMotion(dict(tokens_file.tokens), decoded_motion(tokens_file, codecs), codecs)


# --- checks --------------------------------------------------------------------------------


def _whole(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_range(start, stop, num_frames: int) -> None:
    """OptionError unless 0 <= start < stop <= num_frames, whole frame numbers."""
    for name, value in (("start", start), ("stop", stop)):
        if not _whole(value):
            raise OptionError(f"edit range: the {name} frame must be a whole frame number, got {value!r}")
    if not 0 <= start < num_frames:
        raise OptionError(f"edit range: the start frame {start} is outside the motion's {num_frames} frames "
                          f"(0 to {num_frames - 1})")
    if not start < stop <= num_frames:
        raise OptionError(f"edit range: the stop frame {stop} must be after the start frame {start} and at most "
                          f"the motion's {num_frames} frames (the range [start, stop) excludes stop)")


def _checked_margin(codec: Codec, margin_frames) -> int:
    """The margin to blend over: the default, or `margin_frames` checked against the minimum."""
    if margin_frames is None:
        return default_margin_frames(codec)
    least = min_margin_frames(codec)
    if not _whole(margin_frames) or not least <= margin_frames <= MAX_FRAME:
        raise OptionError(f"margin_frames must be a whole number of frames from {least} (the decoder's reach for "
                          f"{codec.name}-{codec.part}, so every frame the edit changes is blended) to {MAX_FRAME}, "
                          f"got {margin_frames!r}")
    return int(margin_frames)


def _checked_tokens(codec: Codec, tokens, num_frames: int | None) -> np.ndarray:
    """`tokens` as int64, the codec's shape and range for `num_frames` frames (any when None)."""
    try:
        rows = None if num_frames is None else codec.num_latents(num_frames)
        return codec.check_tokens(tokens, rows)
    except ValueError as exc:
        raise MotionTokensError(f"codec {codec.name} ({codec.part}): the token array {exc}") from None


def _frames_of(codec: Codec, tokens: np.ndarray, num_frames: int | None) -> int:
    return len(tokens) * codec.frames_per_latent if num_frames is None else int(num_frames)


def _replacement_rows(codec: Codec, replacement) -> np.ndarray:
    """(L, Q) or (L,) int64 rows of codes from a code or a sequence; OptionError naming the problem."""
    levels = codec.codebooks if len(codec.token_shape(1)) == 2 else 0  # 0: one code per row, no levels
    try:
        codes = np.asarray(replacement)
    except ValueError:  # numpy refuses ragged rows
        raise OptionError(f"the replacement's rows must all hold the same number of codes, got {replacement!r}") from None
    if codes.size == 0:
        raise OptionError("the replacement sequence is empty: give at least one code")
    if codes.dtype.kind not in "iu":
        raise OptionError(f"the replacement codes must be whole numbers, got {replacement!r}")
    if codes.ndim > (2 if levels else 1):
        raise OptionError(f"the replacement must be one code or a sequence of codes, got an array of shape {codes.shape}")
    if levels and (codes.ndim == 0 or codes.shape[-1] != levels):
        got = "a single code" if codes.ndim == 0 else f"{codes.shape[-1]} codes a row"
        raise OptionError(f"wrong number of levels: {codec.family_label} codec {codec.name}-{codec.part} has "
                          f"{levels} levels, so a code is {levels} numbers (one per level), got {got}")
    rows = codes.reshape((-1, levels) if levels else -1).astype(np.int64)
    bad = np.argwhere((rows < 0) | (rows >= codec.codebook_size))
    if bad.size:
        where = f" at level {bad[0][1]}" if levels else ""
        raise OptionError(f"code {rows[tuple(bad[0])]}{where} is not one of codec {codec.name}-{codec.part}'s "
                          f"{codec.codebook_size} codes (0 to {codec.codebook_size - 1})")
    return rows


# --- decoding and blending -------------------------------------------------------------------


def _decoded_stretch(codec: Codec, tokens: np.ndarray, lo: int, hi: int, num_frames: int) -> tuple[int, np.ndarray]:
    """(first, features): the decode of `tokens` over a stretch of frames from `first` that
    holds [lo, hi), decoded from only the rows those frames depend on (the whole decode's
    values there, to rounding: every convolution replicates its edges, as at a slice)."""
    fpl, context = codec.frames_per_latent, codec.context_frames[1]
    first_row = max(lo - context, 0) // fpl
    last_row = min(-(-(hi + context) // fpl), len(tokens))
    frames = min(last_row * fpl, num_frames) - first_row * fpl
    return first_row * fpl, codec.decode(tokens[first_row:last_row], frames)


def _blended(original: np.ndarray, target: np.ndarray, weight: np.ndarray, part: str) -> np.ndarray:
    """(n, F) features: per joint slerp(original, target, weight) on the rotations, linear on
    the expression coefficients; weight (n,) in [0, 1]."""
    J = len(get_part(part).joints)
    n = len(original)
    q = rot.quat_slerp(rot.axis_angle_to_quat(original[:, : 3 * J].reshape(n, J, 3)),
                       rot.axis_angle_to_quat(target[:, : 3 * J].reshape(n, J, 3)), weight[:, None])
    out = np.empty_like(original)
    out[:, : 3 * J] = rot.quat_to_axis_angle(q).reshape(n, 3 * J)
    w = weight[:, None]
    out[:, 3 * J:] = original[:, 3 * J:] + w * (target[:, 3 * J:] - original[:, 3 * J:])
    return out


def _spliced(motion: Motion, part: str, features: np.ndarray, window: slice) -> Motion:
    """`motion` with the part's features set on the frames of `window` only: every other frame's
    rotations and expressions stay the input's bit for bit (not converted there and back)."""
    sub = with_part_features(motion.frames(window.start, window.stop), part, features[window])
    rotations = motion.rotations.copy()
    rotations[window] = sub.rotations
    changes = {"rotations": rotations}
    if get_part(part).expressions:
        expressions = np.zeros((motion.num_frames, sub.expressions.shape[1]))
        if motion.expressions is not None:
            expressions[:, : motion.expressions.shape[1]] = motion.expressions
        expressions[window] = sub.expressions
        changes["expressions"] = expressions
    return replace(motion, **changes)
