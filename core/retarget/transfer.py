"""Skeleton-to-skeleton motion transfer by global rotations with rest-pose alignment.

Two directions use the same machinery:
- onto SMPL-X: a BVH skeleton (Bandai, ...) is the source and SMPL-X the target
  (`retarget_to_smplx`, used by `read_smplx_motion`);
- from SMPL-X: SMPL-X motion is the source and a rig (MetaHuman-compatible, Mixamo, Rigify,
  a user's armature) the target (`retarget`, used through `rigs` and `scene.rig`).
Bone maps (`bone_maps`) say which source joint each target joint follows; `alignment` holds
the method and the constant rotations it needs.

The root. The *anchor* is the first mapped target joint (parents precede children, so none of
its ancestors is mapped): the target root itself, or the pelvis under a MetaHuman's `root`.
Its world path is its source joint's, scaled by the ratio of leg lengths (target hip-to-ankle
/ source hip-to-ankle), so that a longer-legged target takes longer strides and its feet stay
at floor height; its unmapped ancestors keep the identity rotation and the target root moves
with it.

Both skeletons must share the world frame (metres, Y up); readers convert units and axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import rotations as rot
from ..errors import SkeletonError
from ..kinematics import global_quats, joint_position
from ..motion import Motion
from ..skeleton import Skeleton, smplx_skeleton
from .alignment import MIN_BONE, followed_quats, rest_alignments, source_indices
from .bone_maps import BoneMap
from .checks import check_tree, side_warnings


@dataclass
class RetargetResult:
    """The retargeted motion, the target joints that kept their rest pose, and any warnings."""

    motion: Motion
    unmapped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _leg_length(skeleton: Skeleton, chain: list[str]) -> float:
    """Summed rest distance along a joint chain (e.g. hip, knee, ankle), metres."""
    pos = skeleton.rest_positions()
    idx = [skeleton.index(n) for n in chain]
    return float(sum(np.linalg.norm(pos[b] - pos[a]) for a, b in zip(idx[:-1], idx[1:])))


def _leg_chains(target: Skeleton, bone_map: BoneMap, side: str) -> tuple[list[str], list[str]] | None:
    """(target joints, source joints) of one leg (hip, knee, ankle), or None if not mapped.

    Onto SMPL-X the target joints are SMPL-X's; in a rig map the source joints are, and each
    one's target is the first target joint (parents first) following it fully, the bone whose
    head sits at the joint (Rigify's thigh, not its .001 twist segment)."""
    chain = [f"{side}_hip", f"{side}_knee", f"{side}_ankle"]
    if not bone_map.is_rig_map:
        if all(j in bone_map.pairs for j in chain):
            return chain, [bone_map.pairs[j] for j in chain]
        return None
    targets = []
    for joint in chain:
        followers = [target.index(t) for t, s in bone_map.pairs.items() if s == joint and bone_map.fraction(t) == 1.0]
        if not followers:
            return None
        targets.append(target.names[min(followers)])
    return targets, chain


def root_scale(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> tuple[float, str | None]:
    """Target / source hip-to-ankle length, averaged over the legs the map covers.

    Returns (scale, warning): scale 1 and a warning when no leg is fully mapped.
    """
    ratios = []
    for side in ("left", "right"):
        chains = _leg_chains(target, bone_map, side)
        if chains is not None:
            src = _leg_length(source, chains[1])
            tgt = _leg_length(target, chains[0])
            if src > MIN_BONE:
                ratios.append(tgt / src)
    if not ratios:
        return 1.0, "no leg (hip, knee, ankle) is mapped: the root path is not scaled"
    return float(np.mean(ratios)), None


def _check_fits(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> str:
    """Raise SkeletonError when the map names joints either skeleton lacks; the map's
    description for messages."""
    where = f" (bone map {bone_map.name!r}{', ' + bone_map.path if bone_map.path else ''})"
    missing_src = sorted({s for s in bone_map.source_joints if s not in source.names})
    missing_tgt = [t for t in bone_map.target_joints if t not in target.names]
    if missing_src:
        raise SkeletonError(f"the source skeleton lacks joints the bone map needs{where}: {', '.join(missing_src)}")
    if missing_tgt:
        raise SkeletonError(f"the target skeleton lacks joints the bone map names{where}: {', '.join(missing_tgt)}")
    missing_ref = [s for s in bone_map.reference if s not in source.names]
    if missing_ref:
        raise SkeletonError(f"the source skeleton lacks joints of the bone map's reference pose{where}: {', '.join(missing_ref)}")
    if not bone_map.pairs:
        raise SkeletonError(f"the bone map maps no joint{where}")
    return where


#: Frames retargeted at once: the temporaries of one block stay a few MB, so a long take
#: does not page in fresh memory for each of them.
FRAME_BLOCK = 2048


def _mapped_local_rotations(glob: np.ndarray, parents, mapped: np.ndarray) -> np.ndarray:
    """(T, J, 4) local rotations, w >= 0, from world ones (T, J, 4): conj(q_parent) * q for
    the `mapped` joints (J,) bool, the identity for the others (their world rotation is their
    parent's, so it is the identity exactly, not to rounding)."""
    local = np.zeros_like(glob)
    local[..., 0] = 1.0
    par = np.asarray(parents)
    joints = np.flatnonzero(mapped & (par >= 0))
    local[:, joints] = rot.quat_normalize(rot.quat_multiply(rot.quat_conjugate(glob[:, par[joints]]), glob[:, joints]))
    roots = np.flatnonzero(mapped & (par < 0))
    local[:, roots] = rot.quat_normalize(glob[:, roots])
    return local


def _target_rotations(src_glob, src_local, src_parents, target: Skeleton, src_of, frac, align_q) -> np.ndarray:
    """(T, J, 4) target local rotations for a block of frames: G_t = G_s A_t in quaternions
    (q_t = q_s * a_t), then conj(q_parent) * q_t; unmapped joints keep the identity.

    src_glob, src_local: (T, Js, 4) source world and local rotations; src_of, frac: per target
    joint its source joint (-1 unmapped) and fraction; align_q: (J, 4) the alignments A_t."""
    glob = np.empty((src_glob.shape[0], target.num_joints, 4))
    whole = np.flatnonzero((src_of >= 0) & (frac == 1.0))  # following a whole joint: all at once
    glob[:, whole] = rot.quat_multiply(src_glob[:, src_of[whole]], align_q[whole])
    for t in range(target.num_joints):  # parents first, so an unmapped parent is set
        if src_of[t] >= 0 and frac[t] != 1.0:
            followed = followed_quats(src_glob, src_local, src_parents, int(src_of[t]), float(frac[t]))
            glob[:, t] = rot.quat_multiply(followed, align_q[t])
        elif src_of[t] < 0:
            p = target.parents[t]
            glob[:, t] = (1.0, 0.0, 0.0, 0.0) if p < 0 else glob[:, p]  # identity local rotation
    return _mapped_local_rotations(glob, target.parents, src_of >= 0)


def retarget(source: Motion, bone_map: BoneMap, target: Skeleton) -> RetargetResult:
    """Transfer `source` onto the skeleton `target` through `bone_map` (target -> source).

    source: a Motion in the shared world frame (metres, Y up); target: any skeleton in that
    frame (identity rest rotations, like every Skeleton).
    Returns RetargetResult(motion on `target` (T frames, same fps and expressions; betas
    dropped), unmapped target joint names (identity local rotations), warnings). The anchor
    (first mapped target joint) follows its source joint's path scaled by the leg-length
    ratio; see the module docstring. Raises SkeletonError when the map names joints the
    skeletons do not have or maps none.
    """
    _check_fits(source.skeleton, target, bone_map)
    src_skel = source.skeleton
    align, warnings = rest_alignments(src_skel, target, bone_map)
    scale, scale_warning = root_scale(src_skel, target, bone_map)
    if scale_warning:
        warnings.append(scale_warning)
    src_of, frac = source_indices(src_skel, target, bone_map)

    # In quaternions (a third of the memory and arithmetic of 3x3 matrices), block by block.
    align_q = rot.matrix_to_quat(align)  # (J, 4)
    anchor = int(np.flatnonzero(src_of >= 0)[0])
    root_positions = source.root_positions()
    local = np.empty((source.num_frames, target.num_joints, 4))
    anchor_world = np.empty((source.num_frames, 3))
    for start in range(0, source.num_frames, FRAME_BLOCK):
        block = slice(start, start + FRAME_BLOCK)
        src_local = source.rotations[block]
        src_glob = global_quats(src_local, src_skel.parents)  # (B, Js, 4)
        local[block] = _target_rotations(src_glob, src_local, src_skel.parents, target, src_of, frac, align_q)
        anchor_world[block] = scale * joint_position(
            src_glob, src_skel.offsets, src_skel.parents, root_positions[block], int(src_of[anchor])
        )
    unmapped = [name for t, name in enumerate(target.names) if src_of[t] < 0]
    motion = Motion(
        skeleton=target,
        fps=source.fps,
        rotations=local,
        # The anchor's ancestors keep identity rotations, so it lies at its rest position
        # plus the root's translation.
        trans=anchor_world - target.rest_positions()[anchor],
        expressions=source.expressions,
        betas=None,
        name=source.name,
    )
    return RetargetResult(motion=motion, unmapped=unmapped, warnings=warnings)


def retarget_to_smplx(source: Motion, bone_map: BoneMap, target: Skeleton | None = None) -> RetargetResult:
    """Transfer `source` onto the SMPL-X skeleton `target` (default: `smplx_skeleton()`).

    source: a Motion on any skeleton in the SMPL-X world frame (metres, Y up).
    bone_map: target joint -> source joint pairs (`load_bone_map`, `bone_map_for`); the
        target root must be mapped.
    Returns RetargetResult(motion (T, 55 joints, same fps and expressions), unmapped target
    joint names (they keep their rest pose), warnings).
    Raises SkeletonError when the map names joints the skeletons do not have or the source's
    tree is not the one the map expects (`checks.check_tree`); a warning when its left and
    right look swapped (`checks.side_warnings`).
    """
    target = smplx_skeleton() if target is None else target
    where = _check_fits(source.skeleton, target, bone_map)
    root_name = target.names[0]
    if root_name not in bone_map.pairs:
        raise SkeletonError(f"the bone map does not map the target root {root_name!r}{where}")
    check_tree(source.skeleton, target, bone_map)
    result = retarget(source, bone_map, target)
    result.warnings[:0] = side_warnings(source.skeleton, bone_map)
    return result
