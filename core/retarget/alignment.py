"""Rest-pose alignment: the constant rotation that turns each target bone onto its source bone.

Method (global rotations with rest-pose alignment). For a mapped target joint t with source
joint s (fraction 1), its world rotation in every frame is

    G_t(frame) = G_s(frame) @ A_t

where A_t is a constant rotation chosen so that the target's rest bone directions, turned by
A_t, point along the source's rest bone directions. A target joint's bone directions run from
it to its *ends*: its nearest mapped descendants that follow another source joint than it does
(the search goes on through unmapped joints and through joints following the same source
joint, so SMPL-X spine1 -> spine3 follows the source's Spine -> Chest when spine2 is unmapped,
and a MetaHuman hand points at the finger roots, past the metacarpals that follow the wrist
with it). The matching source direction runs from s to the ends' source joints. With several
ends (pelvis, chest, hand) A_t is the best rotation over all of them (Kabsch); with one, it is
the smallest rotation taking A_parent @ d_target onto d_source, composed with A_parent, so the
twist about the bone comes from the parent rather than being arbitrary; with none (hands,
head, toes of a source without fingers or face) A_t = A_parent. Local rotations then follow
from the world ones. Because both skeletons have identity rest rotations, a source frame at
its own rest pose gives the target a pose whose bones point the way the source's rest bones
do (from SMPL-X, a T-pose, so a MetaHuman's A-pose arms are raised to it).

Chains of different lengths. SMPL-X has three spine joints where a MetaHuman has five spine
bones (and one neck joint for two neck bones). A target bone with fraction f < 1 follows
"part of" its source joint: V_t = G_parent(s) @ L_s^f (L_s the source's local rotation, the
power taken along the shortest arc), and G_t = V_t @ A_t. The shipped maps cut a source chain
of m joints into n target bones by counting: target bone k (1..n) sits at u = m k / n source
joints along the chain and follows source joint ceil(u) with fraction u - ceil(u) + 1; for the
spine (m = 3, n = 5) spine_01..05 follow spine1 0.6, spine2 0.2, spine2 0.8, spine3 0.4,
spine3 1. The bend is spread over the target's bones and the chain's last bone turns with the
source's last joint, so the chain ends pointing where the source's does. A bone following the
same joint with the same fraction as its parent (metacarpals with the hand following the wrist,
Rigify's .001 twist segments) keeps its rest pose relative to that parent (A_t = A_parent): the
source has no joint between them, so the target's own palm shape is kept and the hand is
aligned by the finger roots beyond it.

The reference pose. A rest pose fixes bone directions but not the twist about each bone, and
the smallest-rotation rule only carries a parent's twist down correctly when the source's
rest is itself a natural pose. Bandai's is not: every bone lies along its joint's local X
(legs folded up along the spine), and every captured frame turns its Spine about 90 degrees
about the spine's own axis and its Chest back, so rest-based alignment gives SMPL-X spine1
and spine3 opposite 90-degree twists and flips one leg by 180 degrees about the thigh (the
legs are antiparallel to the T-pose's, where the smallest rotation is not unique). So the
rules above are applied in a natural pose P of the source instead of its rest: the target
pose G*_t matching P is built joint by joint (Kabsch over the directions in P; the smallest
rotation from G*_parent @ d_target to P's direction, composed with G*_parent; leaves and
unmapped joints G*_parent), and A_t = V_t(P)^T @ G*_t. With P the rest (no reference pose)
this is exactly the rest alignment; with any P, every mapped bone's world direction still
equals the source's in every frame, and in pose P the target's twists are the natural ones.
(SMPL-X's rest, a T-pose, is natural: rig maps from SMPL-X need no reference pose.)
"""

from __future__ import annotations

import numpy as np

from .. import rotations as rot
from ..kinematics import forward_kinematics, joint_children
from ..skeleton import Skeleton
from .bone_maps import BoneMap

#: Below this length (metres) a rest bone gives no usable direction.
MIN_BONE = 1e-6
# Child directions whose second singular value is below this fraction of the first are
# (nearly) collinear: they fix no twist, so Kabsch falls back to the single-direction rule.
_COLLINEAR = 1e-3


def source_indices(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> tuple[np.ndarray, np.ndarray]:
    """(src_of (J_target,) source joint index or -1, frac (J_target,) fraction, 1 unmapped)."""
    src_of = np.full(target.num_joints, -1)
    frac = np.ones(target.num_joints)
    for t_name, s_name in bone_map.pairs.items():
        t = target.index(t_name)
        src_of[t] = source.index(s_name)
        frac[t] = bone_map.fraction(t_name)
    return src_of, frac


def direction_ends(parents, src_of) -> list[list[int]]:
    """For each target joint, the ends of its bone directions (see the module docstring): the
    nearest mapped descendants following another source joint; the search goes on through
    unmapped joints and through joints following the same source joint."""
    children = joint_children(parents)
    result: list[list[int]] = [[] for _ in children]
    for j in range(len(children)):
        queue = list(children[j])  # breadth first: the ends come out nearest first
        while queue:
            c = queue.pop(0)
            if src_of[c] >= 0 and src_of[c] != src_of[j]:
                result[j].append(c)
            else:
                queue.extend(children[c])
    return result


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def partial_rotations(quats: np.ndarray, fraction: float) -> np.ndarray:
    """(..., 4) rotations -> (..., 3, 3) the same rotations taken `fraction` of the way from
    the identity, along the shortest arc (q^f)."""
    q = np.where(quats[..., :1] < 0, -quats, quats)  # w >= 0: the angle is at most pi
    return rot.axis_angle_to_matrix(fraction * rot.quat_to_axis_angle(q))


def followed_rotations(glob: np.ndarray, local_q: np.ndarray, parents, s: int, fraction: float) -> np.ndarray:
    """(..., 3, 3) V = G_parent(s) @ L_s^fraction: the world rotation a target following source
    joint s with `fraction` turns with (G_s itself for fraction 1).

    glob: (..., Js, 3, 3) source world rotations; local_q: (..., Js, 4) source local rotations.
    """
    if fraction == 1.0:
        return glob[..., s, :, :]
    partial = partial_rotations(local_q[..., s, :], fraction)
    p = parents[s]
    return partial if p < 0 else glob[..., p, :, :] @ partial


def followed_quats(glob_q: np.ndarray, local_q: np.ndarray, parents, s: int, fraction: float) -> np.ndarray:
    """(..., 4) `followed_rotations` as quaternions: V = G_parent(s) * L_s^fraction.

    glob_q: (..., Js, 4) source world rotations; local_q: (..., Js, 4) source local rotations.
    """
    if fraction == 1.0:
        return glob_q[..., s, :]
    q = local_q[..., s, :]
    q = np.where(q[..., :1] < 0, -q, q)  # w >= 0: the angle is at most pi
    partial = rot.axis_angle_to_quat(fraction * rot.quat_to_axis_angle(q))
    p = parents[s]
    return partial if p < 0 else rot.quat_multiply(glob_q[..., p, :], partial)


def rest_alignments(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> tuple[np.ndarray, list[str]]:
    """(J_target, 3, 3) constant alignments A_t and warnings; see the module docstring.

    Built in the source's reference pose P (its rest when the map has none): G*_t, the
    target's world rotation matching P, joint by joint, then A_t = V_t(P)^T @ G*_t for mapped
    joints. Unmapped target joints get G*_parent (their identity local rotation) and, as
    A_t, that of their nearest mapped ancestor (unused by the retargeting itself).
    """
    src_of, frac = source_indices(source, target, bone_map)
    reference = np.tile([1.0, 0.0, 0.0, 0.0], (source.num_joints, 1))
    for joint, q in bone_map.reference.items():
        reference[source.index(joint)] = q
    s_glob, s_pos = forward_kinematics(reference, source.offsets, source.parents, source.offsets[0])
    t_rest = target.rest_positions()
    ends = direction_ends(target.parents, src_of)
    pose = np.empty((target.num_joints, 3, 3))  # G*: the target matching the reference pose
    align = np.empty((target.num_joints, 3, 3))
    warnings: list[str] = []
    for t in range(target.num_joints):
        p = target.parents[t]
        g_parent = np.eye(3) if p < 0 else pose[p]
        if src_of[t] < 0:
            pose[t] = g_parent
            align[t] = np.eye(3) if p < 0 else align[p]
            continue
        if p >= 0 and src_of[p] == src_of[t] and frac[p] == frac[t]:
            # The parent follows the same joint just as fully: the source has no joint
            # between them, so the bone keeps its rest pose relative to its parent.
            pose[t] = g_parent
            align[t] = align[p]
            continue
        pairs = [(t_rest[c] - t_rest[t], s_pos[src_of[c]] - s_pos[src_of[t]]) for c in ends[t]]
        usable = _steering_directions(target, t, ends[t], pairs, warnings)
        pose[t] = _matching_rotation(usable, g_parent)
        followed = followed_rotations(s_glob, reference, source.parents, int(src_of[t]), float(frac[t]))
        align[t] = followed.T @ pose[t]
    return align, warnings


def _steering_directions(target: Skeleton, t: int, ends, pairs, warnings: list[str]):
    """The (target, source) rest bone vectors of joint t towards its `ends` that have a length;
    a note in `warnings` for each one left out."""
    usable = []
    for c, (vt, vs) in zip(ends, pairs):
        if np.linalg.norm(vt) < MIN_BONE or np.linalg.norm(vs) < MIN_BONE:
            warnings.append(
                f"bone {target.names[t]} -> {target.names[c]} has no length in the "
                f"{'target' if np.linalg.norm(vt) < MIN_BONE else 'source'} rest pose; "
                "it does not steer the alignment"
            )
            continue
        usable.append((vt, vs))
    return usable


def _matching_rotation(pairs, g_parent: np.ndarray) -> np.ndarray:
    """(3, 3) world rotation G* turning the target's bone vectors onto the source's.

    pairs: (target vector, source vector) per bone; none: G*_parent (a leaf keeps the identity
    local rotation). Several that are not collinear: the best rotation over them (Kabsch).
    Otherwise the smallest turn from where the parent already points the bone, so the twist
    follows the parent.
    """
    if not pairs:
        return g_parent
    d_t = _unit(np.array([vt for vt, _ in pairs]))
    d_s = _unit(np.array([vs for _, vs in pairs]))
    if len(pairs) > 1:
        r, singular = rot.kabsch_rotation(d_t, d_s)
        # A second singular value near zero: the directions are (nearly) collinear and fix no twist.
        if singular[1] >= _COLLINEAR * max(singular[0], MIN_BONE):
            return r
    u = g_parent @ _unit(d_t.sum(axis=0))
    return rot.quat_to_matrix(rot.quat_between(u, _unit(d_s.sum(axis=0)))) @ g_parent
