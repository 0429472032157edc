"""Motion on a rig read back as SMPL-X motion: the inverse of `transfer.retarget` through a rig map.

Forward (`transfer`), a rig bone t following SMPL-X joint s with fraction f turns with
G_t = V_t A_t, where V_t = G_s for f = 1 and V_t = G_parent(s) L_s^f otherwise, and A_t is the
constant rest alignment (`alignment`). Reading back inverts that per SMPL-X joint, from the
rig's world rotations G_t (forward kinematics of its local rotations, every bone included, so
a rotated unmapped bone such as MetaHuman's root carries the body with it):

- a joint followed by a bone with fraction 1 (the first such, parents first: the bone whose
  head sits at the joint, not a Rigify .001 twist segment or a MetaHuman metacarpal that moves
  rigidly with it): G_s = G_t A_t^-1;
- a joint followed only by fractions (MetaHuman's spine1 by spine_01, 0.6): the bone with the
  largest fraction (spine2 by spine_03, 0.8, not spine_02, 0.2: rounding is amplified by 1/f),
  L_s = (G_parent(s)^-1 G_t A_t^-1)^(1/f), the power along the shortest arc, which undoes
  the forward power exactly for turns up to 180 degrees;
- a joint no bone follows (the jaw and eyes of a MetaHuman body, the fingers of a rig without
  them, spine2 of a rig with two spine bones): its rest pose (identity local rotation), so the
  turn the forward gave its child is carried by the child's local rotation, and every joint's
  world rotation that a bone follows is still read exactly.

The other bones following a joint (spine_02, spine_04, neck_01, metacarpals, twist segments)
are not read: in motion the forward made they say nothing the chosen bone does not, and in a
rig keyed by hand their own turns are dropped.

The root. The forward moves the anchor (the first mapped rig bone) along its SMPL-X joint's
path scaled by the rig's leg length over SMPL-X's (`transfer.root_scale`); reading back divides
the anchor's world position (rig forward kinematics, locations included) by that scale and
places the SMPL-X root so that its anchor joint lies there.
"""

from __future__ import annotations

import numpy as np

from .. import rotations as rot
from ..errors import SkeletonError
from ..kinematics import global_quats, joint_levels, joint_position
from ..motion import Motion
from ..skeleton import BODY_JOINTS, Skeleton, smplx_skeleton
from .alignment import rest_alignments, source_indices
from .bone_maps import BoneMap
from .transfer import FRAME_BLOCK, RetargetResult, _check_fits, _mapped_local_rotations, root_scale

#: Reading back refuses a map that reads fewer than this fraction of SMPL-X's body joints
#: (pelvis and joints 1-21) from the rig: the motion would be mostly rest pose.
MIN_READ_COVERAGE = 0.5


def reading_bones(smplx: Skeleton, rig: Skeleton, bone_map: BoneMap) -> tuple[np.ndarray, np.ndarray]:
    """(bone (J_smplx,) the rig joint each SMPL-X joint is read from or -1, fraction (J_smplx,)
    that bone's fraction): the first bone following it fully, else the largest fraction."""
    src_of, frac = source_indices(smplx, rig, bone_map)
    bone = np.full(smplx.num_joints, -1)
    fraction = np.ones(smplx.num_joints)
    for t in range(rig.num_joints):  # parents first: the first full follower wins
        s = src_of[t]
        if s < 0:
            continue
        better = bone[s] < 0 or (fraction[s] < 1.0 and frac[t] > fraction[s])
        if better:
            bone[s], fraction[s] = t, frac[t]
    return bone, fraction


def _check_reads(smplx: Skeleton, bone: np.ndarray, bone_map: BoneMap, where: str) -> None:
    """SkeletonError unless the map reads the pelvis and enough of the body from the rig."""
    body = [0, *BODY_JOINTS]
    read = [j for j in body if bone[j] >= 0]
    if bone[0] < 0 or len(read) < MIN_READ_COVERAGE * len(body):
        lacks = [smplx.names[j] for j in body if bone[j] < 0]
        shown = ", ".join(lacks[:8]) + (f" and {len(lacks) - 8} more" if len(lacks) > 8 else "")
        raise SkeletonError(
            f"the bone map does not cover this rig{where}: it reads {len(read)} of the {len(body)} SMPL-X body "
            f"joints from the rig's bones (none for {shown}); the pelvis and at least half the body must have a "
            "bone: give a bone map naming this rig's bones (JSON: {\"pairs\": {\"your bone\": \"SMPL-X joint\"}})"
        )


def _partial_inverse(parent_glob, bone_glob, align_q, fraction: float) -> np.ndarray:
    """(B, 4) L_s from G_t = G_parent(s) L_s^f A_t: (G_parent^-1 G_t A_t^-1)^(1/f)."""
    w = rot.quat_multiply(rot.quat_conjugate(parent_glob), rot.quat_multiply(bone_glob, rot.quat_conjugate(align_q)))
    w = np.where(w[..., :1] < 0, -w, w)  # w >= 0: the angle is at most pi, as the forward's power took it
    return rot.axis_angle_to_quat(rot.quat_to_axis_angle(w) / fraction)


def _smplx_world(rig_glob, smplx: Skeleton, bone, fraction, align_q) -> np.ndarray:
    """(B, J_smplx, 4) SMPL-X world rotations from the rig's (B, J_rig, 4), one tree level at a
    time (a parent's world rotation is known before its children's)."""
    glob = np.empty(rig_glob.shape[:1] + (smplx.num_joints, 4))
    whole = np.flatnonzero((bone >= 0) & (fraction == 1.0))
    glob[:, whole] = rot.quat_multiply(rig_glob[:, bone[whole]], rot.quat_conjugate(align_q[bone[whole]]))
    par = np.asarray(smplx.parents)
    identity = np.array([1.0, 0.0, 0.0, 0.0])
    for level in joint_levels(smplx.parents):
        for j in level[(bone[level] < 0) | (fraction[level] != 1.0)]:  # the few partial or unread joints
            p_glob = np.broadcast_to(identity, glob[:, j].shape) if par[j] < 0 else glob[:, par[j]]
            if bone[j] < 0:
                glob[:, j] = p_glob
            else:
                local = _partial_inverse(p_glob, rig_glob[:, bone[j]], align_q[bone[j]], float(fraction[j]))
                glob[:, j] = rot.quat_multiply(p_glob, local)
    return glob


def retarget_from_rig(rig_motion: Motion, bone_map: BoneMap, target: Skeleton | None = None) -> RetargetResult:
    """Read motion on a rig back onto the SMPL-X skeleton `target` (default `smplx_skeleton()`):
    the inverse of `retarget(smplx_motion, bone_map, rig_motion.skeleton)`; see the module
    docstring.

    rig_motion: local rotations and root translation on the rig's skeleton in the shared world
        frame (metres, Y up, facing the way the forward faced it), every bone included.
    bone_map: the rig map (rig bone -> SMPL-X joint) restricted to the rig's bones, as the
        forward used it.
    Returns RetargetResult(motion on `target` (T frames, the rig motion's fps and expressions),
    the SMPL-X joints no bone is read from (kept at rest), warnings saying so and the
    alignment's notes). Raises SkeletonError when the map names joints either skeleton lacks,
    or reads neither the pelvis nor half of SMPL-X's body joints from the rig.
    """
    smplx = smplx_skeleton() if target is None else target
    rig = rig_motion.skeleton
    where = _check_fits(smplx, rig, bone_map)
    bone, fraction = reading_bones(smplx, rig, bone_map)
    _check_reads(smplx, bone, bone_map, where)
    align, warnings = rest_alignments(smplx, rig, bone_map)
    scale, scale_warning = root_scale(smplx, rig, bone_map)
    align_q = rot.matrix_to_quat(align)
    src_of, _ = source_indices(smplx, rig, bone_map)
    anchor = int(np.flatnonzero(src_of >= 0)[0])  # the bone the forward moved along the path
    anchor_joint = int(src_of[anchor])
    read = bone >= 0
    n = rig_motion.num_frames
    local = np.empty((n, smplx.num_joints, 4))
    root = np.empty((n, 3))
    rig_roots = rig_motion.root_positions()
    for start in range(0, n, FRAME_BLOCK):
        block = slice(start, start + FRAME_BLOCK)
        rig_glob = global_quats(rig_motion.rotations[block], rig.parents)
        glob = _smplx_world(rig_glob, smplx, bone, fraction, align_q)
        local[block] = _mapped_local_rotations(glob, smplx.parents, read)
        anchor_at = joint_position(rig_glob, rig.offsets, rig.parents, rig_roots[block], anchor) / scale
        # The SMPL-X root lies where its anchor joint, posed, comes out at the anchor's place.
        root[block] = anchor_at - joint_position(glob, smplx.offsets, smplx.parents, np.zeros(3), anchor_joint)
    unread = [smplx.names[j] for j in range(smplx.num_joints) if not read[j]]
    if scale_warning:
        warnings.append(scale_warning)
    if unread:
        warnings.append(f"SMPL-X joints the rig has no bone for come back at rest: {', '.join(unread)}")
    motion = Motion(smplx, rig_motion.fps, local, root - smplx.offsets[0], expressions=rig_motion.expressions,
                    name=rig_motion.name)
    return RetargetResult(motion=motion, unmapped=unread, warnings=warnings)
