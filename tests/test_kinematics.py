"""Forward kinematics, rotation conversions and resampling against hand-worked values and round trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from motion_tokens.core import rotations as rot
from motion_tokens.core.kinematics import (
    forward_kinematics,
    global_to_local,
    rest_positions,
)
from motion_tokens.core.motion import Motion
from motion_tokens.core.skeleton import Skeleton
from scipy.spatial.transform import Rotation

S2 = np.sqrt(0.5)
QX90 = np.array([S2, S2, 0, 0])  # 90 degrees about X
QY90 = np.array([S2, 0, S2, 0])
QZ90 = np.array([S2, 0, 0, S2])
IDENT = np.array([1.0, 0, 0, 0])

ORDERS = ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"]


def rodrigues(axis_angle):
    """Rotation matrix from one axis-angle vector, written out independently of the module."""
    angle = np.linalg.norm(axis_angle)
    if angle == 0:
        return np.eye(3)
    k = axis_angle / angle
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


def elementary(axis, a):
    c, s = np.cos(a), np.sin(a)
    return {
        "X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


# --- forward kinematics ---------------------------------------------------------------------

CHAIN_OFFSETS = np.array([[5.0, 5.0, 5.0], [1.0, 0, 0], [0, 1.0, 0]])
CHAIN_PARENTS = (-1, 0, 1)


def test_fk_three_joint_chain_by_hand():
    # root turned 90 deg about Z at (1, 2, 3); joint 1 turned 90 deg about X; joint 2 about Y.
    quats = np.stack([QZ90, QX90, QY90])
    glob, pos = forward_kinematics(quats, CHAIN_OFFSETS, CHAIN_PARENTS, np.array([1.0, 2, 3]))
    # joint 1 = root + Rz90 (1,0,0) = (1,2,3) + (0,1,0)
    # joint 2 = joint 1 + Rz90 Rx90 (0,1,0) = (1,3,3) + Rz90 (0,0,1) = (1,3,4)
    np.testing.assert_allclose(pos, [[1, 2, 3], [1, 3, 3], [1, 3, 4]], atol=1e-12)
    # Joint 2's world X axis: Ry90 x = -z; Rx90 (-z) = +y; Rz90 y = -x.
    np.testing.assert_allclose(glob[2] @ [1, 0, 0], [-1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(glob[1], elementary("Z", np.pi / 2) @ elementary("X", np.pi / 2), atol=1e-12)


def test_fk_batches_over_leading_axes():
    rng = np.random.default_rng(0)
    quats = rot.quat_normalize(rng.normal(size=(4, 5, 3, 4)))
    roots = rng.normal(size=(4, 5, 3))
    glob, pos = forward_kinematics(quats, CHAIN_OFFSETS, CHAIN_PARENTS, roots)
    assert glob.shape == (4, 5, 3, 3, 3) and pos.shape == (4, 5, 3, 3)
    g1, p1 = forward_kinematics(quats[2, 3], CHAIN_OFFSETS, CHAIN_PARENTS, roots[2, 3])
    np.testing.assert_allclose(glob[2, 3], g1, atol=1e-12)
    np.testing.assert_allclose(pos[2, 3], p1, atol=1e-12)


def test_global_to_local_inverts_fk():
    rng = np.random.default_rng(1)
    parents = (-1, 0, 1, 1, 0, 4)
    quats = rot.quat_normalize(rng.normal(size=(7, 6, 4)))
    glob, _ = forward_kinematics(quats, rng.normal(size=(6, 3)), parents, np.zeros((7, 3)))
    np.testing.assert_allclose(global_to_local(glob, parents), rot.quat_to_matrix(quats), atol=1e-12)


def test_rest_positions_sum_offsets():
    np.testing.assert_allclose(rest_positions(CHAIN_OFFSETS, CHAIN_PARENTS), [[5, 5, 5], [6, 5, 5], [6, 6, 5]])


def test_fk_refuses_children_before_parents():
    with pytest.raises(ValueError, match="precede"):
        forward_kinematics(np.tile(IDENT, (3, 1)), CHAIN_OFFSETS, (-1, 2, 0), np.zeros(3))


# --- rotation conversions: independent references ---------------------------------------------


def test_axis_angle_matches_rodrigues_and_scipy():
    rng = np.random.default_rng(2)
    aa = rng.normal(size=(50, 3))
    mats = rot.axis_angle_to_matrix(aa)
    for a, m in zip(aa, mats):
        np.testing.assert_allclose(m, rodrigues(a), atol=1e-12)
    q = rot.axis_angle_to_quat(aa)
    ref = Rotation.from_rotvec(aa).as_quat()  # scipy: (x, y, z, w)
    ref = np.concatenate([ref[:, 3:], ref[:, :3]], axis=1)
    ref *= np.where(ref[:, :1] < 0, -1, 1)
    np.testing.assert_allclose(q, ref, atol=1e-12)


@pytest.mark.parametrize("order", ORDERS)
def test_euler_to_matrix_is_the_product_in_order(order):
    angles = np.array([0.3, -1.1, 2.5])
    expected = elementary(order[0], angles[0]) @ elementary(order[1], angles[1]) @ elementary(order[2], angles[2])
    np.testing.assert_allclose(rot.euler_to_matrix(angles, order), expected, atol=1e-12)


def test_bvh_zxy_channel_order_by_hand():
    # Zrotation 90, Xrotation 90, Yrotation 0: R = Rz Rx; x-axis -> Rz x = y; z-axis -> Rz(Rx z) = Rz(-y) = x.
    m = rot.euler_to_matrix(np.radians([90.0, 90.0, 0.0]), "ZXY")
    np.testing.assert_allclose(m @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(m @ [0, 0, 1], [1, 0, 0], atol=1e-12)


def test_bad_euler_order_is_refused():
    with pytest.raises(ValueError, match="permutation"):
        rot.euler_to_matrix(np.zeros(3), "XXY")


# --- rotation conversions: round-trip properties (float64) ------------------------------------

unit_vectors = arrays(np.float64, 3, elements=st.floats(-1, 1)).filter(lambda v: np.linalg.norm(v) > 0.1)
quats = arrays(np.float64, 4, elements=st.floats(-1, 1)).filter(lambda q: np.linalg.norm(q) > 0.1)


def same_rotation(m1, m2, atol=1e-9):
    np.testing.assert_allclose(m1, m2, atol=atol)


@settings(max_examples=200, deadline=None)
@given(axis=unit_vectors, angle=st.floats(0.0, np.pi))
def test_axis_angle_quat_matrix_round_trip(axis, angle):
    aa = axis / np.linalg.norm(axis) * angle
    m = rot.axis_angle_to_matrix(aa)
    same_rotation(m, rodrigues(aa))
    back = rot.quat_to_axis_angle(rot.axis_angle_to_quat(aa))
    same_rotation(rot.axis_angle_to_matrix(back), m)
    same_rotation(rot.axis_angle_to_matrix(rot.matrix_to_axis_angle(m)), m)
    if angle < np.pi - 1e-6:  # at pi, aa and -aa are the same rotation
        np.testing.assert_allclose(back, aa, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(q=quats)
def test_quat_matrix_sixd_round_trip(q):
    q = rot.quat_normalize(q)
    m = rot.quat_to_matrix(q)
    np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(m) == pytest.approx(1.0, abs=1e-12)
    q2 = rot.matrix_to_quat(m)
    assert abs(abs(np.dot(q, q2)) - 1.0) < 1e-12  # q and -q are one rotation
    same_rotation(rot.sixd_to_matrix(rot.matrix_to_sixd(m)), m, atol=1e-12)
    same_rotation(rot.quat_to_matrix(rot.sixd_to_quat(rot.quat_to_sixd(q))), m, atol=1e-12)
    # quat_apply agrees with the matrix
    v = np.array([0.3, -0.7, 1.9])
    np.testing.assert_allclose(rot.quat_apply(q, v), m @ v, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(order=st.sampled_from(ORDERS), a=st.floats(-np.pi, np.pi), b=st.floats(-np.pi / 2, np.pi / 2), c=st.floats(-np.pi, np.pi))
def test_euler_round_trip_all_orders(order, a, b, c):
    m = rot.euler_to_matrix(np.array([a, b, c]), order)
    angles = rot.matrix_to_euler(m, order)
    same_rotation(rot.euler_to_matrix(angles, order), m)
    if abs(abs(b) - np.pi / 2) > 1e-3 and max(abs(a), abs(c)) < np.pi - 1e-6:
        np.testing.assert_allclose(angles, [a, b, c], atol=1e-8)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("b", [np.pi / 2, -np.pi / 2])
def test_euler_gimbal_lock(order, b):
    m = rot.euler_to_matrix(np.array([0.4, b, -1.2]), order)
    angles = rot.matrix_to_euler(m, order)
    assert angles[2] == 0.0  # the documented convention: the third angle goes to the first
    same_rotation(rot.euler_to_matrix(angles, order), m, atol=1e-9)


@pytest.mark.parametrize("eps", [0.0, 1e-12, 1e-8, 1e-5])
def test_rotations_near_pi(eps):
    axis = np.array([1.0, 2.0, -2.0]) / 3.0
    aa = axis * (np.pi - eps)
    m = rodrigues(aa)
    q = rot.matrix_to_quat(m)
    same_rotation(rot.quat_to_matrix(q), m, atol=1e-12)
    back = rot.matrix_to_axis_angle(m)
    same_rotation(rodrigues(back), m, atol=1e-9)
    assert np.linalg.norm(back) == pytest.approx(np.pi - eps, abs=1e-9)
    assert rot.quat_angle(q) == pytest.approx(np.pi - eps, abs=1e-9)


def test_small_angles_keep_precision():
    aa = np.array([1e-9, -2e-9, 3e-9])
    np.testing.assert_allclose(rot.quat_to_axis_angle(rot.axis_angle_to_quat(aa)), aa, rtol=1e-9, atol=0)


def test_quat_between_takes_u_to_v():
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    q = rot.quat_between(u, v)
    np.testing.assert_allclose(rot.quat_apply(q, u / np.linalg.norm(u, axis=1, keepdims=True)),
                               v / np.linalg.norm(v, axis=1, keepdims=True), atol=1e-12)
    # opposite directions: a half turn
    q = rot.quat_between([1.0, 0, 0], [-1.0, 0, 0])
    np.testing.assert_allclose(rot.quat_apply(q, [1.0, 0, 0]), [-1, 0, 0], atol=1e-12)
    assert rot.quat_angle(q) == pytest.approx(np.pi)


# --- slerp and resampling ---------------------------------------------------------------------


def test_slerp_endpoints_and_midpoint():
    q1 = QZ90
    np.testing.assert_allclose(rot.quat_slerp(IDENT, q1, 0.0), IDENT, atol=1e-12)
    np.testing.assert_allclose(rot.quat_slerp(IDENT, q1, 1.0), q1, atol=1e-12)
    # halfway from 0 to 90 degrees about Z is 45 degrees: (cos 22.5, 0, 0, sin 22.5)
    h = np.radians(22.5)
    np.testing.assert_allclose(rot.quat_slerp(IDENT, q1, 0.5), [np.cos(h), 0, 0, np.sin(h)], atol=1e-12)
    t = np.radians(15.0)  # a third of the way: 30 degrees
    np.testing.assert_allclose(rot.quat_slerp(IDENT, q1, 1 / 3), [np.cos(t), 0, 0, np.sin(t)], atol=1e-12)
    # the short way round: -q1 is the same rotation and gives the same path
    np.testing.assert_allclose(rot.quat_slerp(IDENT, -q1, 0.5), [np.cos(h), 0, 0, np.sin(h)], atol=1e-12)


def spinning_motion(num_frames=31, fps=30.0, step=0.1):
    """Two joints; joint 1 turns `step` radians per frame about Z, the root moves 1 cm per frame."""
    skel = Skeleton(("root", "arm"), (-1, 0), np.array([[0, 1.0, 0], [0.5, 0, 0]]))
    k = np.arange(num_frames)
    aa = np.zeros((num_frames, 2, 3))
    aa[:, 1, 2] = step * k
    trans = np.stack([0.01 * k, np.zeros(num_frames), np.zeros(num_frames)], axis=1)
    return Motion.from_axis_angle(skel, fps, aa, trans)


def test_resample_up_and_down_reproduces_the_original():
    m = spinning_motion()
    there = m.resampled(60.0)
    assert there.num_frames == 61
    back = there.resampled(30.0)
    assert back.num_frames == m.num_frames
    np.testing.assert_allclose(rot.quat_to_matrix(back.rotations), rot.quat_to_matrix(m.rotations), atol=1e-12)
    np.testing.assert_allclose(back.trans, m.trans, atol=1e-12)


def test_resample_30_to_25_frame_count_and_values():
    m = spinning_motion(num_frames=31)  # 1 s at 30 fps
    r = m.resampled(25.0)
    assert r.fps == 25.0
    assert r.num_frames == 26  # output frames at 0, 1/25, ..., 25/25 s
    # output frame k is at source frame 1.2 k: the angle grows linearly, so it is 0.12 k
    k = np.arange(26)
    angle = rot.quat_angle(r.rotations[:, 1])
    np.testing.assert_allclose(angle, 0.12 * k, atol=1e-12)
    np.testing.assert_allclose(r.axis_angle()[1:, 1, :2], 0.0, atol=1e-12)  # still about Z
    np.testing.assert_allclose(r.trans[:, 0], 0.012 * k, atol=1e-12)
    np.testing.assert_allclose(r.rotations[:, 0], np.tile(IDENT, (26, 1)), atol=1e-12)
