"""Hand-only skeletons (a wrist and its fingers, no body) onto one SMPL-X hand.

A hand-only bone map (`BoneMap.is_hand_only`: a "hand" block, e.g. maps/manipnet.json) is
written for the left hand; the file's name says which hand it holds (`hand_side`: one of the
map's `sides_by_name` tokens, e.g. "rightHand"), and `sided_map` renames the pairs onto that
side. The transfer is the general one (`transfer.retarget`, rest-pose alignment): the SMPL-X
wrist is aligned on the finger roots (Kabsch over the five wrist -> finger base directions),
each finger bone then points where its source bone points in every frame, and the finger
joints' local rotations are relative to that aligned wrist, so they are SMPL-X local rotations
whatever the wrist does. The wrist itself moves freely in the source (a hand floating over a
table, not a body's wrist), so by default its rotation and path are dropped: the body stays at
rest and the take counts for the hands only (`core.codecs.training.dataset`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..errors import LayoutError
from ..motion import Motion
from ..skeleton import Skeleton, smplx_skeleton
from .bone_maps import BoneMap
from .checks import check_tree
from .transfer import RetargetResult, retarget

_SIDES = ("left", "right")


def hand_side(path: str | Path, bone_map: BoneMap) -> str:
    """"left" or "right": the side named in the file's stem by one of the map's tokens.

    Raises LayoutError naming the file when no token, or tokens of both sides, are in the name.
    """
    stem = Path(path).stem
    found = {side for token, side in bone_map.sides_by_name.items() if token in stem}
    if len(found) != 1:
        tokens = ", ".join(f"{t!r} ({s})" for t, s in bone_map.sides_by_name.items())
        what = "names both hands" if found else "does not say which hand it holds"
        raise LayoutError(path, f"the file name {what}; a {bone_map.name} hand file's name holds one of {tokens}")
    return found.pop()


def sided_map(bone_map: BoneMap, side: str) -> BoneMap:
    """The hand-only map (pairs and reference pose of the left hand) moved onto `side`'s SMPL-X
    joints. A right hand's source is the mirror image of a left one across the YZ plane (the
    ManipNet offsets are, x negated), so its reference rotations are mirrored too: a rotation
    R becomes M R M with M = diag(-1, 1, 1), in quaternions (w, x, y, z) -> (w, x, -y, -z)."""
    if side not in _SIDES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    if side == "left":
        return bone_map
    moved = bone_map.renamed({t: "right_" + t[len("left_"):] for t in bone_map.pairs if t.startswith("left_")})
    mirrored = {j: (w, x, -y, -z) for j, (w, x, y, z) in bone_map.reference.items()}
    return dataclasses.replace(moved, reference=mirrored)


def retarget_hand(source: Motion, bone_map: BoneMap, side: str, target: Skeleton | None = None,
                  keep_wrist: bool = False) -> RetargetResult:
    """`source` (a hand-only skeleton in metres) onto the `side` hand of SMPL-X `target`
    (default `smplx_skeleton()`).

    Returns RetargetResult(motion (T, 55 joints, same fps): the side's 15 finger joints moved,
    everything else at rest, trans zero; unmapped: [] (the body is at rest by design);
    warnings). keep_wrist: keep the aligned wrist rotation and the wrist's path instead (for
    comparing with the source in its own world frame). Raises SkeletonError when the source
    lacks the map's joints or its tree is not the one they promise.
    """
    target = smplx_skeleton() if target is None else target
    sided = sided_map(bone_map, side)
    check_tree(source.skeleton, target, sided)
    result = retarget(source, sided, target)
    # No legs on a hand: the root-path scale does not apply (the path is dropped below).
    warnings = [w for w in result.warnings if not w.startswith("no leg")]
    motion = result.motion
    if not keep_wrist:
        rotations = motion.rotations.copy()
        rotations[:, target.index(f"{side}_wrist")] = (1.0, 0.0, 0.0, 0.0)
        motion = dataclasses.replace(motion, rotations=rotations, trans=np.zeros_like(motion.trans))
    return RetargetResult(motion=motion, unmapped=[], warnings=warnings)
