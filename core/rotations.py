"""Rotation conversions, vectorised over any leading batch shape.

Conventions (the same everywhere in the project):
- axis-angle: (..., 3), the rotation axis scaled by the angle in radians (SMPL-X `poses`).
- quaternion: (..., 4), real part first (w, x, y, z); unit length; q and -q are the same
  rotation, functions that return quaternions return the one with w >= 0.
- matrix: (..., 3, 3), acting on column vectors (v' = R @ v).
- 6D: (..., 6), the first two columns of the matrix, concatenated (col0, col1).
- Euler: (..., 3) radians, one angle per axis in the order named by `order`, e.g. "ZXY"
  means R = Rz @ Rx @ Ry (the BVH channel order, intrinsic rotations).

All functions compute in float64 and return float64.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def _f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def quat_normalize(q) -> np.ndarray:
    """(..., 4) -> (..., 4) unit quaternions with w >= 0."""
    q = _f64(q)
    # One scale per quaternion, its sign flipping those with w < 0: a single full-size product.
    norm = np.sqrt(np.einsum("...i,...i->...", q, q))
    scale = np.where(q[..., 0] < 0, -1.0, 1.0) / np.maximum(norm, _EPS)
    return q * scale[..., None]


def quat_conjugate(q) -> np.ndarray:
    """(..., 4) -> (..., 4); the inverse of a unit quaternion."""
    out = np.array(q, dtype=np.float64)
    out[..., 1:] *= -1.0
    return out


def quat_multiply(a, b) -> np.ndarray:
    """Hamilton product a * b of (..., 4) quaternions (apply b first, then a)."""
    a, b = _f64(a), _f64(b)
    # Contiguous copies of the components: the sixteen products then run at full speed
    # instead of striding through (..., 4) rows.
    aw, ax, ay, az = np.moveaxis(a, -1, 0).copy()
    bw, bx, by, bz = np.moveaxis(b, -1, 0).copy()
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))  # filled per component: no stacked copy
    out[..., 0] = aw * bw - ax * bx - ay * by - az * bz
    out[..., 1] = aw * bx + ax * bw + ay * bz - az * by
    out[..., 2] = aw * by - ax * bz + ay * bw + az * bx
    out[..., 3] = aw * bz + ax * by - ay * bx + az * bw
    return out


def quat_apply(q, v) -> np.ndarray:
    """Rotate (..., 3) vectors by (..., 4) quaternions."""
    q, v = _f64(q), _f64(v)
    # v + w t + u x t with t = 2 u x v, one component at a time (np.cross's arithmetic,
    # without its moved axes and copies).
    w, ux, uy, uz = np.moveaxis(q, -1, 0)
    vx, vy, vz = np.moveaxis(v, -1, 0)
    tx, ty, tz = 2.0 * (uy * vz - uz * vy), 2.0 * (uz * vx - ux * vz), 2.0 * (ux * vy - uy * vx)
    out = np.empty(np.broadcast_shapes(q.shape[:-1], v.shape[:-1]) + (3,))
    out[..., 0] = vx + w * tx + (uy * tz - uz * ty)
    out[..., 1] = vy + w * ty + (uz * tx - ux * tz)
    out[..., 2] = vz + w * tz + (ux * ty - uy * tx)
    return out


def axis_angle_to_quat(aa) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 4) quaternion (w >= 0 for angles up to pi)."""
    aa = _f64(aa)
    angle = np.sqrt(np.einsum("...i,...i->...", aa, aa))
    half = 0.5 * angle
    # sin(x/2)/x, with its Taylor series near zero so small rotations keep full precision.
    small = angle < 1e-6
    k = np.where(small, 0.5 - angle * angle / 48.0, np.sin(half) / np.where(small, 1.0, angle))
    q = np.empty(aa.shape[:-1] + (4,))  # filled per component: no concatenated copy
    q[..., 0] = np.cos(half)
    q[..., 1:] = aa * k[..., None]
    return quat_normalize(q)


def quat_to_axis_angle(q) -> np.ndarray:
    """(..., 4) quaternion -> (..., 3) axis-angle with angle in [0, pi]."""
    q = quat_normalize(q)  # w >= 0
    w = np.minimum(q[..., 0], 1.0)
    xyz = q[..., 1:]
    s = np.sqrt(np.einsum("...i,...i->...", xyz, xyz))
    small = s < 1e-6
    # angle / sin(angle/2); near zero the series 2 + angle^2/12 (w ~ 1).
    k = np.where(small, 2.0 / np.maximum(w, _EPS) * (1.0 + s * s / 6.0),
                 2.0 * np.arctan2(s, w) / np.where(small, 1.0, s))
    return xyz * k[..., None]


def quat_to_matrix(q) -> np.ndarray:
    """(..., 4) quaternion -> (..., 3, 3) rotation matrix."""
    q = _f64(q)
    q = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), _EPS)
    w, x, y, z = np.moveaxis(q, -1, 0)
    m = np.empty(q.shape[:-1] + (3, 3))  # filled entry by entry: no stacked copy
    m[..., 0, 0], m[..., 0, 1], m[..., 0, 2] = 1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)
    m[..., 1, 0], m[..., 1, 1], m[..., 1, 2] = 2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)
    m[..., 2, 0], m[..., 2, 1], m[..., 2, 2] = 2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)
    return m


def matrix_to_quat(m) -> np.ndarray:
    """(..., 3, 3) rotation matrix -> (..., 4) quaternion, w >= 0.

    Picks, per matrix, the largest of the four candidate denominators (Shepperd's method), so
    rotations near pi are as accurate as small ones. Each component is chosen from its four
    candidates with one `np.choose`, so no (..., 4, 4) table of candidates is built.
    """
    m = _f64(m)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4 q_i^2 for i in w, x, y, z
    sq = [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22]
    best = np.argmax(np.stack(sq, axis=-1), axis=-1)  # the largest 4 q_i^2 is the largest |q_i|
    d21, d02, d10 = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    s10, s02, s21 = m[..., 1, 0] + m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 2, 1] + m[..., 1, 2]
    # Component c of the quaternion times 2|q_i|, for each choice i of the denominator.
    q = np.empty(m.shape[:-2] + (4,))
    q[..., 0] = np.choose(best, [sq[0], d21, d02, d10])
    q[..., 1] = np.choose(best, [d21, sq[1], s10, s02])
    q[..., 2] = np.choose(best, [d02, s10, sq[2], s21])
    q[..., 3] = np.choose(best, [d10, s02, s21, sq[3]])
    return quat_normalize(q)


def axis_angle_to_matrix(aa) -> np.ndarray:
    """(..., 3) -> (..., 3, 3)."""
    return quat_to_matrix(axis_angle_to_quat(aa))


def matrix_to_axis_angle(m) -> np.ndarray:
    """(..., 3, 3) -> (..., 3)."""
    return quat_to_axis_angle(matrix_to_quat(m))


def matrix_to_sixd(m) -> np.ndarray:
    """(..., 3, 3) -> (..., 6): first column then second column."""
    m = _f64(m)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def sixd_to_matrix(d6) -> np.ndarray:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt; any non-degenerate 6D vector is accepted."""
    d6 = _f64(d6)
    a, b = d6[..., :3], d6[..., 3:]
    c0 = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), _EPS)
    b = b - np.sum(c0 * b, axis=-1, keepdims=True) * c0
    c1 = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), _EPS)
    c2 = np.cross(c0, c1)
    return np.stack([c0, c1, c2], axis=-1)


def quat_to_sixd(q) -> np.ndarray:
    return matrix_to_sixd(quat_to_matrix(q))


def sixd_to_quat(d6) -> np.ndarray:
    return matrix_to_quat(sixd_to_matrix(d6))


_AXIS_INDEX = {"X": 0, "Y": 1, "Z": 2}


def _check_order(order: str) -> str:
    order = order.upper()
    if len(order) != 3 or set(order) - set("XYZ") or len(set(order)) != 3:
        raise ValueError(f"Euler order must be a permutation of XYZ, got {order!r}")
    return order


def axis_rotation_matrix(axis: str, angle) -> np.ndarray:
    """Rotation by `angle` (...) radians about the named axis -> (..., 3, 3)."""
    angle = _f64(angle)
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    if axis == "X":
        rows = [one, zero, zero, zero, c, -s, zero, s, c]
    elif axis == "Y":
        rows = [c, zero, s, zero, one, zero, -s, zero, c]
    elif axis == "Z":
        rows = [c, -s, zero, s, c, zero, zero, zero, one]
    else:
        raise ValueError(f"axis must be X, Y or Z, got {axis!r}")
    return np.stack(rows, axis=-1).reshape(angle.shape + (3, 3))


def euler_to_matrix(angles, order: str) -> np.ndarray:
    """(..., 3) radians, one per axis of `order` (e.g. "ZXY": R = Rz @ Rx @ Ry) -> (..., 3, 3)."""
    order = _check_order(order)
    angles = _f64(angles)
    m = axis_rotation_matrix(order[0], angles[..., 0])
    for i in (1, 2):
        m = m @ axis_rotation_matrix(order[i], angles[..., i])
    return m


def euler_to_quat(angles, order: str) -> np.ndarray:
    """(..., 3) radians, one per axis of `order` (as `euler_to_matrix`) -> (..., 4), w >= 0.

    The product of the three axis quaternions: the same rotation as
    matrix_to_quat(euler_to_matrix(angles, order)) without building any matrix. Each factor
    has two non-zero components, so each product is `_times_axis` (the Hamilton product's
    non-zero terms only: the same values).
    """
    order = _check_order(order)
    half = 0.5 * _f64(angles)
    q = np.zeros(half.shape[:-1] + (4,))
    q[..., 0] = np.cos(half[..., 0])
    q[..., 1 + _AXIS_INDEX[order[0]]] = np.sin(half[..., 0])
    for i in (1, 2):
        q = _times_axis(q, _AXIS_INDEX[order[i]], np.cos(half[..., i]), np.sin(half[..., i]))
    return quat_normalize(q)


def _times_axis(q: np.ndarray, axis: int, c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """q * (c, s e_axis): a quaternion times the rotation about axis 0, 1 or 2 (x, y, z)."""
    w, x, y, z = np.moveaxis(q, -1, 0)
    out = np.empty(q.shape)
    if axis == 0:
        out[..., 0], out[..., 1], out[..., 2], out[..., 3] = w * c - x * s, w * s + x * c, y * c + z * s, z * c - y * s
    elif axis == 1:
        out[..., 0], out[..., 1], out[..., 2], out[..., 3] = w * c - y * s, x * c - z * s, w * s + y * c, x * s + z * c
    else:
        out[..., 0], out[..., 1], out[..., 2], out[..., 3] = w * c - z * s, x * c + y * s, y * c - x * s, w * s + z * c
    return out


def matrix_to_euler(m, order: str) -> np.ndarray:
    """(..., 3, 3) -> (..., 3) radians for R = R_order[0] @ R_order[1] @ R_order[2].

    At gimbal lock (middle angle +-pi/2) the third angle is set to zero and the first takes
    the whole remaining rotation, so euler_to_matrix(matrix_to_euler(R)) == R still holds.
    """
    order = _check_order(order)
    m = _f64(m)
    i, j, k = (_AXIS_INDEX[a] for a in order)
    # Sign of the permutation (i, j, k): +1 for XYZ, YZX, ZXY; -1 for the others.
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    # For R = Ri(a) Rj(b) Rk(c): R[i, k] = sign * sin(b).
    sin_b = np.clip(sign * m[..., i, k], -1.0, 1.0)
    b = np.arcsin(sin_b)
    cos_b = np.sqrt(np.maximum(1.0 - sin_b**2, 0.0))
    locked = cos_b < 1e-9
    a = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    c = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    # Locked: c = 0 and R = Ri(a) Rj(b); a from the (k, j) / (j, j) entries.
    a_locked = np.arctan2(sign * m[..., k, j], m[..., j, j])
    a = np.where(locked, a_locked, a)
    c = np.where(locked, 0.0, c)
    return np.stack([a, b, c], axis=-1)


def quat_slerp(q0, q1, t) -> np.ndarray:
    """Spherical interpolation between (..., 4) quaternions at fraction t (broadcast to (...))."""
    q0, q1 = quat_normalize(q0), quat_normalize(q1)
    t = _f64(t)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)  # take the short way round
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    near = sin_theta < 1e-6
    safe = np.where(near, 1.0, sin_theta)
    w0 = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / safe)
    w1 = np.where(near, t, np.sin(t * theta) / safe)
    return quat_normalize(w0 * q0 + w1 * q1)


def quat_between(u, v) -> np.ndarray:
    """The smallest rotation taking direction u to direction v, both (..., 3) -> (..., 4).

    For opposite directions the rotation is pi about an axis perpendicular to u.
    """
    u, v = _f64(u), _f64(v)
    u = u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), _EPS)
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), _EPS)
    d = np.sum(u * v, axis=-1, keepdims=True)
    axis = np.cross(u, v)
    opposite = (d[..., 0] < -1 + 1e-9)
    # A perpendicular axis: cross with X unless u is nearly along X, then with Y.
    helper = np.where(np.abs(u[..., :1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
    perp = np.cross(u, helper)
    perp = perp / np.maximum(np.linalg.norm(perp, axis=-1, keepdims=True), _EPS)
    q = np.concatenate([1.0 + d, axis], axis=-1)
    q = np.where(opposite[..., None], np.concatenate([np.zeros_like(d), perp], axis=-1), q)
    return quat_normalize(q)


def quat_angle(q) -> np.ndarray:
    """(..., 4) -> (...) rotation angle in [0, pi]."""
    q = quat_normalize(q)
    return 2.0 * np.arctan2(np.linalg.norm(q[..., 1:], axis=-1), np.abs(q[..., 0]))


def kabsch_rotation(source, target) -> tuple[np.ndarray, np.ndarray]:
    """The proper rotation R minimising sum_i |R source_i - target_i|^2, per set (Kabsch).

    source, target: (..., N, 3) matching vectors, taken as they are (centre them first for a
    rigid fit of points); every leading index is solved on its own through one batched SVD.
    Returns (R (..., 3, 3), singular values (..., 3) of the cross-covariance, descending):
    a second singular value near zero means the vectors are collinear and R is not unique.
    R has det +1: when the best orthogonal map is a reflection, the smallest singular
    direction is flipped, so a mirrored copy is not aligned to zero error.
    """
    a, b = _f64(source), _f64(target)
    h = np.swapaxes(a, -1, -2) @ b  # (..., 3, 3) cross-covariance; with H = U S V^T, R = V diag(1,1,d) U^T
    u, s, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)))
    d = np.where(d == 0, 1.0, d)  # a rank-deficient H has det 0: no reflection to undo
    fix = np.ones(h.shape[:-2] + (3,))
    fix[..., 2] = d
    return np.swapaxes(vt, -1, -2) @ (fix[..., :, None] * np.swapaxes(u, -1, -2)), s
