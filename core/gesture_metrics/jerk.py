"""Jerk: the third time derivative of joint positions, m/s^3, by finite differences.

At fps f the third difference x[i+3] - 3 x[i+2] + 3 x[i+1] - x[i], times f^3, is the jerk
of the 4-frame stencil starting at frame i (exact for a cubic). `jerk_profile` gives its
magnitude averaged over joints per stencil; a boundary between frames b-1 and b (the first
frame of a new generation window is b) is straddled by the stencils starting at b-3 .. b-1.
`jerk_at` and `jerk_elsewhere` split the profile there, so a seam test can ask whether the
jerk across window boundaries lies within its distribution elsewhere.
"""

from __future__ import annotations

import numpy as np

from ..errors import MotionTokensError


def _positions(positions) -> np.ndarray:
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[2] != 3 or len(p) < 4:
        raise MotionTokensError(f"jerk needs (T, J, 3) positions with T >= 4, got shape {p.shape}")
    return p


def jerk_profile(positions, fps: float) -> np.ndarray:
    """(T - 3,) mean over joints of |third difference| * fps^3 of (T, J, 3) positions."""
    p = _positions(positions)
    d3 = p[3:] - 3.0 * p[2:-1] + 3.0 * p[1:-2] - p[:-3]
    return np.linalg.norm(d3, axis=2).mean(axis=1) * float(fps) ** 3


def mean_jerk(positions, fps: float) -> float:
    """The mean jerk magnitude over joints and frames, m/s^3."""
    return float(jerk_profile(positions, fps).mean())


def _boundary_stencils(num_stencils: int, frames) -> np.ndarray:
    """(B, 3) stencil starts b-3, b-2, b-1 straddling each boundary frame b (clipped)."""
    b = np.asarray(frames, dtype=np.int64).reshape(-1, 1)
    if len(b) and (b.min() < 1 or b.max() > num_stencils + 2):
        raise MotionTokensError(f"boundary frames must lie in [1, {num_stencils + 2}], got {b.ravel().tolist()}")
    return np.clip(b + np.arange(-3, 0), 0, num_stencils - 1)


def jerk_at(positions, frames, fps: float) -> np.ndarray:
    """(B,) the largest jerk (over joints' mean) of the stencils straddling each boundary
    frame in `frames` (b: the boundary between frames b-1 and b)."""
    profile = jerk_profile(positions, fps)
    return profile[_boundary_stencils(len(profile), frames)].max(axis=1)


def jerk_elsewhere(positions, frames, fps: float) -> np.ndarray:
    """(M,) the jerk profile at every stencil that straddles none of the boundary `frames`:
    the distribution `jerk_at` is judged against."""
    profile = jerk_profile(positions, fps)
    keep = np.ones(len(profile), dtype=bool)
    keep[_boundary_stencils(len(profile), frames).ravel()] = False
    return profile[keep]
