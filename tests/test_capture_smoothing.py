"""The one-euro filter on landmark tracks (core.capture.smoothing): lag on a ramp and a step,
jitter at rest, gaps, independence of points."""

import numpy as np
import pytest
from motion_tokens.core.capture.fit import FitSettings
from motion_tokens.core.capture.smoothing import one_euro

FPS = 30.0
DEFAULTS = FitSettings()


def _ramp(v, seconds=4.0):
    t = np.arange(int(seconds * FPS)) / FPS
    x = np.zeros((t.size, 1, 3))
    x[:, 0, 0] = np.maximum(t - 1.0, 0.0) * v  # at rest for a second, then moving at v m/s
    return x


def _steady_lag(v, min_cutoff, beta):
    """The ramp's steady-state lag (s), worked by hand: an exponential filter with alpha =
    1 / (1 + tau / dt) lags a ramp by tau = 1 / (2 pi fc); the speed it sees is the step from
    the lagging estimate, v (1 + L / dt), so fc = min_cutoff + beta v (1 + L / dt): a fixed point."""
    dt, lag = 1.0 / FPS, 0.0
    for _ in range(200):
        lag = 1.0 / (2.0 * np.pi * (min_cutoff + beta * v * (1.0 + lag / dt)))
    return lag


@pytest.mark.parametrize("v", [0.1, 0.5, 1.0])
def test_ramp_lag_is_the_worked_value_and_small(v):
    x = _ramp(v)
    y = one_euro(x, FPS, DEFAULTS.min_cutoff, DEFAULTS.beta, DEFAULTS.d_cutoff)
    lag = (x[-1, 0, 0] - y[-1, 0, 0]) / v
    assert lag == pytest.approx(_steady_lag(v, DEFAULTS.min_cutoff, DEFAULTS.beta), abs=1e-4)
    # Under a frame for a slow gesture (0.1 m/s: 32 ms), under half a frame from 0.5 m/s (11 ms),
    # where a plain 1 Hz low-pass with the same jitter cutoff lags 159 ms.
    assert lag < (1.0 if v < 0.5 else 0.5) / FPS
    plain = one_euro(x, FPS, DEFAULTS.min_cutoff, 0.0)
    assert (x[-1, 0, 0] - plain[-1, 0, 0]) / v == pytest.approx(1 / (2 * np.pi * DEFAULTS.min_cutoff), rel=1e-3)


def test_step_is_followed_within_two_frames():
    x = np.zeros((60, 1, 3))
    x[10:, 0, 1] = 0.2
    y = one_euro(x, FPS, DEFAULTS.min_cutoff, DEFAULTS.beta)[:, 0, 1]
    assert y[11] >= 0.9 * 0.2 and y[12] >= 0.99 * 0.2
    assert np.all(y <= 0.2 + 1e-12)  # a first-order filter never overshoots
    plain = one_euro(x, FPS, DEFAULTS.min_cutoff, 0.0)[:, 0, 1]
    assert plain[12] < 0.5 * 0.2


def test_jitter_at_rest_is_more_than_halved():
    noise = np.random.default_rng(0).normal(0.0, 0.005, size=(600, 4, 3))
    y = one_euro(noise, FPS, DEFAULTS.min_cutoff, DEFAULTS.beta)
    assert y[30:].std() < 0.5 * noise.std()


def test_gaps_give_nan_and_a_fresh_start():
    x = _ramp(0.5)
    x[50:60] = np.nan
    y = one_euro(x, FPS, DEFAULTS.min_cutoff, DEFAULTS.beta)
    assert np.isnan(y[50:60]).all() and np.isfinite(y[:50]).all() and np.isfinite(y[60:]).all()
    np.testing.assert_allclose(y[60], x[60])  # nothing carried across the gap


def test_points_are_filtered_independently():
    rng = np.random.default_rng(2)
    x = np.cumsum(rng.normal(0, 0.02, size=(90, 5, 3)), axis=0)
    together = one_euro(x, FPS, 1.0, 20.0)
    for p in range(5):
        np.testing.assert_allclose(together[:, p], one_euro(x[:, p:p + 1], FPS, 1.0, 20.0)[:, 0], atol=1e-12)
