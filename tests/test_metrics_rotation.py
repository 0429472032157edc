"""Rotation and velocity errors against hand-worked numbers and scipy's rotations.

Geodesic angles are worked by hand (a turn about one axis, two quarter turns about different
axes) or come from scipy's Rotation (inv(a) * b).magnitude(); percentiles from a set whose
95th percentile is known; velocities from linear motions; the part-level sums from the plain
forward kinematics of tests/codec_figures.py (scipy, one joint at a time), not core's.
"""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.codecs.evaluation import feature_errors
from motion_tokens.core.codecs.evaluation.feature_errors import FeatureSums, feature_figures, velocity_error_sums
from motion_tokens.core.codecs.metrics import (
    geodesic_deg,
    joint_angle_errors_deg,
    rotation_error,
    velocity_rmse,
    velocity_sq_sum,
)
from motion_tokens.core.parts import PART_REGISTRY, Part, get_part
from scipy.spatial.transform import Rotation

sys.path.insert(0, str(Path(__file__).resolve().parent))
from codec_figures import fk_points  # noqa: E402  (the independent forward kinematics)


def _about(axis, degrees) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    return axis / np.linalg.norm(axis) * math.radians(degrees)


# --- geodesic angle ----------------------------------------------------------------------------

def test_a_turn_about_one_axis_is_its_angle():
    assert geodesic_deg(np.zeros(3), _about([0, 0, 1], 30)) == pytest.approx(30.0)
    # 20 degrees then 50 more about the same axis: 50 apart
    assert geodesic_deg(_about([1, 1, 0], 20), _about([1, 1, 0], 70)) == pytest.approx(50.0)


def test_quarter_turns_about_x_and_y_are_120_degrees_apart():
    # q_x = (c, s, 0, 0), q_y = (c, 0, s, 0), c = s = 1/sqrt 2: q_x^-1 q_y has w = c^2 = 1/2,
    # so the relative rotation turns 2 acos(1/2) = 120 degrees.
    assert geodesic_deg(_about([1, 0, 0], 90), _about([0, 1, 0], 90)) == pytest.approx(120.0)


def test_identical_rotations_are_zero_whichever_way_they_are_written():
    rng = np.random.default_rng(1)
    aa = rng.normal(size=(50, 3))
    np.testing.assert_allclose(geodesic_deg(aa, aa), 0.0, atol=1e-6)
    # 3.5 rad about an axis is the same rotation as 3.5 - 2 pi about it; pi about x as pi about -x
    axis = np.array([0.6, 0.0, 0.8])
    assert geodesic_deg(axis * 3.5, axis * (3.5 - 2 * math.pi)) == pytest.approx(0.0, abs=1e-6)
    assert geodesic_deg([math.pi, 0, 0], [-math.pi, 0, 0]) == pytest.approx(0.0, abs=1e-6)


def test_it_is_symmetric_and_agrees_with_scipy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(scale=1.5, size=(2, 200, 3))
    got = geodesic_deg(a, b)
    np.testing.assert_allclose(got, geodesic_deg(b, a), atol=1e-9)
    want = np.degrees((Rotation.from_rotvec(a).inv() * Rotation.from_rotvec(b)).magnitude())
    np.testing.assert_allclose(got, want, atol=1e-7)


def test_angles_near_half_a_turn_keep_their_precision():
    # identity against 180 degrees less 1e-5 degrees about z: 179.99999
    assert geodesic_deg(np.zeros(3), _about([0, 0, 1], 180 - 1e-5)) == pytest.approx(180 - 1e-5, abs=1e-7)
    # 179.9 and 180.1 degrees about z (the latter is -179.9): 0.2 degrees apart, across pi
    assert geodesic_deg(_about([0, 0, 1], 179.9), _about([0, 0, 1], 180.1)) == pytest.approx(0.2, abs=1e-7)
    # a half turn about x against one about y: the relative rotation is a half turn about z
    assert geodesic_deg([math.pi, 0, 0], [0, math.pi, 0]) == pytest.approx(180.0, abs=1e-7)


def test_geodesic_refuses_bad_input():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        geodesic_deg(np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN"):
        geodesic_deg([np.nan, 0, 0], [0, 0, 0])


# --- per joint, pooled -------------------------------------------------------------------------

def test_joint_errors_read_the_rotation_columns_and_skip_expressions():
    T = 4
    a = np.zeros((T, 2 * 3 + 5))
    b = a.copy()
    b[:, 0:3] = _about([0, 1, 0], 10)  # joint 0 turned 10 degrees
    b[:, 3:6] = _about([1, 0, 0], 40)  # joint 1 turned 40 degrees
    b[:, 6:] = 7.0  # expression coefficients: not rotations
    np.testing.assert_allclose(joint_angle_errors_deg(a, b, 2), np.tile([10.0, 40.0], (T, 1)))
    with pytest.raises(ValueError, match="F >= 3 x 4 joints"):
        joint_angle_errors_deg(a, b, 4)


def test_mean_and_95th_percentile_of_a_known_set():
    # joint 0: 0, 1, ..., 100 degrees (mean 50, 95th percentile 95); joint 1: all 10 except one 110
    angles = np.stack([np.arange(101.0), np.r_[np.full(100, 10.0), 110.0]], axis=1)
    err = rotation_error(angles)
    assert err.per_joint_mean == pytest.approx((50.0, 10.0 + 100.0 / 101))
    assert err.per_joint_p95 == pytest.approx((95.0, 10.0))
    assert err.mean == pytest.approx((50 * 101 + 10 * 100 + 110) / 202)
    # pooled 202 values, sorted: 0..9 (positions 0-9), 10 x 101 (10-110), 11..100 (111-200:
    # position p holds p - 100), 110 (201). The 95th percentile sits at 0.95 x 201 = 190.95,
    # between position 190 (90) and 191 (91): 90.95
    assert err.p95 == pytest.approx(90.95)


# --- velocity ----------------------------------------------------------------------------------

def test_velocity_error_of_a_linear_drift():
    T = 10
    orig = np.zeros((T, 2, 3))
    dec = orig.copy()
    dec[:, 0, 0] = 0.001 * np.arange(T)  # 1 mm per frame at 30 fps: 3 cm/s off; point 1 exact
    assert velocity_rmse(orig, dec, 30.0) == pytest.approx(math.sqrt((3.0**2 + 0.0) / 2))
    sq, n = velocity_sq_sum(orig, dec, 30.0)
    assert n == (T - 1) * 2 and sq == pytest.approx(9.0 * (T - 1))
    # a constant offset, however large, moves at the right speed: no velocity error
    assert velocity_rmse(orig, orig + 0.5, 30.0) == pytest.approx(0.0)
    # both moving, at 3 and 4 cm per frame in x and y: 5 cm/frame = 150 cm/s apart at 30 fps
    a = np.zeros((5, 1, 3))
    a[:, 0, 0] = 0.03 * np.arange(5)
    b = np.zeros((5, 1, 3))
    b[:, 0, 1] = 0.04 * np.arange(5)
    assert velocity_rmse(a, b, 30.0) == pytest.approx(150.0)


def test_velocity_refuses_bad_input():
    with pytest.raises(ValueError, match="T >= 2"):
        velocity_rmse(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)), 30.0)
    with pytest.raises(ValueError, match="same shape"):
        velocity_rmse(np.zeros((3, 2, 3)), np.zeros((3, 1, 3)), 30.0)
    with pytest.raises(ValueError, match="fps"):
        velocity_rmse(np.zeros((3, 2, 3)), np.zeros((3, 2, 3)), 0.0)


def test_part_velocity_error_matches_an_independent_forward_kinematics(monkeypatch):
    rng = np.random.default_rng(3)
    T, F = 23, get_part("body").num_features
    orig = rng.normal(scale=0.3, size=(T, F))
    dec = orig + rng.normal(scale=0.05, size=(T, F))
    d = np.diff(fk_points(dec, "body") - fk_points(orig, "body"), axis=0) * 30.0 * 100.0
    want = math.sqrt(np.mean(np.sum(d * d, axis=-1)))
    monkeypatch.setattr(feature_errors, "_VELOCITY_BLOCK", 5)  # blocks overlap by a frame: none lost
    sq, n = velocity_error_sums(orig, dec, "body")
    assert n == (T - 1) * get_part("body").num_points
    assert math.sqrt(sq / n) == pytest.approx(want, rel=1e-9)


# --- a part's feature figures, expressions included --------------------------------------------

@pytest.fixture
def jaw_part(monkeypatch):
    """A face-like part registered for the test: the jaw's rotation and 2 expression coefficients,
    its error point a tip beyond the jaw (relative to the head)."""
    part = Part(name="test-jaw", label="Jaw", joints=(22,), points=(), tips_from=(22,), point_origins=(15,),
                headline="rmse_cm", headline_label="full-pose RMSE", expressions=2)
    monkeypatch.setitem(PART_REGISTRY, part.name, part)
    return part.name


def test_feature_figures_of_a_part_with_expressions(jaw_part):
    T = 6
    orig = np.zeros((T, 5))
    dec = orig.copy()
    dec[:, :3] = _about([1, 0, 0], 10)  # the jaw opened 10 degrees more in every frame
    dec[:, 3:] = [0.3, 0.4]
    fig = feature_figures([(orig, dec), (orig[:3], orig[:3])], jaw_part)
    # 9 frames, 6 of them 10 degrees off: mean 6.67; the 95th percentile is among the 10s
    assert fig.rotation_mean_deg == pytest.approx(10.0 * 6 / 9)
    assert fig.rotation_p95_deg == pytest.approx(10.0)
    assert fig.rotation_joint_mean_deg == pytest.approx({"jaw": 10.0 * 6 / 9})
    assert fig.worst_joints(1) == [("jaw", pytest.approx(10.0 * 6 / 9))]
    # coefficients off by 0.3 and 0.4 in 6 of 9 frames: sqrt(6 (0.09 + 0.16) / 18)
    assert fig.expression_rmse == pytest.approx(math.sqrt(6 * 0.25 / 18))
    assert fig.velocity_rmse_cm_s == pytest.approx(0.0, abs=1e-9)  # a constant error does not move
    block = fig.manifest_block()
    assert block["expression_rmse"] == pytest.approx(0.2887, abs=1e-4) and block["rotation_deg_by_joint"] == {"jaw": 6.667}


def test_a_part_without_expressions_has_no_expression_figure():
    T, F = 5, get_part("hands").num_features
    orig = np.zeros((T, F))
    fig = feature_figures([(orig, orig)], "hands")
    assert fig.rotation_mean_deg == 0.0 and math.isnan(fig.expression_rmse)
    assert "expression_rmse" not in fig.manifest_block()
    with pytest.raises(ValueError, match=r"hands features must be two \(T, 90\) arrays"):
        FeatureSums("hands").add(orig[:, :10], orig[:, :10])
