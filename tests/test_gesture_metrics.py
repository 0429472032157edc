"""The speech-gesture metrics against hand-worked truths (core.gesture_metrics)."""

import math

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import MotionTokensError
from motion_tokens.core.gesture_metrics import (
    beat_alignment,
    fgd,
    frechet_distance,
    gaussian_hit_rate,
    jerk_at,
    jerk_elsewhere,
    jerk_profile,
    l1_diversity,
    mean_jerk,
    motion_beats,
    onset_frames,
    pair_synchrony,
    pairwise_l1,
    peak_pick,
    pelvis_positions,
)
from motion_tokens.core.gesture_metrics.synchrony import lagged_correlation
from motion_tokens.core.motion import Motion
from motion_tokens.core.skeleton import smplx_skeleton

FPS = 30.0


# --- Frechet distance -------------------------------------------------------------------------

def test_frechet_one_dimension():
    # N(0, 1) vs N(2, 4): 2^2 + 1 + 4 - 2 sqrt(1 * 4) = 5
    assert frechet_distance([0.0], [[1.0]], [2.0], [[4.0]], eps=0) == pytest.approx(5.0, abs=1e-12)


def test_frechet_diagonal():
    # |(1,1)|^2 + (1 - 3)^2 + (2 - 1)^2 = 2 + 4 + 1
    d = frechet_distance([0, 0], np.diag([1.0, 4.0]), [1, 1], np.diag([9.0, 1.0]), eps=0)
    assert d == pytest.approx(7.0, abs=1e-12)


def test_frechet_non_commuting_two_by_two():
    # For 2x2 M with positive eigenvalues, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)).
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    b = np.array([[1.0, -0.3], [-0.3, 3.0]])
    m = a @ b
    tr_root = math.sqrt(np.trace(m) + 2 * math.sqrt(np.linalg.det(m)))
    expected = 1.0**2 + 2.0**2 + np.trace(a) + np.trace(b) - 2 * tr_root
    assert frechet_distance([0, 0], a, [1, -2], b, eps=0) == pytest.approx(expected, abs=1e-10)


def test_fgd_of_samples():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    assert fgd(x, x) == pytest.approx(0.0, abs=1e-6)
    y = rng.normal(size=(4000, 3)) * 2.0 + 1.0  # N(1, 4 I): 3 * (1 + (2 - 1)^2) = 6
    assert fgd(x, y) == pytest.approx(6.0, rel=0.1)
    with pytest.raises(MotionTokensError, match="one width"):
        fgd(x, y[:, :2])
    with pytest.raises(MotionTokensError, match="N >= 2"):
        fgd(x[:1], y)


# --- Beat alignment ---------------------------------------------------------------------------

def test_gaussian_hit_rate_exact_and_offset():
    audio = np.array([0.5, 1.3, 2.9])
    assert gaussian_hit_rate(audio, audio, 0.3) == pytest.approx(1.0)
    assert gaussian_hit_rate(audio, audio + 0.3, 0.3) == pytest.approx(math.exp(-0.5))
    # the nearest motion beat counts: 0.1 s from the first, 0.2 s from the second
    got = gaussian_hit_rate([1.0, 2.0], [0.0, 1.1, 2.2, 5.0], 0.1)
    assert got == pytest.approx((math.exp(-0.5) + math.exp(-2.0)) / 2)
    assert gaussian_hit_rate(audio, [], 0.3) == 0.0
    assert math.isnan(gaussian_hit_rate([], audio, 0.3))


def test_beat_alignment_averages_joints():
    audio = np.array([1.0, 2.0])
    beats = [np.array([30, 60]), np.array([], dtype=int)]  # a joint without beats scores 0
    assert beat_alignment(audio, beats, FPS, sigma=0.3) == pytest.approx(0.5)


@pytest.mark.parametrize("params", [(1, 1, 3, 4, 0.07, 1), (3, 2, 5, 5, 0.0, 0), (1, 1, 1, 1, 0.2, 4)])
def test_peak_pick_equals_librosa(params):
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(1)
    x = np.abs(rng.normal(size=400)) * (rng.random(400) > 0.3)
    x[[0, 1, 399]] = 3.0  # peaks at the edges too
    pre_max, post_max, pre_avg, post_avg, delta, wait = params
    want = librosa.util.peak_pick(x, pre_max=pre_max, post_max=post_max, pre_avg=pre_avg, post_avg=post_avg,
                                  delta=delta, wait=wait)
    np.testing.assert_array_equal(peak_pick(x, *params), want)


def test_onset_frames_of_clicks():
    env = np.zeros(90)
    env[[10, 40, 41, 70]] = [1.0, 0.8, 0.3, 0.5]
    np.testing.assert_array_equal(onset_frames(env, FPS), [10, 40, 70])
    assert len(onset_frames(np.zeros(20), FPS)) == 0


def _swinging_positions(T=181, joints=22):
    """Joint 20 moves along x at speed 1 + 0.5 cos(pi t) m/s (minima at t = 1, 3, 5 s);
    every other joint is still."""
    t = np.arange(T) / FPS
    p = np.zeros((T, joints, 3))
    p[:, 20, 0] = t + 0.5 / np.pi * np.sin(np.pi * t)
    return p


def test_motion_beats_are_speed_minima():
    p = _swinging_positions()
    beats = motion_beats(p, FPS, reference_speed=np.ones(22), joints=(20, 5))
    np.testing.assert_array_equal(beats[0], [30, 90, 150])
    assert len(beats[1]) == 0  # a still joint makes no beats
    # below the floor (threshold x reference speed) minima do not count
    assert len(motion_beats(p, FPS, reference_speed=np.full(22, 10.0), joints=(20,))[0]) == 0


# --- Jerk --------------------------------------------------------------------------------------

def test_jerk_of_a_cubic():
    t = np.arange(40) / FPS
    p = np.zeros((40, 2, 3))
    p[:, 0, 0] = 2.0 * t**3  # jerk 12 m/s^3
    p[:, 1, 1] = 0.5 * t**2 - t  # no jerk
    np.testing.assert_allclose(jerk_profile(p, FPS), 6.0, rtol=1e-6)  # mean over the two joints
    assert mean_jerk(p, FPS) == pytest.approx(6.0, rel=1e-6)


def test_jerk_at_a_seam():
    p = np.zeros((30, 1, 3))
    p[12:, 0, 2] = 0.01  # a 1 cm jump between frames 11 and 12
    # stencils from 9, 10, 11 give J, -2J, J: the largest is 2J * fps^3
    np.testing.assert_allclose(jerk_at(p, [12], FPS), [2 * 0.01 * FPS**3])
    elsewhere = jerk_elsewhere(p, [12], FPS)
    assert len(elsewhere) == 27 - 3
    np.testing.assert_allclose(elsewhere, 0.0, atol=1e-9)
    with pytest.raises(MotionTokensError, match="boundary frames"):
        jerk_at(p, [40], FPS)


# --- Diversity ---------------------------------------------------------------------------------

def test_l1_diversity_of_known_clips():
    a = np.zeros((10, 1, 3))
    b = np.broadcast_to(np.array([1.0, 2.0, 3.0]), (10, 1, 3))
    assert pairwise_l1([a, b]) == pytest.approx(6.0)
    assert l1_diversity([a, b]) == pytest.approx(3.0)  # every frame 0.5 + 1 + 1.5 from the mean
    c = np.broadcast_to(np.array([0.0, 0.0, 3.0]), (10, 1, 3))
    assert pairwise_l1([a, b, c]) == pytest.approx((6.0 + 3.0 + 3.0) / 3)
    assert l1_diversity([a, a]) == 0.0
    with pytest.raises(MotionTokensError, match="two clips"):
        pairwise_l1([a])


# --- Synchrony ---------------------------------------------------------------------------------

def test_lagged_correlation_finds_the_shift():
    rng = np.random.default_rng(2)
    a = rng.normal(size=200)
    b = np.roll(a, 5)  # b[t + 5] = a[t]
    r, k = lagged_correlation(a, b, 15)
    assert k == 5 and r == pytest.approx(1.0)


def test_pair_synchrony_of_one_signal():
    t = np.arange(300) / FPS
    s = 1.0 + np.cos(2 * np.pi * 0.7 * t)
    sync = pair_synchrony(s, s, FPS)
    assert sync.xcorr == pytest.approx(1.0) and sync.lag_s == 0.0 and sync.velocity_alignment == pytest.approx(1.0)


# --- Positions ---------------------------------------------------------------------------------

def test_pelvis_positions_ignore_the_root():
    sk = smplx_skeleton()
    rng = np.random.default_rng(3)
    aa = rng.normal(scale=0.3, size=(5, 55, 3))
    m = Motion.from_axis_angle(sk, FPS, aa, rng.normal(size=(5, 3)))
    aa2 = aa.copy()
    aa2[:, 0] = rng.normal(size=(5, 3))
    m2 = Motion.from_axis_angle(sk, FPS, aa2, np.zeros((5, 3)))
    p = pelvis_positions(m)
    np.testing.assert_allclose(p, pelvis_positions(m2), atol=1e-12)
    np.testing.assert_allclose(p[:, 0], 0.0, atol=1e-12)
    # the distance of each joint from its parent is its rest offset's length
    lengths = np.linalg.norm(p[:, 1:] - p[:, list(sk.parents[1:])], axis=2)
    np.testing.assert_allclose(lengths, np.broadcast_to(np.linalg.norm(sk.offsets[1:], axis=1), lengths.shape))
    assert rot.quat_angle(m.rotations[:, 0]).max() > 0  # the root did rotate
