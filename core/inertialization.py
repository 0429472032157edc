"""Smoothing the decoded motion where generation windows meet (inertialization).

The generator fills the odd windows between the even ones (windows.py); where a fill's own
frames begin and end, its motion often jumps to another posture (measured on 40 s of unseen
speech: the body's token changes at 57% of those frames against 14% elsewhere, and the jerk
there is 2.8x that elsewhere; tests/test_generate_seams.py). At each such seam b the motion
from b on is offset so that it continues the motion before b, and the offset dies away over
the next `INERTIA_FRAMES` frames (Bollo, "Inertialization", GDC 2018, in its simplest form):

    per joint, x0 = log(q_pred(b) q(b)^-1)       q_pred(b) = q(b-1) (q(b-2)^-1 q(b-1)): the motion
                                                 before b carried on at its last angular velocity
             v0 = log(q(b-1) q(b-2)^-1) - log(q(b+1) q(b)^-1)   (the velocities' difference)
    q'(b + t) = exp(x(t)) q(b + t),  x(t) = (x0 + v0 t) w(t / M),  w(s) = 1 - (10 s^3 - 15 s^4 + 6 s^5)

so q' at b equals the continuation, its velocity there the motion's before b, and offset,
velocity and acceleration reach 0 at b + M. Expression coefficients the same way, linearly.
The tokens are not changed: the motion differs from their decoding only in the M frames after
each seam, and a tokens file records the seams (`seam_frames`, core/formats/tokens.py) so that
decoding it (core.codecs.coding.decoded_motion) gives the same motion again. Seams whose frames b-2 ... b+M touch a pinned range are left as they are, so a
pinned range decodes exactly. Vectorised over joints; a loop over the seams (one per 1.9 s).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .rotations import axis_angle_to_quat, quat_conjugate, quat_multiply, quat_to_axis_angle

#: Frames over which a seam's offset dies away (0.27 s at 30 fps: as long as a window's overlap).
INERTIA_FRAMES = 8


def _decay(M: int) -> tuple[np.ndarray, np.ndarray]:
    """(t, w(t / M)) for t = 0 .. M - 1."""
    t = np.arange(M, dtype=np.float64)
    s = t / M
    return t, 1.0 - (10 * s**3 - 15 * s**4 + 6 * s**5)


def _rotvec(q):
    return quat_to_axis_angle(q)


def smoothable_seams(seams, num_frames: int, frames: int = INERTIA_FRAMES, keep=None) -> tuple[int, ...]:
    """The seams smoothed_at_seams changes, in order: those with two frames before and one after
    them, and none of frames b-2 ... b+frames-1 in `keep`."""
    out = []
    for b in sorted(int(b) for b in seams):
        if b < 2 or b + 1 >= num_frames or (keep is not None and keep[b - 2 : min(b + frames, num_frames)].any()):
            continue
        out.append(b)
    return tuple(out)


def smoothed_at_seams(motion, seams, frames: int = INERTIA_FRAMES, keep=None):
    """`motion` (core Motion: rotations (T, J, 4) wxyz, expressions (T, E) or None) with each seam
    in `seams` (frame indices b: the jump between b - 1 and b) inertialized over `frames` frames
    (module docstring); keep: (T,) bool of frames that must not change (pinned), or None. A copy."""
    rotations = np.array(motion.rotations, dtype=np.float64, copy=True)
    expressions = None if motion.expressions is None else np.array(motion.expressions, dtype=np.float64, copy=True)
    T = len(rotations)
    t, w = _decay(frames)
    for b in smoothable_seams(seams, T, frames, keep):
        end = min(b + frames, T)
        q1, q2 = rotations[b - 1], rotations[b - 2]
        step_before = quat_multiply(q1, quat_conjugate(q2))  # (J, 4): the last frame's rotation step
        predicted = quat_multiply(step_before, q1)
        x0 = _rotvec(quat_multiply(predicted, quat_conjugate(rotations[b])))  # (J, 3)
        v0 = _rotvec(step_before) - _rotvec(quat_multiply(rotations[b + 1], quat_conjugate(rotations[b])))
        n = end - b
        offset = (x0[None] + v0[None] * t[:n, None, None]) * w[:n, None, None]  # (n, J, 3)
        rotations[b:end] = quat_multiply(axis_angle_to_quat(offset), rotations[b:end])
        if expressions is not None:
            e = expressions
            x0e = (2 * e[b - 1] - e[b - 2]) - e[b]
            v0e = (e[b - 1] - e[b - 2]) - (e[b + 1] - e[b])
            e[b:end] += (x0e[None] + v0e[None] * t[:n, None]) * w[:n, None]
    out_expr = None if expressions is None else expressions.astype(np.asarray(motion.expressions).dtype)
    return replace(motion, rotations=rotations.astype(np.asarray(motion.rotations).dtype), expressions=out_expr)
