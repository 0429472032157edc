"""The one-euro filter (Casiez, Roussel and Vogel, CHI 2012) on landmark tracks, before the fit.

A first-order low-pass per point whose cutoff rises with the point's speed:

    fc = min_cutoff + beta * |dx/dt|_filtered,   alpha = 1 / (1 + 1 / (2 pi fc dt))
    x_hat[t] = alpha x[t] + (1 - alpha) x_hat[t-1]

so a point at rest is smoothed hard (jitter at min_cutoff) and a moving one is followed with
little lag (a first-order filter lags a ramp by 1 / (2 pi fc) seconds). The speed is the
norm of the point's filtered velocity (one cutoff per point, the same for its x, y and z,
so the filter does not depend on the axes). The recursion runs over frames, vectorised over
points; everything else in the capture fit is vectorised over frames.

A point that is not finite in a frame (its component not found) gives NaN there, and the
filter starts afresh on the next frame it is found: nothing is carried across a gap (the gap
filling does that, on rotations).
"""

from __future__ import annotations

import numpy as np


def _alpha(cutoff, dt: float):
    return 1.0 / (1.0 + 1.0 / (2.0 * np.pi * cutoff * dt))


def one_euro(x, fps: float, min_cutoff: float, beta: float, d_cutoff: float = 1.0) -> np.ndarray:
    """Filter (T, ..., 3) point tracks sampled at `fps`; returns the same shape, float64.

    min_cutoff: Hz, the cutoff at rest; beta: s per unit of x (how fast the cutoff rises with
    speed, in units of x per second); d_cutoff: Hz, the cutoff of the speed estimate.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.full_like(x, np.nan)
    if x.shape[0] == 0:
        return out
    dt = 1.0 / float(fps)
    a_d = _alpha(d_cutoff, dt)
    valid = np.isfinite(x).all(axis=-1)  # (T, ...)
    x_hat = np.where(valid[0, ..., None], x[0], 0.0)
    dx_hat = np.zeros_like(x_hat)
    out[0] = np.where(valid[0, ..., None], x_hat, np.nan)
    for t in range(1, x.shape[0]):
        cur = np.where(valid[t, ..., None], x[t], x_hat)
        fresh = (valid[t] & ~valid[t - 1])[..., None]  # found again after a gap: start anew
        dx = np.where(fresh, 0.0, (cur - x_hat) / dt)
        dx_hat = a_d * dx + (1.0 - a_d) * dx_hat
        speed = np.sqrt(np.einsum("...i,...i->...", dx_hat, dx_hat))[..., None]
        a = _alpha(min_cutoff + beta * speed, dt)
        x_hat = np.where(fresh, cur, a * cur + (1.0 - a) * x_hat)
        dx_hat = np.where(fresh, 0.0, dx_hat)
        out[t] = np.where(valid[t, ..., None], x_hat, np.nan)
    return out
