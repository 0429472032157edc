"""Checks of a source skeleton against the bone map onto SMPL-X that was picked for it.

A map is picked by joint names alone (`bone_map_for`; a BVH whose joints carry SMPL-X names
gets the identity map), so names can promise a skeleton the file does not have. The transfer
relies on two things the names imply:

- the tree: each mapped joint's nearest mapped SMPL-X ancestor follows a source joint that is
  an ancestor of its own source joint (the left elbow's source lies below the left
  shoulder's). World rotations are copied joint by joint, so a joint hung elsewhere (a left
  arm under the right knee, every joint directly under the pelvis) gives a body that is
  wrong in every frame. This is exact, so `check_tree` refuses (SkeletonError).
- the sides: left_* joints lie on the character's left of their right_* partners. A skeleton
  whose names are swapped is a mirror image that retargets into a plausible but mirrored
  motion. Which side is left is read from the source's own geometry in its natural pose
  (the map's reference pose, else the rest): up from the pelvis to the head, forward along
  the feet (ankle to foot), left = up x forward (Y up and facing +Z give +X). That is a
  judgement of geometry rather than structure (a rest pose may cross a limb over), so
  `side_warnings` warns, naming the joints, and does not refuse.
"""

from __future__ import annotations

import numpy as np

from ..errors import SkeletonError
from ..kinematics import forward_kinematics
from ..skeleton import Skeleton
from .bone_maps import BoneMap

#: A left joint this far (metres) or more on the right of its partner is on the wrong side.
SIDE_TOLERANCE = 0.01


def _ancestors(parents, j: int) -> set[int]:
    out = set()
    while parents[j] >= 0:
        j = int(parents[j])
        out.add(j)
    return out


def check_tree(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> None:
    """Raise SkeletonError naming the first mapped target joint whose source joint is not
    below the source joint of its nearest mapped target ancestor (see the module docstring)."""
    for t_name, s_name in bone_map.pairs.items():
        t = target.index(t_name)
        a = target.parents[t]
        while a >= 0 and target.names[a] not in bone_map.pairs:
            a = target.parents[a]
        if a < 0:
            continue
        a_source = bone_map.pairs[target.names[a]]
        s = source.index(s_name)
        if source.index(a_source) not in _ancestors(source.parents, s):
            parent = source.names[source.parents[s]] if source.parents[s] >= 0 else "(none: the root)"
            raise SkeletonError(
                f"joint {s_name!r} (SMPL-X {t_name}) hangs under {parent!r}, not below {a_source!r} (SMPL-X "
                f"{target.names[a]}) as the bone map {bone_map.name!r} expects: the hierarchy is not the one its "
                "joint names promise; fix the file's hierarchy or retarget it with a bone map of your own"
            )


def _natural_positions(source: Skeleton, bone_map: BoneMap) -> np.ndarray:
    """(Js, 3) source joint positions in the map's reference pose (the rest without one)."""
    reference = np.tile([1.0, 0.0, 0.0, 0.0], (source.num_joints, 1))
    for joint, q in bone_map.reference.items():
        reference[source.index(joint)] = q
    return forward_kinematics(reference, source.offsets, source.parents, source.offsets[0])[1]


def _left_axis(pos: np.ndarray, source: Skeleton, pairs: dict[str, str]) -> np.ndarray | None:
    """The character's left (unit (3,)) from up (pelvis -> head) and forward (ankle -> foot),
    or None when the map lacks the joints to say."""
    top = next((pairs[n] for n in ("head", "neck", "spine3") if n in pairs), None)
    feet = [(pairs[f"{s}_ankle"], pairs[f"{s}_foot"]) for s in ("left", "right")
            if f"{s}_ankle" in pairs and f"{s}_foot" in pairs]
    if top is None or "pelvis" not in pairs or not feet:
        return None
    up = pos[source.index(top)] - pos[source.index(pairs["pelvis"])]
    forward = sum(pos[source.index(f)] - pos[source.index(a)] for a, f in feet)
    left = np.cross(up, forward)
    norm = float(np.linalg.norm(left))
    return None if norm < 1e-9 else left / norm


def side_warnings(source: Skeleton, bone_map: BoneMap) -> list[str]:
    """One warning naming the left_* joints (and their source joints) that lie on the
    character's right of their right_* partners; empty when the sides agree or cannot be told."""
    pairs = bone_map.pairs
    pos = _natural_positions(source, bone_map)
    left = _left_axis(pos, source, pairs)
    if left is None:
        return []
    wrong = []
    for t_name, s_name in pairs.items():
        partner = "right_" + t_name[len("left_"):]
        if t_name.startswith("left_") and partner in pairs:
            d = float((pos[source.index(s_name)] - pos[source.index(pairs[partner])]) @ left)
            if d < -SIDE_TOLERANCE:
                wrong.append(f"{s_name} ({t_name})")
    if not wrong:
        return []
    return [f"left and right look swapped: {', '.join(wrong)} lie on the character's right of their right-side "
            "partners (up from the pelvis to the head, forward along the feet); the motion will be mirrored. "
            "Check the file's joint names"]
