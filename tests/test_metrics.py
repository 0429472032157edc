"""Rate-distortion metrics against hand-worked numbers (no figure is copied from the code)."""

import itertools
import math

import numpy as np
import pytest
from motion_tokens.core.codecs.metrics import (
    code_frequencies,
    expected_usage,
    QuantizerStats,
    code_usage,
    hull_volume,
    jerk_ratio,
    kabsch_align,
    kabsch_rmse,
    mean_jerk,
    perplexity,
    position_rmse,
    whole_tokens,
    wrist_hull_volume_ratio,
)
from motion_tokens.core.rotations import axis_angle_to_matrix

UNIT_CUBE = np.array(list(itertools.product([0.0, 1.0], repeat=3)))  # 8 corners


# --- position RMSE ---------------------------------------------------------------------------

def test_rmse_of_a_constant_offset_is_its_length_in_cm():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(7, 5, 3))
    b = a + np.array([0.03, 0.0, 0.04])  # every joint 5 cm away (3-4-5 triangle)
    assert position_rmse(a, b) == pytest.approx(5.0, abs=1e-9)


def test_rmse_pools_squared_errors_over_joints_and_frames():
    a = np.zeros((2, 2, 3))
    b = np.zeros((2, 2, 3))
    b[0, 0, 0] = 0.02  # one joint of four is 2 cm off: sqrt(4 / 4) = 1 cm
    assert position_rmse(a, b) == pytest.approx(1.0)
    assert position_rmse(a, a) == 0.0


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((4, 3)), np.zeros((4, 2)), "(..., N, 3)"),
        (np.zeros((4, 3)), np.zeros((5, 3)), "same shape"),
        (np.zeros(3), np.zeros(3), "(..., N, 3)"),
        (np.full((2, 3), np.nan), np.zeros((2, 3)), "NaN"),
        (np.zeros((0, 3)), np.zeros((0, 3)), "at least 1"),
    ],
)
def test_rmse_refuses_bad_shapes(a, b, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        position_rmse(a, b)


# --- Kabsch ----------------------------------------------------------------------------------

def _random_rotations(rng, n):
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    angles = rng.uniform(0.1, 3.0, size=(n, 1))
    return axis_angle_to_matrix(axes * angles)


def test_kabsch_of_a_rotated_and_translated_copy_is_zero_and_recovers_the_motion():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(6, 10, 3))  # 6 frames of 10 joints
    r = _random_rotations(rng, 6)
    t = rng.normal(size=(6, 3))
    # source = R^T (target - t): the rigid motion taking source back onto target is (R, t).
    source = np.einsum("fji,fnj->fni", r, target - t[:, None, :])
    aligned, r_est, t_est = kabsch_align(source, target)
    np.testing.assert_allclose(aligned, target, atol=1e-10)
    np.testing.assert_allclose(r_est, r, atol=1e-10)
    np.testing.assert_allclose(t_est, t, atol=1e-10)
    assert kabsch_rmse(target, source) == pytest.approx(0.0, abs=1e-8)
    assert position_rmse(target, source) > 1.0  # unaligned they are far apart


def test_kabsch_rotation_about_z_by_90_degrees():
    # A square in the XY plane plus a point above it, turned 90 deg about Z: R must be Rz(90).
    target = np.array([[1.0, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0], [0, 0, 1]])
    rz90 = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])
    source = target @ rz90  # = (Rz90^T p) per row
    _, r, t = kabsch_align(source, target)
    np.testing.assert_allclose(r, rz90, atol=1e-12)
    np.testing.assert_allclose(t, 0.0, atol=1e-12)


def test_kabsch_does_not_align_a_mirrored_copy():
    # The tetrahedron (0,0,0),(1,0,0),(0,1,0),(0,0,1) mirrored in x is chiral: no rotation maps
    # it back. Without the det fix the SVD's best orthogonal map is the mirror itself (error 0).
    target = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    mirrored = target * np.array([-1.0, 1, 1])
    aligned, r, _ = kabsch_align(mirrored, target)
    assert np.linalg.det(r) == pytest.approx(1.0)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert kabsch_rmse(target, mirrored) > 1.0  # cm; the points are 1 m apart in scale
    # ... and it is the best proper rotation: no random rotation of the mirror does better.
    rng = np.random.default_rng(2)
    best = np.sum((aligned - target) ** 2)
    for rot in _random_rotations(rng, 200):
        moved = mirrored @ rot.T
        moved += target.mean(0) - moved.mean(0)
        assert np.sum((moved - target) ** 2) >= best - 1e-12


def test_kabsch_rmse_of_a_known_non_rigid_change():
    # Two points 2 m apart becoming 2.2 m apart: the best fit centres them, leaving 0.1 m each.
    a = np.array([[[-1.0, 0, 0], [1.0, 0, 0]]])
    b = np.array([[[5.0, 1, 0], [5.0, 3.2, 0]]])  # moved and turned, and 10% longer
    assert kabsch_rmse(a, b) == pytest.approx(10.0, abs=1e-9)


def test_kabsch_groups_align_each_group_on_its_own_and_pool():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 8, 3))
    b = a.copy()
    r = _random_rotations(rng, 2)
    b[:, :4] = a[:, :4] @ r[0].T + 1.0  # first group: a different rigid motion
    b[:, 4:] = a[:, 4:] @ r[1].T - 2.0  # second group: another
    assert kabsch_rmse(a, b, groups=[range(4), range(4, 8)]) == pytest.approx(0.0, abs=1e-8)
    assert kabsch_rmse(a, b) > 1.0  # aligned as one set the two groups cannot both fit
    # Pooling: group 1 exact, group 2 (two points 2 m apart stretched to 2.2 m) 10 cm off at
    # both its joints: sqrt((0 + 0 + 0.1^2 + 0.1^2) / 4) m = 7.07 cm.
    a2 = np.array([[[0.0, 0, 0], [0, 1, 0], [-1, 0, 0], [1, 0, 0]]])
    c2 = np.array([[[3.0, 0, 0], [3, 1, 0], [-1.1, 5, 0], [1.1, 5, 0]]])
    assert kabsch_rmse(a2, c2, groups=[[0, 1], [2, 3]]) == pytest.approx(10.0 / math.sqrt(2))


def test_kabsch_refuses_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        kabsch_align(np.zeros((3, 4, 3)), np.zeros((3, 5, 3)))
    with pytest.raises(ValueError, match=r"\(\.\.\., N, 3\)"):
        kabsch_rmse(np.zeros((3, 4, 2)), np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match="outside"):
        kabsch_rmse(np.zeros((3, 4, 3)), np.zeros((3, 4, 3)), groups=[[0, 9]])
    with pytest.raises(ValueError, match="non-empty"):
        kabsch_rmse(np.zeros((3, 4, 3)), np.zeros((3, 4, 3)), groups=[[]])


# --- convex hull -----------------------------------------------------------------------------

def test_hull_volume_of_unit_cube_and_tetrahedron():
    assert hull_volume(UNIT_CUBE) == pytest.approx(1.0)
    assert hull_volume(np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])) == pytest.approx(1 / 6)
    # interior points do not change the hull; a scaled cube scales by the cube of the factor
    inner = np.random.default_rng(4).uniform(0.1, 0.9, size=(50, 3))
    assert hull_volume(np.vstack([UNIT_CUBE, inner])) == pytest.approx(1.0)
    assert hull_volume(UNIT_CUBE * 0.1) == pytest.approx(1e-3)


@pytest.mark.parametrize(
    "points",
    [
        np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]),  # 3 points
        np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [0.5, 0.2, 0]]),  # flat square
        np.array([[t, 2 * t, -t] for t in np.linspace(0, 1, 10)]),  # a line
        np.ones((20, 3)),  # one spot, a wrist that never moves
    ],
    ids=["three points", "plane", "line", "one spot"],
)
def test_hull_volume_of_degenerate_sets_is_zero(points):
    assert hull_volume(points) == 0.0


def test_hull_volume_refuses_bad_shapes():
    with pytest.raises(ValueError, match=r"one set of shape \(N, 3\)"):
        hull_volume(np.zeros((2, 8, 3)))
    with pytest.raises(ValueError, match=r"\(\.\.\., N, 3\)"):
        hull_volume(np.zeros((8, 2)))


def test_wrist_hull_ratio_of_a_halved_trajectory_is_one_eighth():
    # Left wrist sweeps the unit cube, right wrist a 2 m cube; decoded: both scaled by 1/2.
    T = len(UNIT_CUBE)
    orig = np.zeros((T, 22, 3))
    orig[:, 20] = UNIT_CUBE
    orig[:, 21] = UNIT_CUBE * 2.0
    dec = orig.copy()
    dec[:, 20] *= 0.5
    dec[:, 21] = UNIT_CUBE  # half of the 2 m cube
    r = wrist_hull_volume_ratio(orig, dec)
    assert r.left == pytest.approx(12.5) and r.right == pytest.approx(12.5) and r.mean == pytest.approx(12.5)
    assert r.original_m3 == pytest.approx((1.0, 8.0)) and r.decoded_m3 == pytest.approx((0.125, 1.0))
    same = wrist_hull_volume_ratio(orig, orig)
    assert (same.left, same.right, same.mean) == pytest.approx((100.0, 100.0, 100.0))


def test_wrist_hull_ratio_of_a_still_original_wrist_is_nan():
    orig = np.zeros((8, 22, 3))
    orig[:, 20] = UNIT_CUBE
    r = wrist_hull_volume_ratio(orig, orig)
    assert r.left == pytest.approx(100.0) and math.isnan(r.right) and math.isnan(r.mean)
    with pytest.raises(ValueError, match="outside"):
        wrist_hull_volume_ratio(np.zeros((8, 5, 3)), np.zeros((8, 5, 3)))


# --- jerk ------------------------------------------------------------------------------------

def test_jerk_of_a_cubic_is_six_c():
    fps = 30.0
    t = np.arange(40) / fps
    c = np.array([0.5, -2.0, 1.0])  # x = c t^3: jerk vector 6c, magnitude 6 |c| = 6 * 2.291...
    pos = c[None, :] * t[:, None] ** 3
    assert mean_jerk(pos[:, None, :], fps) == pytest.approx(6 * math.sqrt(0.25 + 4 + 1), rel=1e-9)
    # a quadratic (constant acceleration) has no jerk; adding it to the cubic changes nothing
    quad = 3.0 * t[:, None] ** 2 + 0.7 * t[:, None]
    assert mean_jerk(np.repeat(quad, 3, axis=1), fps) == pytest.approx(0.0, abs=1e-6)
    assert mean_jerk(pos + quad, fps) == pytest.approx(6 * math.sqrt(5.25), rel=1e-6)


def test_jerk_ratio_of_a_scaled_motion():
    t = np.arange(10) / 30.0
    pos = np.stack([t**3, t**3, np.zeros_like(t)], axis=-1)[:, None, :]
    assert jerk_ratio(pos, 2.0 * pos, 30.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="zero jerk"):
        jerk_ratio(np.zeros((10, 1, 3)), pos, 30.0)


def test_jerk_refuses_too_few_frames_and_bad_rates():
    with pytest.raises(ValueError, match="at least 4 frames"):
        mean_jerk(np.zeros((3, 2, 3)), 30.0)
    with pytest.raises(ValueError, match="fps must be positive"):
        mean_jerk(np.zeros((5, 2, 3)), 0.0)
    with pytest.raises(ValueError, match=r"\(T, \.\.\., 3\)"):
        mean_jerk(np.zeros((5, 2)), 30.0)


# --- code usage and perplexity ---------------------------------------------------------------

def test_uniform_use_of_four_of_eight_codes():
    tokens = np.array([0, 1, 2, 3] * 5)
    assert code_usage(tokens, 8) == QuantizerStats((50.0,), 50.0)
    ppl = perplexity(tokens, 8)
    assert ppl.per_quantizer == pytest.approx((4.0,)) and ppl.mean == pytest.approx(4.0)


def test_skewed_use_has_perplexity_below_the_count_of_codes():
    # p = (1/2, 1/4, 1/4): H = 1.5 ln 2, perplexity 2^1.5 = 2.828...
    tokens = np.array([5, 5, 6, 7])
    assert perplexity(tokens, 8).mean == pytest.approx(2 ** 1.5)
    assert code_usage(tokens, 8).mean == pytest.approx(37.5)
    assert perplexity(np.zeros(9, dtype=int), 8).mean == pytest.approx(1.0)


def test_residual_tokens_are_counted_per_quantizer():
    # quantizer 0 uses all 4 codes uniformly, quantizer 1 only code 2
    tokens = np.stack([np.array([0, 1, 2, 3] * 2), np.full(8, 2)], axis=1)
    usage = code_usage(tokens, 4)
    assert usage.per_quantizer == (100.0, 25.0) and usage.mean == 62.5
    ppl = perplexity(tokens, 4)
    assert ppl.per_quantizer == pytest.approx((4.0, 1.0)) and ppl.mean == pytest.approx(2.5)


def test_whole_tokens_number_the_code_tuples():
    # D = 8, Q = 3: (1, 2, 3) -> 1 + 2*8 + 3*64 = 209; (7, 7, 7) -> 511 = 8^3 - 1
    tokens = np.array([[1, 2, 3], [7, 7, 7], [0, 0, 0], [1, 2, 3]])
    np.testing.assert_array_equal(whole_tokens(tokens, 8), [209, 511, 0, 209])
    np.testing.assert_array_equal(whole_tokens(np.array([4, 2]), 8), [4, 2])
    # two quantizers each using 2 codes uniformly but always together: 2 whole symbols, not 4
    pairs = np.array([[0, 5], [1, 6]] * 4)
    assert perplexity(pairs, 8).mean == pytest.approx(2.0)
    assert perplexity(whole_tokens(pairs, 8), 64).mean == pytest.approx(2.0)
    assert code_usage(whole_tokens(pairs, 8), 64).mean == pytest.approx(100 * 2 / 64)
    with pytest.raises(ValueError, match=r"\[0, 8\)"):
        whole_tokens(np.array([[0, 8]]), 8)


@pytest.mark.parametrize(
    "tokens, k, message",
    [
        (np.array([0, 8]), 8, r"\[0, 8\)"),
        (np.array([-1, 0]), 8, r"\[0, 8\)"),
        (np.array([0.0, 1.0]), 8, "integers"),
        (np.zeros((2, 2, 2), dtype=int), 8, r"\(T,\) or \(T, Q\)"),
        (np.array([], dtype=int), 8, "empty"),
        (np.array([0, 1]), 0, "positive integer"),
    ],
)
def test_usage_and_perplexity_refuse_bad_tokens(tokens, k, message):
    for fn in (code_usage, perplexity):
        with pytest.raises(ValueError, match=message):
            fn(tokens, k)


def test_code_frequencies_by_hand():
    tokens = np.array([[0, 1], [0, 1], [2, 1], [0, 3]])
    assert code_frequencies(tokens, 4) == ((0.75, 0.0, 0.25, 0.0), (0.0, 0.75, 0.0, 0.25))


def test_expected_usage_by_hand():
    # Two equally likely codes and one draw: one of the two is used, 50%.
    assert expected_usage([[0.5, 0.5]], 1).per_quantizer == pytest.approx((50.0,))
    # Shares (0.75, 0.25, 0, 0), two draws: 1 - 0.25^2 and 1 - 0.75^2 of a code each, over 4 codes.
    assert expected_usage([[0.75, 0.25, 0.0, 0.0]], 2).mean == pytest.approx(100 * (0.9375 + 0.4375) / 4)
    # 64 codes used uniformly by 120 latents (the face's held-out split at one latent per 4
    # frames): 64 (1 - (63/64)^120) codes in expectation, 85%, never 95%.
    assert expected_usage(np.full((1, 64), 1 / 64), 120).mean == pytest.approx(100 * (1 - (63 / 64) ** 120))
    assert 84 < expected_usage(np.full((1, 64), 1 / 64), 120).mean < 86


def test_expected_usage_matches_sampling():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(32, 0.5))
    draws = rng.choice(32, size=(4000, 90), p=p)  # 4000 splits of 90 latents
    sampled = np.mean([100 * len(np.unique(d)) / 32 for d in draws])
    assert expected_usage([p], 90).mean == pytest.approx(sampled, abs=0.3)


def test_hull_volume_of_round_off_noise_around_one_spot_is_zero():
    # A wrist held at one decoded pose while the root turns: the same point up to 1e-16 noise.
    rng = np.random.default_rng(5)
    spot = np.array([0.23, -0.069, 0.024]) + rng.normal(scale=1e-16, size=(90, 3))
    assert hull_volume(spot) == 0.0
    # ...while a genuinely small hull (a 1 mm cube far from the origin) keeps its volume
    assert hull_volume(UNIT_CUBE * 1e-3 + 5.0) == pytest.approx(1e-9, rel=1e-6)
