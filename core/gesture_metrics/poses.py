"""What the speech metrics measure motion on: joint positions in the pelvis frame and the
encoder's 6D rotations, both from SMPL-X motion at 30 fps.

Positions are taken with the root orientation set to identity and the root at the origin
(FK on the motion's own SMPL-X skeleton), so the metrics judge the pose and its timing, not
where the character stands or faces: the generator carries the root through from its input,
and the baselines would otherwise differ by the root alone.
"""

from __future__ import annotations

import numpy as np

from .. import rotations as rot
from ..errors import SkeletonError
from ..kinematics import forward_kinematics_quats
from ..motion import Motion
from ..skeleton import BODY_JOINTS, HAND_JOINTS, SMPLX_JOINT_NAMES

#: The frame rate every speech metric works at (the codecs' and the generator's).
METRIC_FPS = 30.0
#: Joints whose local rotations the feature encoder reads: body 1-21 then both hands 25-54.
ENCODER_JOINTS: tuple[int, ...] = tuple(BODY_JOINTS) + tuple(HAND_JOINTS)
#: EMAGE's upper-body joints for Beat Alignment: spine1-3, neck, collars, head, shoulders,
#: elbows, wrists (SMPL-X indices 3, 6, 9, 12-21).
UPPER_BODY: tuple[int, ...] = (3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)


def require_smplx_30(motion: Motion) -> None:
    """SkeletonError unless `motion` is SMPL-X at METRIC_FPS (what every metric assumes)."""
    if motion.skeleton.names != SMPLX_JOINT_NAMES:
        raise SkeletonError(f"the motion {motion.name!r} is not on the SMPL-X skeleton; the speech metrics "
                            "measure SMPL-X motion (read files with core.retarget.read_smplx_motion)")
    if abs(motion.fps - METRIC_FPS) > 1e-9:
        raise SkeletonError(f"the motion {motion.name!r} is at {motion.fps:g} fps; the speech metrics need "
                            f"{METRIC_FPS:g} fps (Motion.resampled)")


def pelvis_positions(motion: Motion) -> np.ndarray:
    """(T, 55, 3) float64 joint positions, metres, with the root unrotated at the origin."""
    require_smplx_30(motion)
    local = motion.rotations.copy()
    local[:, 0] = (1.0, 0.0, 0.0, 0.0)
    origin = np.zeros((motion.num_frames, 3))
    return forward_kinematics_quats(local, motion.skeleton.offsets, motion.skeleton.parents, origin)[1]


def encoder_input(motion: Motion) -> np.ndarray:
    """(T, 6 * len(ENCODER_JOINTS)) float32: the 6D local rotations (first two matrix columns,
    core.rotations) of the encoder joints, joint-major (column 6*i + c)."""
    require_smplx_30(motion)
    d6 = rot.quat_to_sixd(motion.rotations[:, list(ENCODER_JOINTS)])  # (T, J, 6)
    return d6.reshape(motion.num_frames, -1).astype(np.float32)
