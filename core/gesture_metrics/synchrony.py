"""Body-part synchronisation, after SpeechCAT's BPSS: do the parts move together as they do
in real speech? SpeechCAT's own code is not available here; this is our definition of the
same two ingredients, cross-correlation and velocity alignment between parts.

Each part is reduced to one speed signal per frame (`part_speeds`):
- arms: mean speed (m/s) of shoulders, elbows and wrists (SMPL-X 16-21) in the pelvis frame;
- hands: mean speed of the hands' error points (core.parts: finger joints and tips) with
  only the finger joints rotating (core.codecs.features.part_positions), so it is the
  fingers' own articulation, not the arm carrying them;
- head: speed of the head joint (15) in the pelvis frame;
- jaw: angular speed (rad/s) of the jaw's local rotation (22).
For a pair of parts (`pair_synchrony`):
- `xcorr`: the largest Pearson correlation of the two speeds over lags within +-MAX_LAG s,
  and `lag_s`, the lag it is at (positive: the second part follows the first);
- `velocity_alignment`: EMAGE's Gaussian hit rate (beat_alignment.gaussian_hit_rate, the same
  sigma) between the two parts' speed minima (strict over +-7 frames), averaged over both
  directions: 1 when the parts stop and start at the same frames.
Judge a method by how close its figures come to the ground truth's, not by their size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import argrelextrema

from .. import rotations as rot
from ..codecs.features import part_features, part_positions
from ..motion import Motion
from .beat_alignment import ORDER, SIGMA, gaussian_hit_rate, joint_speeds
from .poses import pelvis_positions

MAX_LAG = 0.5
_ARMS = (16, 17, 18, 19, 20, 21)
_HEAD, _JAW = 15, 22
#: The part pairs reported.
PAIRS: tuple[tuple[str, str], ...] = (("arms", "hands"), ("arms", "head"), ("head", "jaw"))


def part_speeds(motion: Motion) -> dict[str, np.ndarray]:
    """{part: (T,) speed} for arms, hands, head (m/s) and jaw (rad/s) of 30 fps SMPL-X motion."""
    fps = motion.fps
    speeds = joint_speeds(pelvis_positions(motion), fps)  # (T, 55)
    hands = part_positions(part_features(motion, "hands"), "hands")  # (T, P, 3)
    q = rot.quat_normalize(motion.rotations[:, _JAW])
    step = rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(q[:-1]), q[1:])) * fps  # (T-1,)
    jaw = np.concatenate([step[:1], 0.5 * (step[1:] + step[:-1]), step[-1:]]) if len(step) else np.zeros(1)
    return {
        "arms": speeds[:, list(_ARMS)].mean(axis=1),
        "hands": joint_speeds(hands, fps).mean(axis=1),
        "head": speeds[:, _HEAD],
        "jaw": jaw,
    }


def lagged_correlation(a, b, max_lag: int) -> tuple[float, int]:
    """(largest Pearson correlation of a[t] and b[t + k] over |k| <= max_lag, that k); a
    constant overlap counts as correlation 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    T = min(len(a), len(b))
    best, best_k = -np.inf, 0
    for k in range(-max_lag, max_lag + 1):  # a few dozen lags, each vectorised
        x, y = (a[: T - k], b[k:T]) if k >= 0 else (a[-k:T], b[: T + k])
        if len(x) < 3 or x.std() == 0 or y.std() == 0:
            r = 0.0
        else:
            r = float(np.corrcoef(x, y)[0, 1])
        if r > best:
            best, best_k = r, k
    return float(best), best_k


def _minima(x: np.ndarray) -> np.ndarray:
    return argrelextrema(x, np.less, order=ORDER)[0]


@dataclass(frozen=True)
class PairSync:
    """One part pair's figures (module docstring)."""

    xcorr: float
    lag_s: float
    velocity_alignment: float


def pair_synchrony(a, b, fps: float, max_lag_s: float = MAX_LAG, sigma: float = SIGMA) -> PairSync:
    """The synchrony figures of two (T,) speed signals at `fps`; all NaN when either is
    constant (a still part: there is nothing to correlate)."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return PairSync(float("nan"), float("nan"), float("nan"))
    r, k = lagged_correlation(a, b, int(round(max_lag_s * fps)))
    ta, tb = _minima(np.asarray(a, np.float64)) / fps, _minima(np.asarray(b, np.float64)) / fps
    both = [gaussian_hit_rate(ta, tb, sigma), gaussian_hit_rate(tb, ta, sigma)]
    both = [v for v in both if np.isfinite(v)]
    return PairSync(r, k / fps, float(np.mean(both)) if both else float("nan"))


def synchrony(motion: Motion, pairs=PAIRS) -> dict[tuple[str, str], PairSync]:
    """{(part, part): PairSync} of one motion clip."""
    speeds = part_speeds(motion)
    return {(p, q): pair_synchrony(speeds[p], speeds[q], motion.fps) for p, q in pairs}
