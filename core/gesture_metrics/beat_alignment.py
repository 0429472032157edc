"""Beat Alignment as EMAGE computes it: how close motion beats come to the audio's onsets.

- Audio beats: onsets picked from core.audio's onset-strength column (one value per 30 fps
  frame) with librosa.onset.onset_detect's peak picking and its default windows (normalised
  envelope; a peak is the maximum of the 0.03 s before it, at least 0.07 above the mean of
  the 0.1 s either side, 0.03 s after the previous one). EMAGE runs onset_detect on the raw
  audio at librosa's 512-sample hop; our envelope's hop is 16000 / 30 = 533 samples, so
  onsets land on motion frames (tests check `onset_frames` against librosa's own picking).
- Motion beats: per joint, the local minima of its speed (central differences, m/s) that
  are strict over +-ORDER frames (scipy.signal.argrelextrema, EMAGE's order 7), kept only
  where the speed is above THRESHOLD x the joint's reference speed (EMAGE divides by a
  stored training statistic and keeps minima above 0.10 of it; ours is the training
  motion's mean speed of that joint): a joint at rest makes no beats. Joints: EMAGE's upper
  body, SMPL-X 3, 6, 9, 12-21 (spine, neck, collars, head, shoulders, elbows, wrists).
- Score: per joint, the mean over audio onsets of exp(-d^2 / (2 sigma^2)), d the time to the
  nearest motion beat of that joint (0 for a joint without beats), averaged over the joints.
  SIGMA = 0.3 s, EMAGE's. 1 when every onset has a beat on it; exp(-1/2) when all sit sigma away.
FACTS.md: on the BEAT2 take this does not separate the true motion from the same motion
shifted in time; read it only beside the ground truth's and a shifted ground truth's scores.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import argrelextrema

from ..errors import MotionTokensError
from .poses import UPPER_BODY

SIGMA = 0.3
ORDER = 7
THRESHOLD = 0.10
#: librosa.onset.onset_detect's peak-picking windows, seconds, and its delta.
_PRE_MAX, _POST_MAX, _PRE_AVG, _POST_AVG, _WAIT, _DELTA = 0.03, 0.0, 0.10, 0.10, 0.03, 0.07


def peak_pick(x, pre_max: int, post_max: int, pre_avg: int, post_avg: int, delta: float, wait: int) -> np.ndarray:
    """(K,) int64 indices n of peaks of (T,) x, as librosa.util.peak_pick: x[n] > 0 is the
    maximum of x[n-pre_max : n+post_max], at least mean(x[n-pre_avg : n+post_avg]) + delta
    (windows cut at the ends), and more than `wait` after the previous peak."""
    x = np.asarray(x, dtype=np.float64)
    T = len(x)
    n = np.arange(T)
    padded = np.concatenate([np.full(pre_max, -np.inf), x, np.full(max(post_max - 1, 0), -np.inf)])
    window = max(pre_max + post_max, 1)
    local_max = np.lib.stride_tricks.sliding_window_view(padded, window).max(axis=1)[:T]
    sums = np.concatenate([[0.0], np.cumsum(x)])
    lo, hi = np.clip(n - pre_avg, 0, T), np.clip(n + post_avg, 0, T)
    mean = (sums[hi] - sums[lo]) / np.maximum(hi - lo, 1)
    candidates = np.flatnonzero((x == local_max) & (x >= mean + delta) & (x > 0))
    peaks, last = [], -np.inf
    for c in candidates:  # greedy over the few candidates, as librosa's
        if c > last + wait:
            peaks.append(c)
            last = c
    return np.asarray(peaks, dtype=np.int64)


def onset_frames(envelope, fps: float) -> np.ndarray:
    """(K,) int64 frames of the onsets in a (T,) onset-strength envelope at `fps` frames/s,
    librosa.onset.onset_detect's picking (windows as the module says)."""
    env = np.asarray(envelope, dtype=np.float64)
    if env.ndim != 1 or not np.isfinite(env).all():
        raise MotionTokensError(f"an onset envelope is a finite (T,) array, got shape {env.shape}")
    env = env - env.min() if len(env) else env
    if not len(env) or env.max() <= 0:
        return np.zeros(0, dtype=np.int64)
    env = env / env.max()

    def frames(seconds: float) -> int:
        # At least one frame: at 30 fps librosa's floor(0.03 s) would be 0 frames, which
        # would make every frame its own maximum and put no wait between onsets.
        return max(1, int(round(seconds * fps)))

    return peak_pick(env, frames(_PRE_MAX), int(round(_POST_MAX * fps)) + 1, frames(_PRE_AVG),
                     frames(_POST_AVG) + 1, _DELTA, frames(_WAIT))


def joint_speeds(positions, fps: float) -> np.ndarray:
    """(T, J) speeds, m/s, of (T, J, 3) positions: central differences inside, one-sided at
    the ends (EMAGE's)."""
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] != 3 or len(p) < 2:
        raise MotionTokensError(f"joint speeds need (T, J, 3) positions with T >= 2, got shape {p.shape}")
    return np.linalg.norm(np.gradient(p, axis=0), axis=2) * float(fps)


def motion_beats(positions, fps: float, reference_speed, joints=UPPER_BODY, order: int = ORDER,
                 threshold: float = THRESHOLD) -> list[np.ndarray]:
    """Per joint in `joints`, (K_j,) int64 frames of its speed's local minima (strict over
    +-order frames) where its speed exceeds threshold x reference_speed[j] ((J_all,) m/s)."""
    speeds = joint_speeds(positions, fps)[:, list(joints)]  # (T, J)
    floor = threshold * np.asarray(reference_speed, dtype=np.float64)[list(joints)]
    rows, cols = argrelextrema(speeds, np.less, axis=0, order=order)
    keep = speeds[rows, cols] > floor[cols]
    rows, cols = rows[keep], cols[keep]
    return [np.sort(rows[cols == j]) for j in range(len(joints))]


def gaussian_hit_rate(audio_times, motion_times, sigma: float = SIGMA) -> float:
    """Mean over audio beats of exp(-d^2 / (2 sigma^2)), d the distance (s) to the nearest
    motion beat; 0 without motion beats, NaN without audio beats (undefined)."""
    a = np.asarray(audio_times, dtype=np.float64).ravel()
    m = np.sort(np.asarray(motion_times, dtype=np.float64).ravel())
    if len(a) == 0:
        return float("nan")
    if len(m) == 0:
        return 0.0
    i = np.searchsorted(m, a)
    d = np.minimum(np.abs(a - m[np.clip(i - 1, 0, len(m) - 1)]), np.abs(a - m[np.clip(i, 0, len(m) - 1)]))
    return float(np.exp(-(d**2) / (2.0 * sigma**2)).mean())


def beat_alignment(audio_times, beats_per_joint, fps: float, sigma: float = SIGMA) -> float:
    """EMAGE's score: gaussian_hit_rate of the audio onsets (seconds) against each joint's
    motion beats (frames, as motion_beats gives), averaged over the joints."""
    if not len(beats_per_joint):
        raise MotionTokensError("beat alignment needs the motion beats of at least one joint")
    return float(np.mean([gaussian_hit_rate(audio_times, np.asarray(b) / fps, sigma) for b in beats_per_joint]))
