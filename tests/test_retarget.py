"""Retargeting onto SMPL-X: bone directions agree with the source's (checked by forward
kinematics on both skeletons), identity maps reproduce the motion, bone map files are checked."""

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import (
    CorruptFileError,
    LayoutError,
    MissingFileError,
    SkeletonError,
)
from motion_tokens.core.formats.bvh import read_bvh, write_bvh
from motion_tokens.core.motion import Motion
from motion_tokens.core.retarget import (
    BoneMap,
    bone_map_for,
    load_bone_map,
    read_smplx_motion,
    retarget_to_smplx,
)
from motion_tokens.core.skeleton import (
    SMPLX_JOINT_NAMES,
    SMPLX_PARENTS,
    Skeleton,
    smplx_skeleton,
)

# The mapped SMPL-X bones, joint -> nearest mapped descendant, for a body-only map (no spine2,
# no fingers, jaw or eyes), written out by hand. The first group starts at joints with a single
# mapped descendant; the second at pelvis and spine3, whose alignment is a best fit over three.
SINGLE_CHILD_BONES = [
    ("spine1", "spine3"), ("neck", "head"),
    ("left_collar", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_collar", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_foot"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_foot"),
]
MULTI_CHILD_BONES = [
    ("pelvis", "spine1"), ("pelvis", "left_hip"), ("pelvis", "right_hip"),
    ("spine3", "neck"), ("spine3", "left_collar"), ("spine3", "right_collar"),
]
BODY_JOINTS = sorted({j for bone in SINGLE_CHILD_BONES + MULTI_CHILD_BONES for j in bone}, key=SMPLX_JOINT_NAMES.index)

# The Bandai BVH skeleton (dataset-1 header), centimetres -> metres: every bone runs along its
# joint's local X, so the rest pose lies on its back rather than standing in a T-pose.
BANDAI_JOINTS = [  # name, parent, offset (cm)
    ("joint_Root", None, (0, 0, 0)), ("Hips", "joint_Root", (0.847, 93.984, -4.5)),
    ("Spine", "Hips", (15.7357, 0, 0)), ("Chest", "Spine", (8.98455, -0.406207, 0)),
    ("Neck", "Chest", (16.3773, 0, 0)), ("Head", "Neck", (6.45672, 0, 0)),
    ("Shoulder_L", "Chest", (12.9942, -0.242716, 4.98039)), ("UpperArm_L", "Shoulder_L", (5.34809, 0, 0)),
    ("LowerArm_L", "UpperArm_L", (24.3286, 0, 0)), ("Hand_L", "LowerArm_L", (22.2916, 0, 0)),
    ("Shoulder_R", "Chest", (12.9945, -0.242716, -4.98039)), ("UpperArm_R", "Shoulder_R", (-5.34813, 0, 0)),
    ("LowerArm_R", "UpperArm_R", (-24.3289, 0, 0)), ("Hand_R", "LowerArm_R", (-22.2915, 0, 0)),
    ("UpperLeg_L", "Hips", (-2.19248, -6.46944, 0)), ("LowerLeg_L", "UpperLeg_L", (39.0811, 0, 0)),
    ("Foot_L", "LowerLeg_L", (40.9854, 0, 0)), ("Toes_L", "Foot_L", (11.7543, 0, 0)),
    ("UpperLeg_R", "Hips", (-2.19251, 6.46944, 0)), ("LowerLeg_R", "UpperLeg_R", (-39.0811, 0, -0.04)),
    ("Foot_R", "LowerLeg_R", (-40.9854, 0, 0)), ("Toes_R", "Foot_R", (-11.7543, 0, 0)),
]


def bandai_like_skeleton() -> Skeleton:
    names = [n for n, _, _ in BANDAI_JOINTS]
    parents = [-1 if p is None else names.index(p) for _, p, _ in BANDAI_JOINTS]
    return Skeleton(tuple(names), tuple(parents), np.array([o for _, _, o in BANDAI_JOINTS]) / 100.0)


def random_motion(skel: Skeleton, frames: int, seed: int, spread: float = 0.8) -> Motion:
    rng = np.random.default_rng(seed)
    aa = rng.normal(scale=spread, size=(frames, skel.num_joints, 3))
    trans = rng.normal(scale=0.3, size=(frames, 3))
    return Motion.from_axis_angle(skel, 30.0, aa, trans, name="random")


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def angle_deg(u, v):
    u, v = unit(u), unit(v)  # atan2 keeps precision near zero, where arccos loses half the digits
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), np.sum(u * v, axis=-1)))


def bone_angles(source: Motion, result: Motion, bone_map: BoneMap, bones) -> dict:
    """Per bone, (T,) angles in degrees between the target's and the source's world direction."""
    src_pos = source.positions()
    tgt_pos = result.positions()
    out = {}
    for a, b in bones:
        sa, sb = (source.skeleton.index(bone_map.pairs[j]) for j in (a, b))
        ta, tb = result.skeleton.index(a), result.skeleton.index(b)
        out[(a, b)] = angle_deg(tgt_pos[:, tb] - tgt_pos[:, ta], src_pos[:, sb] - src_pos[:, sa])
    return out


def rest_angles(source: Skeleton, target: Skeleton, bone_map: BoneMap, bones) -> dict:
    """Per bone, the angle between the two skeletons' rest directions after the best rotation of
    each multi-child joint: the residual that no rotation can remove."""
    s, t = source.rest_positions(), target.rest_positions()
    out = {}
    for joint in {a for a, _ in bones}:
        kids = [b for a, b in bones if a == joint]
        ds = unit(np.array([s[source.index(bone_map.pairs[k])] - s[source.index(bone_map.pairs[joint])] for k in kids]))
        dt = unit(np.array([t[target.index(k)] - t[target.index(joint)] for k in kids]))
        u, _, vt = np.linalg.svd(dt.T @ ds)  # Kabsch, written out here independently
        r = vt.T @ np.diag([1, 1, np.linalg.det(vt.T @ u.T)]) @ u.T
        for k, a, b in zip(kids, dt, ds):
            out[(joint, k)] = float(angle_deg(r @ a, b))
    return out


# --- synthetic sources ------------------------------------------------------------------------


def rotated_copy_source(lengths_seed=5):
    """A body-only source whose rest pose is the SMPL-X rest turned (spine along -X, lying on its
    side) with every bone's length changed: the same angles between bones, other sizes."""
    target = smplx_skeleton()
    t_rest = target.rest_positions()
    turn = rot.axis_rotation_matrix("Z", np.pi / 2) @ rot.axis_rotation_matrix("X", 0.3)
    rng = np.random.default_rng(lengths_seed)
    names, parents, pos = [], [], []
    for name in BODY_JOINTS:
        j = SMPLX_JOINT_NAMES.index(name)
        p = SMPLX_PARENTS[j]
        while p >= 0 and SMPLX_JOINT_NAMES[p] not in BODY_JOINTS:
            p = SMPLX_PARENTS[p]  # skip spine2
        names.append("S_" + name)
        if p < 0:
            parents.append(-1)
            pos.append(turn @ t_rest[j] + [0, 0.5, 0])
        else:
            pi = BODY_JOINTS.index(SMPLX_JOINT_NAMES[p])
            parents.append(pi)
            pos.append(pos[pi] + rng.uniform(0.7, 1.3) * (turn @ (t_rest[j] - t_rest[p])))
    pos = np.array(pos)
    offsets = pos.copy()
    offsets[1:] -= pos[parents[1:]]
    skel = Skeleton(tuple(names), tuple(parents), offsets)
    return skel, BoneMap("copy", {n: "S_" + n for n in BODY_JOINTS}), turn


def test_rotated_copy_every_bone_direction_agrees():
    skel, bone_map, _ = rotated_copy_source()
    source = random_motion(skel, 40, seed=1)
    result = retarget_to_smplx(source, bone_map)
    assert result.motion.num_frames == 40 and result.motion.fps == 30.0
    for bone, angles in bone_angles(source, result.motion, bone_map, SINGLE_CHILD_BONES + MULTI_CHILD_BONES).items():
        assert angles.max() < 1e-6, (bone, angles.max())
    assert "spine2" in result.unmapped and "left_index1" in result.unmapped and "pelvis" not in result.unmapped


def test_rotated_copy_twist_follows_the_source():
    """When the rest poses differ by one rotation M, every alignment is M, so each target local
    rotation is M^T L M for the source's local L: twist about the bone included."""
    skel, bone_map, turn = rotated_copy_source()
    source = random_motion(skel, 20, seed=9)
    local_t = rot.quat_to_matrix(retarget_to_smplx(source, bone_map).motion.rotations)
    local_s = rot.quat_to_matrix(source.rotations)
    for name in BODY_JOINTS:
        expected = local_s[:, skel.index("S_" + name)] @ turn
        if name != "pelvis":
            expected = turn.T @ expected
        np.testing.assert_allclose(local_t[:, SMPLX_JOINT_NAMES.index(name)], expected, atol=1e-9, err_msg=name)


def test_reference_pose_in_t_pose_maps_onto_the_rest():
    """A source whose reference pose is the T-pose, with its joint frames twisted about their
    bones: in that pose the target must be at rest (identity everywhere), whatever the twists."""
    skel, bone_map, turn = rotated_copy_source()
    rest = skel.rest_positions()
    rng = np.random.default_rng(11)
    glob = np.empty((skel.num_joints, 3, 3))
    for j in range(skel.num_joints):
        glob[j] = turn.T
        kids = skel.children(j)
        if len(kids) == 1:  # twist about the joint's own bone: its direction stays put
            axis = unit(rest[kids[0]] - rest[j])
            glob[j] = turn.T @ rot.axis_angle_to_matrix(axis * rng.uniform(-2.5, 2.5))
    local = np.array([glob[j] if p < 0 else glob[p].T @ glob[j] for j, p in enumerate(skel.parents)])
    reference = rot.matrix_to_quat(local)
    twisted = BoneMap("twisted", bone_map.pairs, reference={n: tuple(q) for n, q in zip(skel.names, reference)})
    frames = np.stack([reference, random_motion(skel, 1, seed=12).rotations[0]])
    source = Motion(skel, 30.0, frames, np.zeros((2, 3)))
    result = retarget_to_smplx(source, twisted).motion
    np.testing.assert_allclose(np.abs(result.rotations[0, :, 0]), 1.0, atol=1e-9)  # identity
    for bone, angles in bone_angles(source, result, twisted, SINGLE_CHILD_BONES + MULTI_CHILD_BONES).items():
        assert angles.max() < 1e-6, bone
    # Without the reference pose the same frame comes out twisted.
    plain = retarget_to_smplx(source, bone_map).motion
    assert np.degrees(rot.quat_angle(plain.rotations[0])).max() > 30


def test_source_at_rest_gives_its_rest_directions():
    skel, bone_map, turn = rotated_copy_source()
    rest = Motion(skel, 30.0, np.tile([1.0, 0, 0, 0], (1, skel.num_joints, 1)), np.zeros((1, 3)))
    result = retarget_to_smplx(rest, bone_map).motion
    pos = result.positions()[0]
    t_rest = smplx_skeleton().rest_positions()
    for a, b in SINGLE_CHILD_BONES + MULTI_CHILD_BONES:
        ia, ib = SMPLX_JOINT_NAMES.index(a), SMPLX_JOINT_NAMES.index(b)
        np.testing.assert_allclose(unit(pos[ib] - pos[ia]), unit(turn @ (t_rest[ib] - t_rest[ia])), atol=1e-9)


def test_root_path_scaled_by_leg_length():
    skel, bone_map, _ = rotated_copy_source()
    source = random_motion(skel, 10, seed=2)
    result = retarget_to_smplx(source, bone_map).motion
    s, t = skel.rest_positions(), smplx_skeleton().rest_positions()

    def leg(pos, index, side):
        h, k, a = (pos[index(f"{side}_{j}")] for j in ("hip", "knee", "ankle"))
        return np.linalg.norm(k - h) + np.linalg.norm(a - k)

    ratio = np.mean([leg(t, SMPLX_JOINT_NAMES.index, side) / leg(s, lambda n: skel.index("S_" + n), side)
                     for side in ("left", "right")])
    np.testing.assert_allclose(result.root_positions(), ratio * source.positions()[:, 0], atol=1e-12)


def test_bandai_like_chain_along_x():
    """The Bandai skeleton's rest has every bone along local X (not a T-pose)."""
    skel = bandai_like_skeleton()
    bone_map = load_bone_map("bandai")
    source = random_motion(skel, 30, seed=3, spread=0.6)
    result = retarget_to_smplx(source, bone_map)
    angles = bone_angles(source, result.motion, bone_map, SINGLE_CHILD_BONES + MULTI_CHILD_BONES)
    for bone in SINGLE_CHILD_BONES:
        assert angles[bone].max() < 1e-6, (bone, angles[bone].max())
    # Multi-child joints: the residual of the best rest fit, the same in every frame.
    residual = rest_angles(skel, smplx_skeleton(), bone_map, MULTI_CHILD_BONES)
    for bone in MULTI_CHILD_BONES:
        np.testing.assert_allclose(angles[bone], residual[bone], atol=1e-6, err_msg=str(bone))
    # joint_Root is the source's root but not mapped: the target root follows Hips
    assert result.motion.rotations.shape == (30, 55, 4)


def test_identity_map_reproduces_an_smplx_motion():
    target = smplx_skeleton()
    source = random_motion(target, 25, seed=4)
    source.expressions = np.random.default_rng(0).normal(size=(25, 10))
    result = retarget_to_smplx(source, load_bone_map("smplx"))
    assert result.unmapped == [] and result.warnings == []
    np.testing.assert_allclose(rot.quat_to_matrix(result.motion.rotations), rot.quat_to_matrix(source.rotations), atol=1e-10)
    np.testing.assert_allclose(result.motion.trans, source.trans, atol=1e-12)
    np.testing.assert_allclose(result.motion.expressions, source.expressions)


def test_identity_map_onto_a_bigger_body_scales_positions():
    source = random_motion(smplx_skeleton(), 12, seed=6)
    small = smplx_skeleton()
    big = Skeleton(small.names, small.parents, small.offsets * 1.2)
    result = retarget_to_smplx(source, load_bone_map("smplx"), target=big).motion
    np.testing.assert_allclose(result.positions(), 1.2 * source.positions(), atol=1e-10)


def test_unmapped_joints_keep_identity_local_rotation():
    skel = bandai_like_skeleton()
    result = retarget_to_smplx(random_motion(skel, 5, seed=7), load_bone_map("bandai"))
    for name in ("spine2", "jaw", "left_eye_smplhf", "right_thumb3", "left_index2"):
        assert name in result.unmapped
        q = result.motion.rotations[:, SMPLX_JOINT_NAMES.index(name)]
        np.testing.assert_allclose(np.abs(q[:, 0]), 1.0, atol=1e-12)


# --- bone maps --------------------------------------------------------------------------------


def test_shipped_bandai_map():
    bone_map = load_bone_map("bandai")
    assert bone_map.pairs["left_shoulder"] == "UpperArm_L"  # SMPL-X shoulder is the upper arm
    assert bone_map.pairs["left_collar"] == "Shoulder_L"
    assert bone_map.pairs["pelvis"] == "Hips"
    assert len(bone_map.pairs) == 21


def test_bone_map_for_picks_by_names():
    assert bone_map_for(bandai_like_skeleton().names).name == "bandai"
    assert bone_map_for(SMPLX_JOINT_NAMES).name == "smplx"
    names = [n for n in bandai_like_skeleton().names if n not in ("Toes_L", "Head")]
    with pytest.raises(SkeletonError) as err:
        bone_map_for(names)
    assert "Toes_L" in str(err.value) and "Head" in str(err.value) and "bandai" in str(err.value)


def test_user_map_file(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "mine", "pairs": {"pelvis": "Hips", "spine1": "Spine"}}))
    bone_map = load_bone_map(path)
    assert bone_map.name == "mine" and bone_map.pairs == {"pelvis": "Hips", "spine1": "Spine"}
    assert bone_map.path == str(path)


@pytest.mark.parametrize(
    "content, error, words",
    [
        ('{"name": "x", "pairs": {"pelvis": "Hips"', CorruptFileError, "not valid JSON"),
        ("[1, 2, 3]", LayoutError, '"pairs"'),
        ('{"name": "x"}', LayoutError, '"pairs"'),
        ('{"name": "x", "pairs": {}}', LayoutError, '"pairs"'),
        ('{"name": "x", "pairs": {"pelvis": 3}}', LayoutError, "non-empty strings"),
        ('{"name": "x", "pairs": {"pelvis": "Hips", "left_hand": "Hand_L"}}', LayoutError, "left_hand"),
        ('{"name": "x", "pairs": {"pelvis": "Hips", "spine1": "Hips"}}', LayoutError, "mapped twice"),
    ],
)
def test_malformed_map_files(tmp_path, content, error, words):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(error) as err:
        load_bone_map(path)
    assert str(path) in str(err.value) and words in str(err.value)


def test_missing_and_unknown_maps(tmp_path):
    with pytest.raises(MissingFileError, match="nothere.json"):
        load_bone_map(tmp_path / "nothere.json")
    with pytest.raises(MissingFileError) as err:
        load_bone_map("no_such_rig")
    assert "no_such_rig" in str(err.value) and "bandai" in str(err.value)
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(CorruptFileError, match="empty"):
        load_bone_map(tmp_path / "empty.json")


def test_retarget_refuses_a_map_that_does_not_fit():
    source = random_motion(bandai_like_skeleton(), 3, seed=8)
    with pytest.raises(SkeletonError) as err:
        retarget_to_smplx(source, BoneMap("m", {"pelvis": "Hips", "spine1": "Backbone"}))
    assert "Backbone" in str(err.value) and "'m'" in str(err.value)
    with pytest.raises(SkeletonError, match="pelvis"):
        retarget_to_smplx(source, BoneMap("m", {"spine1": "Spine"}))


# --- real Bandai takes ------------------------------------------------------------------------

EXCERPT = Path(__file__).resolve().parents[1] / "demo" / "bandai_excerpt.bvh"


def retargeted_bandai(path):
    source = read_bvh(path, units="cm")
    bone_map = bone_map_for(source.skeleton.names)
    assert bone_map.name == "bandai"
    return source, bone_map, retarget_to_smplx(source, bone_map)


def check_bone_directions(source, bone_map, result):
    frames = np.linspace(0, source.num_frames - 1, 6).astype(int)
    angles = bone_angles(source, result.motion, bone_map, SINGLE_CHILD_BONES + MULTI_CHILD_BONES)
    residual = rest_angles(source.skeleton, result.motion.skeleton, bone_map, MULTI_CHILD_BONES)
    for bone in SINGLE_CHILD_BONES:
        assert angles[bone][frames].max() < 0.01, (bone, angles[bone][frames])
    for bone in MULTI_CHILD_BONES:
        # The best fit at pelvis and chest leaves a fixed residual: the skeletons' own shapes.
        np.testing.assert_allclose(angles[bone][frames], residual[bone], atol=1e-6, err_msg=str(bone))
        assert residual[bone] < 3.0, (bone, residual[bone])


def test_bandai_take_bone_directions(data_dir):
    path = data_dir / "bandai" / "dataset-1" / "dataset-1_walk_normal_001.bvh"
    source, bone_map, result = retargeted_bandai(path)
    assert result.motion.num_frames == source.num_frames and result.motion.fps == 30.0
    assert result.warnings == []
    assert set(result.unmapped) == set(SMPLX_JOINT_NAMES) - set(bone_map.pairs)
    check_bone_directions(source, bone_map, result)


def test_bandai_excerpt_bone_directions():
    if not EXCERPT.is_file():
        pytest.skip(f"{EXCERPT} is not in this checkout")
    check_bone_directions(*retargeted_bandai(EXCERPT))


def test_bandai_twists_are_natural(data_dir):
    """Rest alignment alone turns SMPL-X spine1/spine3 by +-90 degrees about the spine and
    flips a leg; with the map's reference pose the local rotations are those of a person:
    small spine twists, knees and elbows bending about the axes BEAT2's own SMPL-X data uses."""
    beat2 = np.load(data_dir / "beat2" / "2_scott_0_1_1.npz")["poses"].reshape(-1, 55, 3)
    walk = data_dir / "bandai" / "dataset-1" / "dataset-1_walk_normal_001.bvh"
    wave = data_dir / "bandai" / "dataset-2" / "dataset-2_wave-both-hands_normal_001.bvh"
    for path, limb, chain, axis in [(walk, "knee", ("UpperLeg", "LowerLeg", "Foot"), 0),
                                    (wave, "elbow", ("UpperArm", "LowerArm", "Hand"), 1)]:
        source, bone_map, result = retargeted_bandai(path)
        aa = result.motion.axis_angle()
        angle = np.degrees(np.linalg.norm(aa, axis=-1))
        for name in ("spine1", "spine3", "neck", "head", "left_collar", "right_collar"):
            assert angle[:, SMPLX_JOINT_NAMES.index(name)].max() < 30.0, (path.name, name)
        pos = source.positions()
        for side, s in (("left", "L"), ("right", "R")):
            a, b, c = (pos[:, source.skeleton.index(f"{j}_{s}")] for j in chain)
            bent = angle_deg(b - a, c - b) > 30  # bent by the source's own joint positions
            assert bent.sum() > 10, (path.name, side)
            j = SMPLX_JOINT_NAMES.index(f"{side}_{limb}")
            rotation = aa[bent, j]
            # The bend is about one axis, X for knees (the shin swings backwards), Y for
            # elbows, in the direction BEAT2's SMPL-X data bends them.
            assert (np.abs(rotation[:, axis]) > 0.9 * np.linalg.norm(rotation, axis=1)).all(), (limb, side)
            expected = 1.0 if limb == "knee" else np.sign(np.median(beat2[:, j, axis]))
            assert (np.sign(rotation[:, axis]) == expected).all(), (limb, side)


def test_bandai_walk_goes_forward_on_the_floor(data_dir):
    source, bone_map, result = retargeted_bandai(data_dir / "bandai" / "dataset-1" / "dataset-1_walk_normal_001.bvh")
    motion = result.motion
    glob, pos = motion.forward_kinematics()
    facing = glob[:, 0] @ np.array([0.0, 0, 1])  # SMPL-X faces +Z
    left = glob[:, 0] @ np.array([1.0, 0, 0])
    step = pos[-1, 0] - pos[0, 0]
    assert np.linalg.norm(step[[0, 2]]) > 1.0
    assert np.mean(facing, axis=0) @ step > 0.8 * np.linalg.norm(step)  # walks the way it faces
    hips = pos[:, SMPLX_JOINT_NAMES.index("left_hip")] - pos[:, SMPLX_JOINT_NAMES.index("right_hip")]
    assert (np.sum(hips * left, axis=1) > 0).all()  # its left hip on its left
    # Same leg lengths, same pelvis: the feet land where the source's do.
    src_pos = source.positions()
    for side, s in (("left", "L"), ("right", "R")):
        src_ankle = src_pos[:, source.skeleton.index(f"Foot_{s}"), 1]
        np.testing.assert_allclose(pos[:, SMPLX_JOINT_NAMES.index(f"{side}_ankle"), 1], src_ankle, atol=0.01)
    ankles = [SMPLX_JOINT_NAMES.index("left_ankle"), SMPLX_JOINT_NAMES.index("right_ankle")]
    assert 0.07 < pos[:, ankles, 1].min() < 0.15  # an ankle's height above the sole
    # A bigger body takes longer strides and keeps its feet at its own ankle height.
    small = motion.skeleton
    big = Skeleton(small.names, small.parents, small.offsets * 1.1)
    big_pos = retarget_to_smplx(source, bone_map, target=big).motion.positions()
    np.testing.assert_allclose(big_pos, 1.1 * pos, atol=1e-9)


def test_reference_pose_must_fit_the_source(tmp_path):
    bone_map = BoneMap("m", {"pelvis": "Hips"}, reference={"Backbone": (1.0, 0, 0, 0)})
    with pytest.raises(SkeletonError, match="Backbone"):
        retarget_to_smplx(random_motion(bandai_like_skeleton(), 2, seed=1), bone_map)
    path = tmp_path / "bad_reference.json"
    path.write_text(json.dumps({"pairs": {"pelvis": "Hips"}, "source_reference_pose": {"rotations": {"Hips": [2, 0, 0, 0]}}}))
    with pytest.raises(LayoutError) as err:
        load_bone_map(path)
    assert str(path) in str(err.value) and "unit quaternion" in str(err.value)


# --- read_smplx_motion: any motion file as SMPL-X, its notes handed to the caller -------------

BANDAI_EXCERPT = Path(__file__).resolve().parents[1] / "demo" / "bandai_excerpt.bvh"


def test_read_smplx_motion_retargets_a_bvh_onto_smplx():
    m = read_smplx_motion(BANDAI_EXCERPT, 30.0)
    assert m.skeleton.names == SMPLX_JOINT_NAMES
    assert m.num_frames == 60 and m.fps == 30.0
    assert read_smplx_motion(BANDAI_EXCERPT, 15.0).num_frames == 30


def test_read_smplx_motion_refuses_a_bvh_no_shipped_map_fits(tmp_path):
    chain = Skeleton(("root", "tip"), (-1, 0), np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    path = write_bvh(tmp_path / "chain.bvh", random_motion(chain, 2, seed=0), units="m")
    with pytest.raises(SkeletonError, match="no shipped bone map fits"):
        read_smplx_motion(path, None)


def test_read_smplx_motion_of_a_bandai_bvh_returns_its_notes(caplog):
    warnings = []
    with caplog.at_level(logging.INFO, logger="motion_tokens"):
        read_smplx_motion(BANDAI_EXCERPT, 30.0, warnings=warnings)
    assert caplog.text == ""
    assert "units: the rest skeleton spans 184.1 units, read as cm" in warnings  # the reader's
    assert any(w.startswith("joint 'Hips' moves") for w in warnings)
    # Bandai has no spine2, fingers, jaw or eyes: those SMPL-X joints stay at rest.
    kept = [w for w in warnings if w.startswith("SMPL-X joints kept at rest: ")]
    assert len(kept) == 1 and "spine2, jaw, " in kept[0] and kept[0].endswith("right_thumb3")


def test_read_smplx_motion_logs_its_notes_without_a_list(caplog):
    with caplog.at_level(logging.INFO, logger="motion_tokens"):
        read_smplx_motion(BANDAI_EXCERPT, 30.0)
    assert "read as cm" in caplog.text and "SMPL-X joints kept at rest" in caplog.text


def test_read_smplx_motion_hands_on_the_retargeting_warnings(tmp_path):
    # An SMPL-X motion whose left eye sits on the head: that bone has no length in the source.
    source = random_motion(smplx_skeleton(), 5, seed=2)
    offsets = source.skeleton.offsets.copy()
    offsets[SMPLX_JOINT_NAMES.index("left_eye_smplhf")] = 0.0
    source = dataclasses.replace(source, skeleton=Skeleton(source.skeleton.names, source.skeleton.parents, offsets))
    path = write_bvh(tmp_path / "smplx_names.bvh", source)
    warnings = []
    m = read_smplx_motion(path, None, warnings=warnings)
    assert m.skeleton.names == SMPLX_JOINT_NAMES and m.num_frames == 5
    assert "bone head -> left_eye_smplhf has no length in the source rest pose; it does not steer the alignment" in warnings


def test_read_smplx_motion_reads_an_npz_as_it_is():
    npz = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"
    warnings = []
    m = read_smplx_motion(npz, None, warnings=warnings)
    assert m.skeleton.names == SMPLX_JOINT_NAMES and warnings == []
