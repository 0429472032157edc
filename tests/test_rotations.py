"""Rotation helpers checked on cases worked by hand, chosen so that a plausible slip fails."""

import numpy as np
from motion_tokens.core import rotations as rot
from motion_tokens.core.kinematics import forward_kinematics


def _about_z(degrees: float) -> np.ndarray:
    h = np.radians(degrees) / 2
    return np.array([np.cos(h), 0.0, 0.0, np.sin(h)])


def test_slerp_takes_the_short_way_between_quaternions_of_opposite_hemispheres():
    # +170 and -170 degrees about z, both stored with w > 0 (so no normalisation flips them):
    # their dot product is cos(170 deg) < 0. The short arc (20 degrees) passes through 180
    # degrees; the long one (340 degrees) through the identity.
    q0, q1 = _about_z(170.0), _about_z(-170.0)
    assert q0[0] > 0 and q1[0] > 0 and q0 @ q1 < 0
    mid = rot.quat_slerp(q0, q1, 0.5)
    assert abs(np.degrees(rot.quat_angle(mid)) - 180.0) < 1e-9
    quarter = rot.quat_slerp(q0, q1, 0.25)  # 5 degrees on from +170: 175 degrees about z
    np.testing.assert_allclose(rot.quat_to_matrix(quarter), rot.quat_to_matrix(_about_z(175.0)), atol=1e-12)


def test_forward_kinematics_moves_a_child_by_its_parents_rotation():
    # Root -> a (offset +x) -> b (offset +y from a). Root turns 90 degrees about z, a 90
    # about x, b 90 about z. By hand: a = Rz90 (1,0,0) = (0,1,0); b = a + Rz90 Rx90 (0,1,0)
    # = (0,1,0) + Rz90 (0,0,1) = (0,1,1): b's own turn does not move b. Turning an offset by
    # the child's own rotation instead would put b at (0,1,0) + Rz Rx Rz (0,1,0) = (0,0,0).
    h = np.radians(90.0) / 2
    rz = [np.cos(h), 0, 0, np.sin(h)]
    rx = [np.cos(h), np.sin(h), 0, 0]
    quats = np.array([rz, rx, rz])
    offsets = np.array([[0.0, 0, 0], [1.0, 0, 0], [0.0, 1, 0]])
    glob, pos = forward_kinematics(quats, offsets, (-1, 0, 1), np.zeros(3))
    np.testing.assert_allclose(pos, [[0, 0, 0], [0, 1, 0], [0, 1, 1]], atol=1e-12)
    np.testing.assert_allclose(glob[2], rot.quat_to_matrix(rz) @ rot.quat_to_matrix(rx) @ rot.quat_to_matrix(rz), atol=1e-12)


def test_kabsch_rotation_recovers_a_rotation_and_refuses_a_mirror():
    rng = np.random.default_rng(3)
    points = rng.normal(size=(10, 3))
    turn = rot.axis_angle_to_matrix(np.array([0.3, -1.1, 0.4]))
    r, s = rot.kabsch_rotation(points, points @ turn.T)
    np.testing.assert_allclose(r, turn, atol=1e-12)
    assert s[1] > 1e-3 * s[0]
    mirrored = points * np.array([-1.0, 1, 1])
    r, _ = rot.kabsch_rotation(points, mirrored)
    assert np.linalg.det(r) > 0  # a proper rotation, never the reflection
