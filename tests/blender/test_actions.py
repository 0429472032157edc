"""scene.actions: motions keyed onto armatures, checked against Blender's own evaluated pose.

The reference is always Blender: after `write_motion`, `scene.frame_set` makes Blender
evaluate the action, and every bone's head in world space must lie where our forward
kinematics (converted to Blender axes) puts the joint.
"""

import math

import bpy
import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import MotionTokensError, SkeletonError
from motion_tokens.core.formats.bvh import read_bvh
from motion_tokens.core.formats.npz import read_smplx_npz
from motion_tokens.core.motion import Motion
from motion_tokens.core.skeleton import Skeleton, smplx_skeleton
from motion_tokens.scene import actions, compat
from motion_tokens.scene.actions import read_motion, write_motion
from motion_tokens.scene.armature import create_armature
from motion_tokens.scene.axes import vectors_to_blender

MM = 1e-3
BEAT2_TAKE = "beat2/2_scott_0_1_1.npz"
BANDAI_TAKE = "bandai/dataset-2/dataset-2_wave-both-hands_active_001.bvh"


@pytest.fixture(scope="module")
def beat2(data_dir):
    return read_smplx_npz(data_dir / BEAT2_TAKE)


def synthetic_motion(frames=40, seed=0, fps=30.0) -> Motion:
    """A branching generic skeleton (not SMPL-X) with random rotations and translation."""
    rng = np.random.default_rng(seed)
    names = ("Hips", "Spine", "Head", "Arm_L", "Hand_L", "Arm_R", "Leg_L", "Foot_L")
    parents = (-1, 0, 1, 1, 3, 1, 0, 6)
    offsets = np.array(
        [[0, 0.9, 0], [0, 0.2, 0], [0, 0.3, 0.05], [0.2, 0.1, 0], [0.3, 0, 0], [-0.2, 0.1, 0], [0.1, -0.45, 0], [0, -0.4, 0.1]]
    )
    aa = rng.normal(scale=0.8, size=(frames, len(names), 3))
    trans = np.cumsum(rng.normal(scale=0.02, size=(frames, 3)), axis=0)
    return Motion.from_axis_angle(Skeleton(names, parents, offsets), fps, aa, trans, name="synthetic")


def evaluated_heads(obj, names, frame, subframe=0.0) -> np.ndarray:
    """(J, 3) world head positions of the named bones as Blender evaluates them at `frame`."""
    bpy.context.scene.frame_set(frame, subframe=subframe)
    world = np.array(obj.matrix_world)
    heads = np.array([obj.pose.bones[n].head for n in names], dtype=np.float64)
    return heads @ world[:3, :3].T + world[:3, 3]


def assert_matches_fk(obj, motion, frame_start, indices, transform=np.eye(4)):
    """Blender's evaluated heads at frame_start + k == C FK(motion)[k] (through `transform`)."""
    expected = vectors_to_blender(motion.positions()) @ transform[:3, :3].T + transform[:3, 3]
    for k in indices:
        heads = evaluated_heads(obj, motion.skeleton.names, frame_start + int(k))
        error = np.abs(heads - expected[k]).max()
        assert error < MM, f"frame {k}: {error * 1000:.3f} mm"


def set_fps(scene, fps, base=1.0):
    scene.render.fps = round(fps)
    scene.render.fps_base = base


def all_keys(action, obj) -> dict:
    """{(data_path, index): (n, 2) keyframe co} of the action's curves for obj."""
    out = {}
    for fc in compat.action_fcurves(action, obj):
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(fc.data_path, fc.array_index)] = co.reshape(-1, 2)
    return out


# --- the pose Blender evaluates equals our forward kinematics ------------------------------

def test_beat2_take_matches_forward_kinematics(empty_scene, beat2):
    set_fps(empty_scene, 30)
    obj = create_armature(beat2.skeleton)
    result = write_motion(obj, beat2)
    assert (result.frame_start, result.frame_end) == (1, beat2.num_frames)
    assert result.warnings == []
    assert obj.animation_data.action == result.action
    assert_matches_fk(obj, beat2, 1, [0, 1, 250, 777, 1500, beat2.num_frames - 1])


def test_bandai_take_matches_forward_kinematics(empty_scene, data_dir):
    motion = read_bvh(data_dir / BANDAI_TAKE)
    set_fps(empty_scene, motion.fps)
    obj = create_armature(motion.skeleton, name="Bandai")
    result = write_motion(obj, motion)
    assert result.frame_end - result.frame_start + 1 == motion.num_frames
    assert_matches_fk(obj, motion, 1, np.linspace(0, motion.num_frames - 1, 6).astype(int))


def test_generic_skeleton_matches_forward_kinematics(empty_scene):
    motion = synthetic_motion()
    set_fps(empty_scene, 30)
    obj = create_armature(motion.skeleton, name="Generic")
    write_motion(obj, motion)
    assert_matches_fk(obj, motion, 1, range(0, 40, 3))


def test_any_bone_rolls_still_match(empty_scene):
    motion = synthetic_motion(seed=3)
    set_fps(empty_scene, 30)
    obj = create_armature(motion.skeleton)
    before = {b.name: np.array(b.matrix_local) for b in obj.data.bones}
    bpy.ops.object.mode_set(mode="EDIT")
    rng = np.random.default_rng(1)
    turns = rng.uniform(0.5, 2.5, size=len(obj.data.edit_bones)) * rng.choice([-1, 1], size=len(obj.data.edit_bones))
    for bone, turn in zip(obj.data.edit_bones, turns):
        bone.roll += turn
    bpy.ops.object.mode_set(mode="OBJECT")
    after = {b.name: np.array(b.matrix_local) for b in obj.data.bones}
    for name in before:  # same heads, other orientations
        np.testing.assert_allclose(after[name][:3, 3], before[name][:3, 3], atol=1e-6)
        assert np.abs(after[name][:3, :3] - before[name][:3, :3]).max() > 0.1
    write_motion(obj, motion)
    assert_matches_fk(obj, motion, 1, range(0, 40, 4))


def test_object_transform_places_the_whole_motion(empty_scene):
    motion = synthetic_motion(seed=5)
    set_fps(empty_scene, 30)
    obj = create_armature(motion.skeleton)
    obj.location = (1.0, -2.0, 0.5)
    obj.rotation_euler = (0.3, -0.2, 1.1)
    obj.scale = (2.0, 2.0, 2.0)
    bpy.context.view_layer.update()
    write_motion(obj, motion)
    assert_matches_fk(obj, motion, 1, range(0, 40, 7), transform=np.array(obj.matrix_world))


# --- frame rates and frame ranges --------------------------------------------------------

@pytest.mark.parametrize("fps, step", [(24, 4), (60, 2)])
def test_motion_is_resampled_to_the_scene_rate(empty_scene, beat2, fps, step):
    motion = beat2.frames(0, 301)  # 10 s at 30 fps
    set_fps(empty_scene, fps)
    obj = create_armature(motion.skeleton)
    result = write_motion(obj, motion, frame_start=1)
    n = 10 * fps + 1
    assert (result.frame_start, result.frame_end) == (1, n)
    assert result.keys_written == n * (4 * 55 + 3)
    # Scene frame k is at k / fps seconds: every `step` frames it falls on a 30 fps frame,
    # where the pose must be the original one.
    src_per_frame = 30 / fps
    for k in (0, step, 5 * step, n - 1):
        heads = evaluated_heads(obj, motion.skeleton.names, 1 + k)
        expected = vectors_to_blender(motion.positions()[round(k * src_per_frame)])
        assert np.abs(heads - expected).max() < MM
    # In between, it is the resampled motion's pose.
    resampled = motion.resampled(fps)
    assert_matches_fk(obj, resampled, 1, [1, step + 1, n - 2])


def test_fractional_scene_rate(empty_scene, beat2):
    motion = beat2.frames(0, 301)
    set_fps(empty_scene, 30, base=1.001)  # 29.97 fps
    obj = create_armature(motion.skeleton)
    result = write_motion(obj, motion)
    assert result.frame_end == 1 + math.floor(10 * 30 / 1.001)


def test_keys_start_at_frame_start(empty_scene, beat2):
    motion = beat2.frames(100, 160)
    set_fps(empty_scene, 30)
    obj = create_armature(motion.skeleton)
    result = write_motion(obj, motion, frame_start=101)
    assert (result.frame_start, result.frame_end) == (101, 160)
    keys = all_keys(result.action, obj)
    assert len(keys) == 55 * 4 + 3
    for co in keys.values():
        np.testing.assert_array_equal(co[:, 0], np.arange(101, 161))
    assert_matches_fk(obj, motion, 101, [0, 30, 59])


def test_keys_are_linear_one_per_channel(empty_scene):
    motion = synthetic_motion(frames=12)
    set_fps(empty_scene, 30)
    obj = create_armature(motion.skeleton)
    result = write_motion(obj, motion)
    curves = compat.action_fcurves(result.action, obj)
    assert len(curves) == 8 * 4 + 3
    assert sum(len(fc.keyframe_points) for fc in curves) == result.keys_written == 12 * 35
    for fc in curves:
        assert {kp.interpolation for kp in fc.keyframe_points} == {"LINEAR"}
        assert fc.group is not None and fc.group.name in motion.skeleton.names
    assert {pb.rotation_mode for pb in obj.pose.bones} == {"QUATERNION"}


def test_quaternion_signs_are_continuous(empty_scene):
    # The root turns about the up axis from 170 to 190 degrees between two frames. The
    # shortest quaternions of those two rotations have opposite signs of w, so keyed as they
    # are, linear interpolation would swing the long way round through 0 degrees.
    skeleton = Skeleton(("root", "arm"), (-1, 0), np.array([[0, 1, 0], [1.0, 0, 0]]))
    angles = np.radians([170.0, 190.0])
    aa = np.zeros((2, 2, 3))
    aa[:, 0, 1] = angles  # about SMPL-X +Y (up)
    motion = Motion.from_axis_angle(skeleton, 30, aa, np.zeros((2, 3)))
    assert motion.rotations[0, 0, 0] * motion.rotations[1, 0, 0] >= 0  # both w >= 0 ...
    assert np.dot(motion.rotations[0, 0], motion.rotations[1, 0]) < 0  # ... so they disagree
    set_fps(empty_scene, 30)
    obj = create_armature(skeleton)
    result = write_motion(obj, motion)
    q = np.stack([all_keys(result.action, obj)[(obj.pose.bones["root"].path_from_id("rotation_quaternion"), i)][:, 1] for i in range(4)], -1)
    assert np.dot(q[0], q[1]) > 0
    # Half way, the arm (1 m to the left at rest) has turned 180 degrees: 1 m to the right.
    heads = evaluated_heads(obj, ["root", "arm"], 1, subframe=0.5)
    np.testing.assert_allclose(heads[1] - heads[0], [-1, 0, 0], atol=1e-4)


# --- never overwrite, validate first, clean up --------------------------------------------

def test_second_write_makes_a_new_action_and_keeps_the_first(empty_scene, beat2):
    set_fps(empty_scene, 30)
    obj = create_armature(beat2.skeleton)
    first = write_motion(obj, beat2.frames(0, 50))
    first_name = first.action.name
    keys_before = all_keys(first.action, obj)
    second = write_motion(obj, beat2.frames(200, 230))
    assert first_name == "2_scott_0_1_1" and second.action.name == "2_scott_0_1_1 [2]"
    assert obj.animation_data.action == second.action
    kept = bpy.data.actions[first_name]
    assert kept.use_fake_user and any("kept" in w for w in second.warnings)
    keys_after = all_keys(kept, None)
    assert keys_after.keys() == keys_before.keys()
    for key, co in keys_before.items():
        np.testing.assert_array_equal(keys_after[key], co)
    assert_matches_fk(obj, beat2.frames(200, 230), 1, [0, 29])


def test_explicit_action_name_never_replaces_an_action(empty_scene):
    existing = bpy.data.actions.new("Gesture")
    existing.use_fake_user = True
    set_fps(empty_scene, 30)
    obj = create_armature(synthetic_motion().skeleton)
    result = write_motion(obj, synthetic_motion(), action_name="Gesture")
    assert result.action.name == "Gesture [2]"
    untouched = bpy.data.actions["Gesture"]
    assert compat.action_fcurves(untouched) == []
    if compat.has_slotted_actions():
        assert len(untouched.slots) == 0 and len(untouched.layers) == 0


def test_missing_bones_raise_before_the_scene_changes(empty_scene, beat2):
    body = Skeleton(beat2.skeleton.names[:22], beat2.skeleton.parents[:22], beat2.skeleton.offsets[:22])
    obj = create_armature(body, name="BodyOnly")
    modes = [pb.rotation_mode for pb in obj.pose.bones]
    actions_before = [a.name for a in bpy.data.actions]
    with pytest.raises(SkeletonError) as info:
        write_motion(obj, beat2)
    message = str(info.value)
    assert "'BodyOnly'" in message and "jaw" in message and "left_index1" in message
    assert "33 of the 55" in message
    assert [a.name for a in bpy.data.actions] == actions_before
    assert obj.animation_data is None
    assert [pb.rotation_mode for pb in obj.pose.bones] == modes


def test_objects_that_are_not_armatures_are_refused(empty_scene):
    mesh = bpy.data.objects.new("Cube", bpy.data.meshes.new("Cube"))
    bpy.context.collection.objects.link(mesh)
    with pytest.raises(SkeletonError, match="'Cube'"):
        write_motion(mesh, synthetic_motion())
    assert len(bpy.data.actions) == 0


def test_new_armature_objects_get_their_pose_first(empty_scene):
    motion = synthetic_motion()
    set_fps(empty_scene, 30)
    made = create_armature(motion.skeleton)
    linked = bpy.data.objects.new("Linked", made.data)
    bpy.context.collection.objects.link(linked)
    assert linked.pose is None  # until the view layer is updated
    write_motion(linked, motion)
    assert_matches_fk(linked, motion, 1, [0, 39])
    loose = bpy.data.objects.new("Loose", made.data)  # in no scene: never gets a pose
    with pytest.raises(SkeletonError, match="'Loose' has no pose"):
        write_motion(loose, motion)


def test_nla_tweak_mode_is_refused(empty_scene):
    motion = synthetic_motion()
    set_fps(empty_scene, 30)
    obj = create_armature(motion.skeleton)
    first = write_motion(obj, motion.frames(0, 5))
    track = obj.animation_data.nla_tracks.new()
    track.strips.new("Take", 1, first.action)
    obj.animation_data.action = None
    obj.animation_data.use_tweak_mode = True
    actions_before = [a.name for a in bpy.data.actions]
    with pytest.raises(SkeletonError, match="tweak mode"):
        write_motion(obj, motion)
    assert [a.name for a in bpy.data.actions] == actions_before


def test_empty_motion_is_refused(empty_scene):
    motion = synthetic_motion().frames(0, 0)
    obj = create_armature(motion.skeleton)
    with pytest.raises(MotionTokensError, match="no frames"):
        write_motion(obj, motion)
    assert len(bpy.data.actions) == 0


def test_failure_half_way_removes_the_action(empty_scene, monkeypatch):
    motion = synthetic_motion()
    set_fps(empty_scene, 30)
    obj = create_armature(motion.skeleton)
    first = write_motion(obj, motion.frames(0, 10))
    obj.pose.bones["Head"].rotation_mode = "XYZ"
    real_new_fcurve = compat.new_fcurve
    calls = []

    def failing_new_fcurve(*args, **kwargs):
        calls.append(args)
        if len(calls) == 10:
            raise RuntimeError("simulated failure")
        return real_new_fcurve(*args, **kwargs)

    monkeypatch.setattr(actions.compat, "new_fcurve", failing_new_fcurve)
    with pytest.raises(RuntimeError, match="simulated"):
        write_motion(obj, motion)
    assert [a.name for a in bpy.data.actions] == [first.action.name]
    assert obj.animation_data.action == first.action
    assert obj.pose.bones["Head"].rotation_mode == "XYZ"


def test_rest_pose_differences_are_reported(empty_scene):
    motion = synthetic_motion()
    bigger = Skeleton(motion.skeleton.names, motion.skeleton.parents, motion.skeleton.offsets * 1.2)
    set_fps(empty_scene, 30)
    obj = create_armature(bigger)
    result = write_motion(obj, motion)
    assert len(result.warnings) == 1 and "cm" in result.warnings[0] and "rest pose" in result.warnings[0]


# --- reading back ------------------------------------------------------------------------

def assert_same_motion(a: Motion, b: Motion, atol=1e-5):
    assert a.num_frames == b.num_frames
    diff = np.minimum(np.abs(a.rotations - b.rotations).max(-1), np.abs(a.rotations + b.rotations).max(-1))
    assert diff.max() < atol
    np.testing.assert_allclose(a.trans, b.trans, atol=atol)


def test_read_motion_inverts_write_motion(empty_scene, beat2):
    set_fps(empty_scene, 30)
    obj = create_armature(beat2.skeleton)
    write_motion(obj, beat2, frame_start=11)
    back = read_motion(obj, beat2.skeleton)
    assert back.fps == 30 and back.skeleton is beat2.skeleton
    assert_same_motion(back, beat2)


def test_read_motion_inverts_write_motion_with_any_rolls(empty_scene):
    motion = synthetic_motion(seed=11)
    set_fps(empty_scene, 30)
    obj = create_armature(motion.skeleton)
    bpy.ops.object.mode_set(mode="EDIT")
    for k, bone in enumerate(obj.data.edit_bones):
        bone.roll = 0.7 * k - 2.0
    bpy.ops.object.mode_set(mode="OBJECT")
    result = write_motion(obj, motion)
    bpy.context.scene.frame_set(1)
    assert_same_motion(read_motion(obj, motion.skeleton, action=result.action), motion)


def test_read_motion_of_hand_keyed_euler_and_axis_angle_bones(empty_scene):
    # Keys made the slow, ordinary way (keyframe_insert, Bezier, every 4 frames, other
    # rotation modes): the Motion read back must pose the skeleton as Blender does on every
    # frame in between too.
    skeleton = synthetic_motion().skeleton
    set_fps(empty_scene, 30)
    obj = create_armature(skeleton)
    rng = np.random.default_rng(2)
    modes = {"Spine": "XZY", "Head": "ZYX", "Arm_L": "AXIS_ANGLE", "Hand_L": "YXZ", "Hips": "QUATERNION"}
    for name, mode in modes.items():
        obj.pose.bones[name].rotation_mode = mode
    for frame in (1, 5, 9, 13):
        for name, mode in modes.items():
            pb = obj.pose.bones[name]
            if mode == "QUATERNION":
                pb.rotation_quaternion = rot.quat_normalize(rng.normal(size=4))
                pb.keyframe_insert("rotation_quaternion", frame=frame)
            elif mode == "AXIS_ANGLE":
                pb.rotation_axis_angle = np.r_[rng.uniform(0.2, 2.0), rng.normal(size=3)]
                pb.keyframe_insert("rotation_axis_angle", frame=frame)
            else:
                pb.rotation_euler = rng.uniform(-1.5, 1.5, size=3)
                pb.keyframe_insert("rotation_euler", frame=frame)
        obj.pose.bones["Hips"].location = rng.normal(scale=0.1, size=3)
        obj.pose.bones["Hips"].keyframe_insert("location", frame=frame)
    motion = read_motion(obj, skeleton)
    assert motion.num_frames == 13
    assert_matches_fk(obj, motion, 1, range(13))


def test_read_motion_needs_an_action_and_the_bones(empty_scene):
    motion = synthetic_motion()
    obj = create_armature(motion.skeleton, name="Still")
    with pytest.raises(SkeletonError, match="'Still' plays no action"):
        read_motion(obj, motion.skeleton)
    with pytest.raises(SkeletonError, match="left_hip"):
        read_motion(obj, smplx_skeleton())
