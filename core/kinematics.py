"""Forward kinematics over any skeleton, vectorised over frames and over the joints of a level.

The Python loop runs over tree depth (about 12 levels for SMPL-X), never over frames or joints.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import rotations as rot


def joint_children(parents) -> list[list[int]]:
    """For each joint, its children in index order."""
    children: list[list[int]] = [[] for _ in range(len(parents))]
    for j, p in enumerate(parents):
        if p >= 0:
            children[int(p)].append(j)
    return children


def joint_depths(parents) -> np.ndarray:
    """(J,) int64 depth of each joint (roots 0); ValueError unless parents precede children."""
    depth = np.zeros(len(parents), dtype=np.int64)
    for j, p in enumerate(parents):
        if p >= j:
            raise ValueError(f"joint {j} has parent {p}: parents must precede their children")
        depth[j] = 0 if p < 0 else depth[p] + 1
    return depth


def depth_first_order(parents) -> list[int]:
    """Joint indices in depth-first order, children in index order (the BVH channel order)."""
    children = joint_children(parents)
    order: list[int] = []
    stack = [j for j, p in enumerate(parents) if p < 0][::-1]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(children[j]))
    return order


@lru_cache(maxsize=32)
def joint_levels(parents: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Joint indices grouped by depth (level 0 the roots); parents must come before children."""
    depth = joint_depths(parents)
    return tuple(np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1))


def forward_kinematics(local_quats, offsets, parents, root_positions):
    """World rotations and positions of every joint.

    local_quats: (..., J, 4) rotation of each joint relative to its parent (w, x, y, z).
    offsets: (J, 3) rest offset of each joint from its parent; offsets[root] is ignored
        because root_positions gives the root's world position.
    parents: (J,) parent index, -1 for the root; parents precede children.
    root_positions: (..., 3) world position of the root joint.
    Returns (global_matrices (..., J, 3, 3), positions (..., J, 3)), float64.
    The chain is composed in quaternions (`forward_kinematics_quats`, a quarter of the
    arithmetic of 3x3 products) and the world matrices made from them once at the end.
    """
    glob, pos = forward_kinematics_quats(local_quats, offsets, parents, root_positions)
    return rot.quat_to_matrix(glob), pos


def forward_kinematics_quats(local_quats, offsets, parents, root_positions):
    """`forward_kinematics` with the world rotations as quaternions: (global quaternions
    (..., J, 4), unit, signs as they come; positions (..., J, 3)), float64. For callers that
    need positions (and few rotations): no (..., J, 3, 3) array is made."""
    glob = global_quats(rot.quat_normalize(local_quats), parents)
    offsets = np.asarray(offsets, dtype=np.float64)
    parents_t = tuple(int(p) for p in np.asarray(parents))
    par = np.asarray(parents_t)
    pos = np.empty(glob.shape[:-1] + (3,), dtype=np.float64)  # (..., J, 3)
    for level in joint_levels(parents_t):
        p = par[level]
        if p[0] < 0:  # the root level holds only roots
            pos[..., level, :] = np.asarray(root_positions, dtype=np.float64)[..., None, :]
        else:
            pos[..., level, :] = pos[..., p, :] + rot.quat_apply(glob[..., p, :], offsets[level])
    return glob, pos


def global_quats(local_quats, parents) -> np.ndarray:
    """(..., J, 4) world rotations of every joint from (..., J, 4) local ones (w, x, y, z),
    one tree level at a time: `forward_kinematics`'s rotations without matrices (a third of
    the memory) or positions. Parents precede children; the signs are left as they come."""
    local = np.asarray(local_quats, dtype=np.float64)
    parents_t = tuple(int(p) for p in np.asarray(parents))
    par = np.asarray(parents_t)
    glob = np.empty_like(local)
    for level in joint_levels(parents_t):
        p = par[level]
        if p[0] < 0:  # the root level holds only roots
            glob[..., level, :] = local[..., level, :]
        else:
            glob[..., level, :] = rot.quat_multiply(glob[..., p, :], local[..., level, :])
    return glob


def joint_position(global_q, offsets, parents, root_positions, joint: int) -> np.ndarray:
    """(..., 3) world position of one joint: the root's (..., 3) plus each offset on the way
    down, turned by its parent's world rotation (global_q (..., J, 4) from `global_quats`)."""
    chain = [joint]
    while parents[chain[-1]] >= 0:
        chain.append(int(parents[chain[-1]]))
    pos = np.array(np.broadcast_to(root_positions, global_q.shape[:-2] + (3,)), dtype=np.float64)
    for j in chain[-2::-1]:  # below the root, top down
        pos += rot.quat_apply(global_q[..., parents[j], :], np.asarray(offsets[j], dtype=np.float64))
    return pos


def global_to_local(global_matrices, parents) -> np.ndarray:
    """(..., J, 3, 3) world rotations -> (..., J, 3, 3) rotations relative to each parent.

    One tree level at a time, so no full-size copy of the parents' matrices is made."""
    g = np.asarray(global_matrices, dtype=np.float64)
    parents_t = tuple(int(p) for p in np.asarray(parents))
    par = np.asarray(parents_t)
    local = np.empty_like(g)
    for level in joint_levels(parents_t):
        p = par[level]
        if p[0] < 0:
            local[..., level, :, :] = g[..., level, :, :]
        else:
            local[..., level, :, :] = np.swapaxes(g[..., p, :, :], -1, -2) @ g[..., level, :, :]
    return local


def rest_positions(offsets, parents) -> np.ndarray:
    """(J, 3) world positions of the joints in the rest pose, offsets[root] being absolute."""
    offsets = np.asarray(offsets, dtype=np.float64)
    J = len(offsets)
    ident = np.broadcast_to(np.array([1.0, 0, 0, 0]), (J, 4))
    roots = [j for j, p in enumerate(np.asarray(parents)) if p < 0]
    if len(roots) != 1 or roots[0] != 0:
        raise ValueError("rest_positions needs a single root at index 0")
    _, pos = forward_kinematics(ident, offsets, parents, offsets[0])
    return pos


def tip_positions(global_rotations, positions, offsets, joints) -> np.ndarray:
    """(..., n, 3) points beyond each of `joints` by that joint's own rest offset, turned by
    its world rotation: the tips of end segments that have no joint of their own (SMPL-X's
    fingertips beyond the third finger segments).

    global_rotations: (..., J, 3, 3) matrices from `forward_kinematics` or (..., J, 4)
    quaternions from `forward_kinematics_quats`; positions (..., J, 3) from either;
    offsets: (J, 3) rest offsets; joints: n joint indices.
    """
    j = list(joints)
    g = np.asarray(global_rotations)
    tip_offsets = np.asarray(offsets, dtype=np.float64)[j]
    if g.shape[-1] == 4:
        tips = rot.quat_apply(g[..., j, :], tip_offsets)
    else:
        tips = np.einsum("...nij,nj->...ni", g[..., j, :, :], tip_offsets)
    return np.asarray(positions)[..., j, :] + tips
