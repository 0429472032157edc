"""scene.axes and scene.armature: the axis change and armatures built from a skeleton."""

from types import SimpleNamespace

import bpy
import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import SkeletonError
from motion_tokens.core.skeleton import (
    SMPLX_JOINT_NAMES,
    SMPLX_PARENTS,
    Skeleton,
    smplx_skeleton,
)
from motion_tokens.scene.armature import bone_tails, create_armature, missing_bones
from motion_tokens.scene.axes import (
    SMPLX_TO_BLENDER,
    rotations_from_blender,
    rotations_to_blender,
    vectors_from_blender,
    vectors_to_blender,
)

RNG = np.random.default_rng(7)


# --- axes (numpy only) -------------------------------------------------------------------

def test_axis_change_maps_up_forward_and_left():
    up, forward, left = np.eye(3)[1], np.eye(3)[2], np.eye(3)[0]  # SMPL-X: Y up, faces +Z, left +X
    np.testing.assert_allclose(vectors_to_blender(up), [0, 0, 1])  # Blender: Z up
    np.testing.assert_allclose(vectors_to_blender(forward), [0, -1, 0])  # faces -Y
    np.testing.assert_allclose(vectors_to_blender(left), [1, 0, 0])
    np.testing.assert_allclose(vectors_to_blender([1.0, 2.0, 3.0]), [1.0, -3.0, 2.0])
    # A proper rotation: +90 degrees about X.
    np.testing.assert_allclose(SMPLX_TO_BLENDER, rot.axis_rotation_matrix("X", np.pi / 2), atol=1e-15)


def test_axis_change_round_trips_any_shape():
    v = RNG.normal(size=(5, 4, 3))
    np.testing.assert_allclose(vectors_from_blender(vectors_to_blender(v)), v, atol=1e-15)
    R = rot.quat_to_matrix(rot.quat_normalize(RNG.normal(size=(6, 2, 4))))
    np.testing.assert_allclose(rotations_from_blender(rotations_to_blender(R)), R, atol=1e-14)


def test_rotations_turn_with_the_vectors():
    # Rotating then changing axes equals changing axes then rotating by the converted matrix.
    R = rot.quat_to_matrix(rot.quat_normalize(RNG.normal(size=(10, 4))))
    v = RNG.normal(size=(10, 3))
    lhs = vectors_to_blender(np.einsum("nij,nj->ni", R, v))
    rhs = np.einsum("nij,nj->ni", rotations_to_blender(R), vectors_to_blender(v))
    np.testing.assert_allclose(lhs, rhs, atol=1e-14)


# --- armatures ---------------------------------------------------------------------------

def _heads(obj, names):
    return np.array([obj.data.bones[n].head_local for n in names], dtype=np.float64)


def test_smplx_armature_bones_follow_the_skeleton(empty_scene):
    skeleton = smplx_skeleton()
    obj = create_armature(skeleton)
    assert obj.type == "ARMATURE" and obj.name == "SMPL-X"
    assert obj.name in bpy.context.collection.objects
    assert obj.pose is not None and len(obj.pose.bones) == 55
    np.testing.assert_allclose(np.array(obj.matrix_world), np.eye(4))
    bones = obj.data.bones
    assert sorted(b.name for b in bones) == sorted(SMPLX_JOINT_NAMES)
    for name, parent in zip(SMPLX_JOINT_NAMES, SMPLX_PARENTS):
        assert (bones[name].parent.name if bones[name].parent else None) == (
            SMPLX_JOINT_NAMES[parent] if parent >= 0 else None
        )
    # Heads at the rest joints with (x, y, z) -> (x, -z, y), worked out by hand.
    rest = skeleton.rest_positions()
    expected = np.stack([rest[:, 0], -rest[:, 2], rest[:, 1]], axis=-1)
    np.testing.assert_allclose(_heads(obj, SMPLX_JOINT_NAMES), expected, atol=1e-6)
    # Upright: the head is above the pelvis, the left shoulder at +X.
    heads = _heads(obj, ["pelvis", "head", "left_shoulder", "right_shoulder"])
    assert heads[1, 2] > heads[0, 2] + 0.3
    assert heads[2, 0] > 0 > heads[3, 0]


def test_bones_point_at_children_or_continue_their_parent(empty_scene):
    skeleton = smplx_skeleton()
    obj = create_armature(skeleton)
    bones = obj.data.bones
    heads = _heads(obj, SMPLX_JOINT_NAMES)

    def direction(name):
        b = bones[name]
        d = np.array(b.tail_local) - np.array(b.head_local)
        return d / np.linalg.norm(d)

    def unit(v):
        return v / np.linalg.norm(v)

    i = SMPLX_JOINT_NAMES.index
    # One child: straight at it.
    np.testing.assert_allclose(direction("left_elbow"), unit(heads[i("left_wrist")] - heads[i("left_elbow")]), atol=1e-5)
    # Several children: at their mean.
    kids = [i(n) for n in ("left_index1", "left_middle1", "left_pinky1", "left_ring1", "left_thumb1")]
    np.testing.assert_allclose(direction("left_wrist"), unit(heads[kids].mean(0) - heads[i("left_wrist")]), atol=1e-5)
    # A pelvis between its hips and spine points up.
    np.testing.assert_allclose(direction("pelvis"), [0, 0, 1], atol=1e-6)
    # Leaves continue the parent -> joint direction.
    np.testing.assert_allclose(direction("left_index3"), unit(heads[i("left_index3")] - heads[i("left_index2")]), atol=1e-5)
    assert min(b.length for b in bones) >= 0.01 - 1e-6


def test_rolls_turn_bone_z_axes_forward(empty_scene):
    obj = create_armature(smplx_skeleton())
    for name in ("left_shoulder", "right_elbow", "spine2", "left_knee"):
        z_axis = np.array(obj.data.bones[name].matrix_local)[:3, 2]
        assert z_axis @ np.array([0.0, -1.0, 0.0]) > 0.95, name
    # A foot lies along Y, so its Z axis is turned up instead.
    z_axis = np.array(obj.data.bones["left_foot"].matrix_local)[:3, 2]
    assert z_axis[2] > 0.5


def test_second_armature_gets_a_new_name_and_is_returned(empty_scene):
    skeleton = smplx_skeleton()
    first = create_armature(skeleton)
    second = create_armature(skeleton)
    assert first.name == "SMPL-X" and second.name == "SMPL-X.001"
    assert second.data is not first.data and len(second.data.bones) == 55
    assert bpy.context.view_layer.objects.active == second
    assert second.select_get() and not first.select_get()


def test_generic_skeleton_and_custom_name(empty_scene):
    skeleton = Skeleton(("root", "a", "b"), (-1, 0, 1), np.array([[0, 1, 0], [0, 0.5, 0], [0.3, 0, 0.4]]))
    obj = create_armature(skeleton, name="Rig")
    assert obj.name == "Rig"
    np.testing.assert_allclose(_heads(obj, ["root", "a", "b"]), [[0, 0, 1], [0, 0, 1.5], [0.3, -0.4, 1.5]], atol=1e-6)
    b = obj.data.bones["b"]  # a leaf: half its parent distance (0.5 m) further on
    np.testing.assert_allclose(np.array(b.tail_local), [0.45, -0.6, 1.5], atol=1e-6)


def test_bone_tails_of_a_lone_root_and_a_joint_on_its_parent():
    tails = bone_tails(np.array([[0.0, 0, 1], [0.0, 0, 1]]), (-1, 0))
    np.testing.assert_allclose(tails, [[0, 0, 1.05], [0, 0, 1.05]])


def test_missing_bones_lists_them_in_order(empty_scene):
    obj = create_armature(smplx_skeleton())
    assert missing_bones(obj, ["pelvis", "Hips", "head", "Toes_L"]) == ["Hips", "Toes_L"]
    assert missing_bones(obj, SMPLX_JOINT_NAMES) == []


def test_overlong_joint_names_are_refused_before_anything_is_made(empty_scene):
    long_name = "x" * 70
    skeleton = Skeleton(("root", long_name), (-1, 0), np.array([[0, 1, 0], [0, 0.5, 0]]))
    with pytest.raises(SkeletonError, match=long_name):
        create_armature(skeleton)
    assert len(bpy.data.objects) == 0 and len(bpy.data.armatures) == 0


def test_failure_half_way_leaves_nothing_behind(empty_scene, monkeypatch):
    real_mode_set = bpy.ops.object.mode_set

    def mode_set(mode):
        if mode == "EDIT":
            raise RuntimeError("simulated: cannot enter Edit mode")
        return real_mode_set(mode=mode)

    # bpy.ops.object is made afresh on each access, so the fake replaces it whole.
    monkeypatch.setattr(bpy.ops, "object", SimpleNamespace(mode_set=mode_set))
    with pytest.raises(RuntimeError, match="simulated"):
        create_armature(smplx_skeleton())
    assert len(bpy.data.objects) == 0 and len(bpy.data.armatures) == 0
