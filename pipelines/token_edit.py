"""The Edit by Tokens and Copy Tokens jobs: an action's tokens of one part replaced on a range
of scene frames by a code (or a run of codes copied from another range) and decoded again
(core.inspect.token_edit), the decoded change handed to a sink that keys it as a new action.

The source (scene.token_actions.ActionTokensEditor, handed in by the operator) gives
`record` (scene.tokens_prop.ActionTokens: the tokens the action keeps, where they start, at
which scene rate) and `read_motion(skeleton)` (the motion the action plays, at the scene's
rate, frame 0 on `record.frame_start`); `write(edit)` keys a TokenEdit and returns (the new
action, warnings).

Frames. The range is scene frames first..last (inclusive). It is edited as the 30 fps motion
frames [start, stop) those scene frames play (start = floor((first - frame_start) x 30 /
scene_fps), likewise stop from last, + 1), the same floor the token timeline uses. Only the
frames core.inspect.token_edit.edit_window lets change, [start - M, stop + M) with M the blend
margin, can differ; the sink re-keys the scene frames whose value depends on them (at 30 fps
those frames themselves; at another rate each scene frame that interpolates one of them) and
keeps every other key as it was, bit for bit.

Only the body and hands are edited: their tokens code joint rotations, which the sink keys.
The face codes the jaw and expression coefficients kept on the action's take data, which
Edit by Tokens does not re-key (refused, saying so).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.codecs.coding import EncodedMotion, codebook_record, load_codecs
from ..core.codecs.features import at_codec_rate
from ..core.errors import MotionTokensError, OptionError
from ..core.inspect.token_edit import default_margin_frames, edit_motion_tokens, edit_window
from ..core.inspect.token_timeline import MOTION_FPS, CopiedTokens, parse_code
from ..core.motion import Motion, interpolation_weights
from ..core.parts import get_part
from ..core.skeleton import smplx_skeleton

#: The parts Edit by Tokens re-keys (module docstring: why not the face).
EDITABLE_PARTS = ("body", "hands")
_EPS = 1e-9


@dataclass(frozen=True)
class TokenEditOptions:
    """part: 'body' or 'hands'; first, last: the scene frames to edit (inclusive); code: the
    replacement ('17', or '3,5,1,0' one number per level), unless `copied` is given: a run of
    rows pasted (tiled or cut) over the range; margin_frames: the blend margin in 30 fps
    frames (0: the codec's default, core.inspect.token_edit.default_margin_frames)."""

    part: str
    first: int
    last: int
    code: str = ""
    copied: CopiedTokens | None = None
    margin_frames: int = 0
    models_dir: str | os.PathLike | None = None


@dataclass
class TokenEdit:
    """What the sink keys: the part's joints (SMPL-X names), the scene frames to re-key and
    their local rotations (n, J, 4) in SMPL-X axes; the ActionTokens to keep on the new action;
    the edited motion frames [start, stop) and the window [start - M, stop + M) at 30 fps."""

    part: str
    joints: list[str]
    frames: np.ndarray
    rotations: np.ndarray
    record: object
    start: int
    stop: int
    window: slice
    margin_frames: int


@dataclass
class TokenEditResult:
    edit: TokenEdit
    action: object
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def motion_range(record, first: int, last: int, num_frames: int, warnings: list[str]) -> tuple[int, int]:
    """The 30 fps motion frames [start, stop) the scene frames first..last play (module
    docstring), clipped to the motion with a warning; OptionError for an empty range or one
    outside the action."""
    if last < first:
        raise OptionError(f"the range ends (frame {last}) before it starts (frame {first})")
    per = MOTION_FPS / record.scene_fps
    start = int(np.floor((first - record.frame_start) * per + _EPS))
    stop = int(np.floor((last - record.frame_start) * per + _EPS)) + 1
    if stop <= 0 or start >= num_frames:
        end = record.frame_start + int(np.floor((num_frames - 1) / per + 1e-6))
        raise OptionError(f"frames {first}-{last} lie outside the action's tokens (frames {record.frame_start}-{end})")
    if start < 0 or stop > num_frames:
        warnings.append(f"frames {first}-{last} reach beyond the action's tokens: only the frames inside are edited")
    return max(start, 0), min(stop, num_frames)


def motion_frames(record, codec, read_frames: int) -> int:
    """The 30 fps frames the part's tokens code: kept on the action, else the read-back's
    frame count fitted to the rows (a downsampled codec's last row codes 1 to 4 frames)."""
    if record.num_frames:
        return int(record.num_frames)
    rows, fpl = len(record.tokens[codec.part]), codec.frames_per_latent
    return int(np.clip(read_frames, (rows - 1) * fpl + 1, rows * fpl))


def _fitted(motion: Motion, num_frames: int) -> Motion:
    """`motion` (30 fps) with exactly `num_frames` frames: cut, or its last frame held (a
    read-back at another scene rate can come out a frame short of the motion it keyed)."""
    if motion.num_frames >= num_frames:
        return motion.frames(0, num_frames)
    pad = num_frames - motion.num_frames
    hold = np.r_[np.arange(motion.num_frames), np.full(pad, motion.num_frames - 1)]
    return replace(motion, rotations=motion.rotations[hold], trans=motion.trans[hold],
                   expressions=None if motion.expressions is None else motion.expressions[hold])


def rekeyed_frames(decoded: Motion, window: slice, scene_fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(k (n,), rotations (n, J, 4)): the scene frames (0 = the action's first) whose value
    depends on a 30 fps frame in `window`, and `decoded`'s rotations there at the scene rate
    (slerped as the keying resamples, scene.actions.write_motion)."""
    if abs(scene_fps - decoded.fps) < 1e-9:
        k = np.arange(window.start, window.stop)
        return k, decoded.rotations[k]
    at_scene = decoded.resampled(scene_fps)
    src = np.arange(at_scene.num_frames) * (decoded.fps / scene_fps)
    i0, i1, a = interpolation_weights(src, decoded.num_frames)
    inside = lambda i: (i >= window.start) & (i < window.stop)  # noqa: E731
    k = np.flatnonzero(inside(i0) | ((a > 0) & inside(i1)))
    return k, at_scene.rotations[k]


def _checked_part(record, part: str, action_name: str) -> None:
    if part not in record.tokens:
        coded = ", ".join(record.tokens) or "none"
        raise OptionError(f"the action {action_name!r} keeps no {part} tokens (its coded parts: {coded})")
    if part not in EDITABLE_PARTS:
        raise OptionError(f"Edit by Tokens re-keys the body and hands; the {part}'s jaw and expressions are kept on "
                          "the action's take data, which it does not re-key")


def _replacement(options: TokenEditOptions, record, codec):
    """The code (a tuple of levels, or an int) or the copied rows to paste; OptionError when
    the copy comes from another part or codebook, or the code is not one of the codebook's."""
    if options.copied is None:
        code = parse_code(options.code, codec.codebooks if codec.codebooks > 1 else 0, codec.codebook_size)
        return code[0] if len(code) == 1 and codec.codebooks == 1 else code
    copied = options.copied
    book = record.codebooks.get(options.part)
    if copied.part != options.part or (book is not None and copied.sha256 != book.sha256):
        raise OptionError(f"the copied tokens are {copied.part} tokens of {copied.codec} (from frames {copied.first}-"
                          f"{copied.last}); they cannot be pasted over {options.part} tokens of "
                          f"{record.codec_names[options.part]}: copy from an action coded the same way")
    return copied.rows


def _codec(record, part: str, models_dir, action_name: str):
    """The installed codec that made the part's tokens; BundleError when it is missing,
    MotionTokensError when its codebook is not the one the action records."""
    codec = load_codecs({part: record.codec_names[part]}, models_dir)[part]
    book = record.codebooks.get(part)
    if book is not None and codebook_record(codec).sha256 != book.sha256:
        raise MotionTokensError(
            f"the {part} tokens of {action_name!r} index another {record.codec_names[part]} codebook than the installed "
            f"bundle's (weights sha256 {book.sha256[:12]}... recorded, {codebook_record(codec).sha256[:12]}... "
            "installed): decoding them with it would give other poses; install the bundle that made them")
    return codec


def edit_by_tokens(options: TokenEditOptions, source) -> TokenEditResult:
    """Replace the tokens of `options.part` on the range and key the re-decoded motion as a
    new action through `source.write` (module docstring); the TokenEditResult. Everything is
    read and checked first: OptionError / MotionTokensError, nothing written, for an action
    without tokens, a part it does not code (or the face), a range outside it, a code that
    is not the codebook's, a copy from another codebook, a missing or other bundle."""
    record, name = source.record, source.action_name
    if record is None:
        raise MotionTokensError(f"the action {name!r} keeps no motion tokens: make it with Quantize Action, "
                                "Gestures from Sound Strips, Motion from Video or Import Tokens")
    part = options.part
    _checked_part(record, part, name)
    codec = _codec(record, part, options.models_dir, name)
    replacement = _replacement(options, record, codec)
    motion = at_codec_rate(source.read_motion(smplx_skeleton()))
    T = motion_frames(record, codec, motion.num_frames)
    warnings: list[str] = []
    start, stop = motion_range(record, options.first, options.last, T, warnings)
    margin = options.margin_frames or default_margin_frames(codec)
    encoded = EncodedMotion({part: record.tokens[part]}, _fitted(motion, T), {part: codec})
    edited = edit_motion_tokens(encoded, part, start, stop, replacement, margin)
    window = edit_window(codec, start, stop, T, margin)
    k, rotations = rekeyed_frames(edited.decoded, window, record.scene_fps)
    joint_index = list(get_part(part).joints)
    joints = [edited.decoded.skeleton.names[j] for j in joint_index]
    seams = tuple(s for s in record.seam_frames if not window.start <= s < window.stop)
    new_record = replace(record, tokens={**record.tokens, part: edited.tokens[part]}, seam_frames=seams, num_frames=T)
    edit = TokenEdit(part, joints, record.frame_start + k, rotations[:, joint_index], new_record, start, stop, window,
                     margin)
    action, written = source.write(edit)
    return TokenEditResult(edit, action, [_summary(options, record, codec, edit, action, name)], warnings + written)


def _summary(options, record, codec, edit: TokenEdit, action, source_name: str) -> str:
    what = (f"the {len(options.copied.rows)} copied rows of frames {options.copied.first}-{options.copied.last}"
            if options.copied is not None else f"code {options.code.strip()}")
    per = record.scene_fps / MOTION_FPS
    lo = record.frame_start + int(np.floor(edit.window.start * per + 1e-6))
    hi = record.frame_start + int(np.ceil((edit.window.stop - 1) * per - 1e-6))
    return (f"Edited the {options.part} tokens ({codec.name}) of frames {options.first}-{options.last} of "
            f"{source_name!r} to {what}: new action {action.name!r}; blend margin {edit.margin_frames} frames at 30 fps "
            f"({edit.margin_frames / MOTION_FPS:.2f} s) either side, so only frames {lo}-{hi} changed")


def copy_tokens(record, part: str, first: int, last: int, action_name: str = "") -> CopiedTokens:
    """The rows of `part` that scene frames first..last play (every row overlapping their
    30 fps frames, as an edit replaces them), to paste elsewhere; OptionError for a part the
    action does not code or a range outside it."""
    if record is None:
        raise MotionTokensError(f"the action {action_name!r} keeps no motion tokens to copy")
    if part not in record.tokens:
        raise OptionError(f"the action {action_name!r} keeps no {part} tokens (its coded parts: "
                          f"{', '.join(record.tokens) or 'none'})")
    tokens = record.tokens[part]
    fpl = max(int(round(MOTION_FPS / record.fps_of(part))), 1)
    T = record.num_frames or len(tokens) * fpl
    warnings: list[str] = []
    start, stop = motion_range(record, first, last, T, warnings)
    rows = tokens[start // fpl : -(-stop // fpl)].copy()
    book = record.codebooks.get(part)
    return CopiedTokens(part, record.codec_names[part], book.sha256 if book else "", rows, first, last, action_name)
