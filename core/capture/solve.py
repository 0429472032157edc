"""The small rotation solvers the body and hand fits share, vectorised over any leading shape.

Quaternions are (w, x, y, z); directions are (..., 3) and need not be unit length. Every
function takes a batch of frames at once: the fits call each one once per joint.
"""

from __future__ import annotations

import numpy as np

from .. import rotations as rot

_EPS = 1e-12


def unit(v) -> np.ndarray:
    """(..., 3) -> (..., 3) unit vectors; a zero vector stays zero (it then steers nothing)."""
    v = np.asarray(v, dtype=np.float64)
    n = np.sqrt(np.einsum("...i,...i->...", v, v))[..., None]
    return v / np.maximum(n, _EPS)


def weighted_kabsch(rest, observed, weights) -> np.ndarray:
    """(..., 4) the rotation G best turning the rest directions onto the observed ones (Wahba's
    problem): min sum_k w_k |G unit(rest_k) - unit(observed_k)|^2.

    rest: (K, 3) or (..., K, 3); observed: (..., K, 3); weights: (K,) or (..., K) >= 0.
    Directions are normalised first, so a weight is the whole say of its direction whatever
    the length of the vectors it came from (metres or pixels).
    """
    source = unit(rest) * np.asarray(weights, dtype=np.float64)[..., None]
    source = np.broadcast_to(source, np.broadcast_shapes(source.shape, np.shape(observed)))
    matrix, _ = rot.kabsch_rotation(source, unit(observed))
    return rot.matrix_to_quat(matrix)


def swing_onto(parent_global, rest_direction, observed) -> np.ndarray:
    """(..., 4) the world rotation of a joint whose bone points along `observed` (..., 3), got
    from its parent's world rotation (..., 4) by the smallest turn: the joint's own twist about
    the bone is none, so it keeps the twist its parent carries.

    rest_direction: (3,) or (..., 3) the bone in the rest pose (world frame, as rest offsets are).
    """
    carried = rot.quat_apply(parent_global, np.broadcast_to(rest_direction, np.shape(observed)))
    return rot.quat_multiply(rot.quat_between(carried, observed), parent_global)


def axis_quat(axis, angle) -> np.ndarray:
    """(..., 4) the rotation by `angle` (...) radians about the unit `axis` (..., 3)."""
    half = 0.5 * np.asarray(angle, dtype=np.float64)
    q = np.empty(np.broadcast_shapes(np.shape(axis)[:-1], half.shape) + (4,))
    q[..., 0] = np.cos(half)
    q[..., 1:] = np.asarray(axis) * np.sin(half)[..., None]
    return q


def hinge_twist(global_q, bone, hinge_rest, bend_normal, fallback_weight: float) -> np.ndarray:
    """(..., 4) `global_q` turned about its own bone so that its hinge axis lies along the
    observed bend normal, as far as the bend shows it.

    global_q: (..., 4) the joint's world rotation with the bone already along `bone`
        (`swing_onto`); bone: (..., 3) that direction; hinge_rest: (3,) the child's hinge
        axis in this joint's rest frame, perpendicular to the rest bone; bend_normal: (..., 3)
        unit(bone) x unit(child bone), whose length is the sine of the bend, so a straight
        limb (length near 0) has no say; fallback_weight: the say of `global_q`'s own twist
        (the parent's, carried down): the twist is the angle of the weighted sum of the two
        candidate directions, which moves smoothly from the hinge's to the parent's as the
        limb straightens (equal say at sin(bend) = fallback_weight).
    """
    u = unit(bone)
    h = rot.quat_apply(global_q, np.broadcast_to(hinge_rest, np.shape(u)))
    n = bend_normal - np.einsum("...i,...i->...", bend_normal, u)[..., None] * u
    h = h - np.einsum("...i,...i->...", h, u)[..., None] * u
    h = unit(h)
    # n's length (about sin(bend)) is its weight; cos/sin of the hinge's twist angle scaled by it.
    c = np.einsum("...i,...i->...", h, n)
    s = np.einsum("...i,...i->...", u, np.cross(h, n))
    angle = np.arctan2(s, c + fallback_weight)
    return rot.quat_multiply(axis_quat(u, angle), global_q)


def quat_fraction(q, fraction: float) -> np.ndarray:
    """(..., 4) q taken `fraction` of the way from the identity along the shortest arc (q^f)."""
    return rot.axis_angle_to_quat(fraction * rot.quat_to_axis_angle(q))


def local_from_global(parent_global, child_global) -> np.ndarray:
    """(..., 4) parent^-1 * child: a joint's rotation relative to its parent."""
    return rot.quat_multiply(rot.quat_conjugate(parent_global), child_global)
