"""Armatures built from a core Skeleton, and checks of an armature's bones."""

from __future__ import annotations

import bpy
import numpy as np

from ..core.errors import SkeletonError
from ..core.skeleton import Skeleton
from .axes import vectors_to_blender

#: Blender truncates longer bone names (bytes, UTF-8).
_MAX_BONE_NAME_BYTES = 63
#: Bones shorter than this get a direction of their own instead of pointing at their children.
_MIN_BONE_LENGTH = 0.01  # metres
#: Length of a bone with nothing to measure against (a lone root, children around its head).
_DEFAULT_BONE_LENGTH = 0.05  # metres
_UP = np.array([0.0, 0.0, 1.0])
_FORWARD = np.array([0.0, -1.0, 0.0])


def bone_tails(heads: np.ndarray, parents) -> np.ndarray:
    """(J, 3) tail positions for bones with `heads` (J, 3) (Blender axes) and `parents`.

    A bone with children points at the mean of its children's heads, unless the children lie
    all around its head (the mean is nearer than half their mean distance, as at a pelvis
    between two hips and a spine): then it points up (+Z) for half their mean distance. A leaf
    continues its parent's direction (parent head -> its own head) for half that distance.
    Where a rule gives less than 1 cm (a joint on top of its parent), and for a lone root, the
    bone points 5 cm up.
    """
    heads = np.asarray(heads, dtype=np.float64)
    par = np.asarray(parents)
    J = len(heads)
    tails = np.empty_like(heads)
    for j in range(J):
        children = np.flatnonzero(par == j)
        if len(children):
            to_children = heads[children] - heads[j]
            direction = to_children.mean(axis=0)
            spread = np.linalg.norm(to_children, axis=-1).mean()
            if np.linalg.norm(direction) < 0.5 * spread:  # children all around (a pelvis)
                direction = 0.5 * spread * _UP
        elif par[j] >= 0:
            direction = 0.5 * (heads[j] - heads[par[j]])
        else:
            direction = _DEFAULT_BONE_LENGTH * _UP
        if np.linalg.norm(direction) < _MIN_BONE_LENGTH:
            direction = _DEFAULT_BONE_LENGTH * _UP
        tails[j] = heads[j] + direction
    return tails


def _roll_axis(direction: np.ndarray) -> np.ndarray:
    """The direction a bone's local Z axis is turned towards: forward (-Y), or up (+Z) for a
    bone lying along Y (feet, toes), where forward would be along the bone itself."""
    unit = direction / max(np.linalg.norm(direction), 1e-12)
    return _UP if abs(unit[1]) > 0.9 else _FORWARD


def _check_names(skeleton: Skeleton) -> None:
    too_long = [n for n in skeleton.names if len(n.encode("utf-8")) > _MAX_BONE_NAME_BYTES]
    if too_long:
        raise SkeletonError(
            f"joint names longer than {_MAX_BONE_NAME_BYTES} bytes cannot be Blender bone names: "
            f"{', '.join(too_long)}; rename them before creating an armature"
        )


def create_armature(skeleton: Skeleton, name: str = "SMPL-X", context=None):
    """A new armature object with one bone per joint of `skeleton`, in its rest pose.

    Bones are named and parented as the joints; heads lie at the rest joint positions
    converted to Blender axes (metres, Z up, facing -Y); tails as `bone_tails` says; each
    bone's roll turns its local Z axis forward (-Y), or up for bones lying along Y. The object
    is linked into the active collection with an identity transform, made the active and only
    selected object, and left in Object mode with its pose built. Blender makes the object and
    armature names unique (`name.001`); the object returned is the one made.
    """
    context = context or bpy.context
    _check_names(skeleton)
    heads = vectors_to_blender(skeleton.rest_positions())
    tails = bone_tails(heads, skeleton.parents)

    if context.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    context.collection.objects.link(obj)
    for other in context.view_layer.objects.selected:
        other.select_set(False)
    context.view_layer.objects.active = obj
    obj.select_set(True)

    try:
        bpy.ops.object.mode_set(mode="EDIT")
        try:
            edit_bones = []
            for j, joint in enumerate(skeleton.names):
                bone = data.edit_bones.new(joint)
                bone.head = heads[j]
                bone.tail = tails[j]
                bone.align_roll(_roll_axis(tails[j] - heads[j]))
                parent = skeleton.parents[j]
                if parent >= 0:
                    bone.parent = edit_bones[parent]
                edit_bones.append(bone)
        finally:
            bpy.ops.object.mode_set(mode="OBJECT")
    except BaseException:  # e.g. a hidden active collection refuses Edit mode
        bpy.data.objects.remove(obj)
        bpy.data.armatures.remove(data)
        raise
    context.view_layer.update()
    return obj


def missing_bones(obj, names) -> list[str]:
    """The names in `names` that `obj` (an armature object) has no bone for, in order."""
    bones = obj.data.bones
    return [n for n in names if bones.get(n) is None]


def rest_matrices(obj, names) -> np.ndarray:
    """(J, 4, 4) rest matrices in armature space (`bone.matrix_local`) of the named bones."""
    bones = obj.data.bones
    flat = np.empty(len(bones) * 16, dtype=np.float32)
    bones.foreach_get("matrix_local", flat)
    # foreach_get flattens each matrix column by column.
    mats = flat.reshape(-1, 4, 4).transpose(0, 2, 1).astype(np.float64)
    order = {b.name: i for i, b in enumerate(bones)}
    return mats[[order[n] for n in names]]
