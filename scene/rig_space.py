"""An armature seen from SMPL-X motion: its rest skeleton in the shared frame, the bone map
that fits its bones, and the turn between that frame and the armature's own space. Both
directions use it: keying SMPL-X motion onto a rig (`scene.rig`) and reading a rig's action
back as SMPL-X motion (`scene.rig_reading`).

Frames. `skeleton_from_armature` reads an armature's rest pose as a core Skeleton in SMPL-X
axes *as the object stands in the world*: the object's rotation and (uniform) scale are applied,
its location is not. So an armature imported from an FBX file (often turned 90 degrees about X
with scale 0.01, its bones in centimetres) reads as a person standing upright, in metres.
`rig_space` then turns that skeleton about the vertical so that it faces the source's way (its
heading: the horizontal direction from its right hip to its left hip, or collar, or shoulder,
against SMPL-X's); motion on that turned skeleton is brought into the armature's own space
before it is keyed (`RigSpace.to_armature`) and out of it when it is read
(`RigSpace.from_armature`). So the motion is played relative to the character: upright
whatever the object's axis conversion, facing and walking where the character faces, scaled
with the object, and placed at the object's location.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import rotations as rot
from ..core.errors import SkeletonError
from ..core.motion import Motion
from ..core.retarget import BoneMap, RigDetectionError, RigLayout, detect_rig, match_bones, rig_layout
from ..core.skeleton import Skeleton, offsets_from_positions
from .axes import BLENDER_TO_SMPLX, SMPLX_TO_BLENDER, vectors_from_blender

#: The name of the joint standing for the armature's origin in the skeleton of an armature
#: with several root bones (it is not a bone and is never keyed).
ARMATURE_ORIGIN = "(armature origin)"

#: Relative difference of the object's axis scales above which it counts as non-uniform.
_SCALE_TOLERANCE = 1e-3


def armature_frame(obj) -> tuple[np.ndarray, float]:
    """(R, s): the rotation (3, 3, Blender axes) and uniform scale taking armature space to
    world orientation (`obj.matrix_world` without its translation).

    Raises SkeletonError for a non-uniform scale or a shear (apply the scale first).
    """
    m = np.array(obj.matrix_world, dtype=np.float64)[:3, :3]
    scales = np.linalg.norm(m, axis=0)
    s = float(scales.mean())
    r = m / s if s > 0 else m
    uneven = s <= 0 or np.abs(scales - s).max() > _SCALE_TOLERANCE * s
    if uneven or np.abs(r.T @ r - np.eye(3)).max() > 1e-4 or np.linalg.det(r) < 0:
        raise SkeletonError(
            f"armature {obj.name!r} is scaled unevenly ({', '.join(f'{x:g}' for x in scales)}) or mirrored; "
            "apply its scale (Object > Apply > Scale) before retargeting onto it or reading from it"
        )
    return r, s


def _bones_parents_first(obj) -> tuple[list, list[int]]:
    """The armature's bones depth first from each root bone, and each one's parent index."""
    bones = list(obj.data.bones)
    order, parents = [], []
    index = {}
    stack = [b for b in bones if b.parent is None][::-1]
    while stack:
        bone = stack.pop()
        index[bone.name] = len(order)
        parents.append(-1 if bone.parent is None else index[bone.parent.name])
        order.append(bone)
        stack.extend(list(bone.children)[::-1])
    return order, parents


def armature_skeleton(obj) -> Skeleton:
    """The rest skeleton in the armature's own space (SMPL-X axes, armature units), with a
    joint at the armature's origin above the root bones when there are several."""
    if obj is None or obj.type != "ARMATURE":
        label = "nothing" if obj is None else f"{obj.name!r} (a {obj.type.lower()})"
        raise SkeletonError(f"retargeting needs an armature object, got {label}; select an armature")
    bones, parents = _bones_parents_first(obj)
    if not bones:
        raise SkeletonError(f"armature {obj.name!r} has no bones")
    heads = vectors_from_blender(np.array([b.head_local for b in bones], dtype=np.float64))
    names = [b.name for b in bones]
    if sum(p < 0 for p in parents) > 1:
        names = [ARMATURE_ORIGIN] + names
        parents = [-1] + [p + 1 for p in parents]
        heads = np.concatenate([np.zeros((1, 3)), heads])
    return Skeleton(tuple(names), tuple(parents), offsets_from_positions(heads, parents))


def smplx_frame_turn(r: np.ndarray) -> np.ndarray:
    """The armature-to-world rotation `r` (Blender axes) written in SMPL-X axes: C^T R C."""
    return BLENDER_TO_SMPLX @ r @ SMPLX_TO_BLENDER


def skeleton_from_armature(obj) -> Skeleton:
    """The rest pose of the armature `obj` as a Skeleton: one joint per bone, named and
    parented as the bones (parents first), heads at the bones' rest heads in SMPL-X axes and
    metres, oriented and scaled as the object stands in the world (its location left out).

    An armature with several root bones gets one more joint, `ARMATURE_ORIGIN`, at the
    object's origin, as the root above them. Raises SkeletonError for anything that is not
    an armature, an armature without bones, or an uneven object scale.
    """
    local = armature_skeleton(obj)
    r, s = armature_frame(obj)
    turn = smplx_frame_turn(r)
    heads = s * local.rest_positions() @ turn.T
    return Skeleton(local.names, local.parents, offsets_from_positions(heads, local.parents))


#: SMPL-X joint pairs (left, right) whose horizontal direction gives a skeleton's heading,
#: in order of preference.
_HEADING_PAIRS = (("left_hip", "right_hip"), ("left_collar", "right_collar"), ("left_shoulder", "right_shoulder"))


def _heading(skeleton: Skeleton, joints: dict[str, str]) -> float:
    """The angle (radians, about +Y) that turns +X onto the skeleton's rest left-right
    direction in the horizontal plane (SMPL-X axes); 0 when no pair of `joints` (SMPL-X joint
    -> joint of `skeleton`) gives one."""
    rest = skeleton.rest_positions()
    for left, right in _HEADING_PAIRS:
        if left in joints and right in joints:
            d = rest[skeleton.index(joints[left])] - rest[skeleton.index(joints[right])]
            if np.hypot(d[0], d[2]) > 1e-6:
                return float(np.arctan2(-d[2], d[0]))
    return 0.0


def facing_turn(source: Skeleton, target: Skeleton, bone_map: BoneMap) -> np.ndarray:
    """(3, 3) H: the turn about the vertical (SMPL-X +Y) by the target's heading minus the
    source's; H^T turns the target to face the source's way. A rig map's targets following
    an SMPL-X joint fully (the first such, parents first) stand for that joint."""
    followers: dict[str, str] = {}
    for t in target.names:
        joint = bone_map.pairs.get(t)
        if joint is not None and bone_map.fraction(t) == 1.0:
            followers.setdefault(joint, t)
    pairs = {j: j for j in followers if j in source.names}
    angle = _heading(target, followers) - _heading(source, pairs)
    return rot.axis_rotation_matrix("Y", angle)


def resolve_bone_map(obj, skeleton: Skeleton, bone_map) -> tuple[str, BoneMap, list[str]]:
    """(layout name, the map restricted to and named as the armature's bones, the map's bones
    the armature lacks) for `bone_map`: None (detect the layout), a layout name or map path, a
    RigLayout, or a BoneMap from SMPL-X onto the armature's bones."""
    names = [n for n in skeleton.names if n != ARMATURE_ORIGIN]
    if isinstance(bone_map, BoneMap):
        layout = RigLayout(bone_map.name, bone_map, None, path=bone_map.path)
    elif isinstance(bone_map, RigLayout):
        layout = bone_map
    elif bone_map is None:
        try:
            layout = detect_rig(names)
        except RigDetectionError as exc:
            raise RigDetectionError(f"armature {obj.name!r}: {exc}", exc.candidates) from None
    else:
        layout = rig_layout(bone_map)
    match = match_bones(layout, names)
    if not match.bone_map.pairs:
        raise SkeletonError(
            f"armature {obj.name!r} has none of the bones of the {layout.name!r} map"
            f"{' (' + layout.path + ')' if layout.path else ''}; choose another layout or map file"
        )
    return layout.name, match.bone_map, match.missing


@dataclass(frozen=True)
class RigSpace:
    """An armature and the SMPL-X motion that plays on it.

    layout: the name of the layout or map used; bone_map: SMPL-X -> the armature's bones,
    restricted to those it has; missing: the map's bones it lacks. skeleton: its rest pose in
    the shared frame (metres, Y up), turned to face the source's way, the skeleton core's
    retargeting works on; own: its rest pose in the armature's own space and units (the
    skeleton `scene.actions` keys and reads). turn: (4,) Q, the rotation from the shared
    frame into the armature's space; scale: the object's uniform scale s.
    """

    layout: str
    bone_map: BoneMap
    missing: list[str]
    skeleton: Skeleton
    own: Skeleton
    turn: np.ndarray
    scale: float

    def to_armature(self, motion: Motion) -> Motion:
        """Motion on `skeleton` as motion on `own`: every local rotation conjugated by Q and the
        translation turned by Q and divided by s, so its forward kinematics is Q p / s."""
        q_inv = rot.quat_conjugate(self.turn)
        rotations = rot.quat_multiply(self.turn, rot.quat_multiply(motion.rotations, q_inv))
        trans = rot.quat_apply(self.turn, motion.trans) / self.scale
        return Motion(self.own, motion.fps, rotations, trans, motion.expressions, None, motion.name)

    def from_armature(self, motion: Motion) -> Motion:
        """The inverse of `to_armature`: motion on `own` as motion on `skeleton`."""
        q_inv = rot.quat_conjugate(self.turn)
        rotations = rot.quat_multiply(q_inv, rot.quat_multiply(motion.rotations, self.turn))
        trans = rot.quat_apply(q_inv, motion.trans) * self.scale
        return Motion(self.skeleton, motion.fps, rotations, trans, motion.expressions, None, motion.name)


def rig_space(obj, source: Skeleton, bone_map=None) -> RigSpace:
    """The RigSpace of the armature `obj` for motion on `source` (SMPL-X).

    bone_map: None (detect the layout from the bone names), a layout name or map path, a
    RigLayout, or a BoneMap from SMPL-X onto the armature's bones (`resolve_bone_map`).
    Raises SkeletonError (RigDetectionError when the layout cannot be told): not an armature,
    no bones, uneven scale, no bone of the map.
    """
    skeleton = skeleton_from_armature(obj)
    layout, matched, missing = resolve_bone_map(obj, skeleton, bone_map)
    facing = facing_turn(source, skeleton, matched)
    facing_the_source = Skeleton(skeleton.names, skeleton.parents, skeleton.offsets @ facing)  # H^T p, rows
    r, s = armature_frame(obj)
    turn = rot.matrix_to_quat(smplx_frame_turn(r).T @ facing)  # Q = turn^T H
    return RigSpace(layout, matched, missing, facing_the_source, armature_skeleton(obj), turn, s)
