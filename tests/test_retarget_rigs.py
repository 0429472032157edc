"""Retargeting SMPL-X motion onto rigs (core only): bone directions checked by forward kinematics
on both skeletons against bone lists written out here, spine chains against a bound derived
by hand, rigid metacarpals and twist segments, the root path, rigs missing bones."""

import json
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import SkeletonError
from motion_tokens.core.formats import read_bvh, read_motion
from motion_tokens.core.retarget import (
    BoneMap,
    bone_map_for,
    match_bones,
    partial_rotations,
    read_smplx_motion,
    retarget,
    rig_layout,
)
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, Skeleton

DEMO = Path(__file__).resolve().parents[1] / "demo"
FINGERS = ("index", "middle", "ring", "pinky")


@pytest.fixture(scope="module")
def beat2():
    return read_motion(DEMO / "beat2_excerpt.npz")


def unit(v):
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def angle_deg(u, v):
    u, v = unit(u), unit(v)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), np.sum(u * v, axis=-1)))


def smplx_index(name):
    return SMPLX_JOINT_NAMES.index(name)


def bone_errors(source, result, bones):
    """{(a, b): (T,) angle in degrees between target bone a->b and source bone c->d}."""
    sp, tp = source.positions(), result.positions()
    sk = result.skeleton
    return {
        (a, b): angle_deg(tp[:, sk.index(b)] - tp[:, sk.index(a)], sp[:, smplx_index(d)] - sp[:, smplx_index(c)])
        for a, b, c, d in bones
    }


# MetaHuman bones that follow one SMPL-X joint fully, to the next joint along: (a, b) on the
# MetaHuman, (c, d) the SMPL-X bone. These are matched exactly in every frame.
METAHUMAN_DIRECT = [("neck_02", "head", "neck", "head")]
# Bones whose direction comes from a best fit over several ends (the hand: to the five finger
# roots) or that move rigidly with such a bone (metacarpals). The MetaHuman hand is a turned
# copy of the SMPL-X hand, so the fit is exact up to the layout file's micrometre rounding:
# 1e-6 m over the 2-9 cm from wrist to knuckles, below 0.003 degrees.
FIT_TOLERANCE = 0.003  # degrees
METAHUMAN_FITTED = []
for _side, _s in (("left", "l"), ("right", "r")):
    METAHUMAN_DIRECT += [
        (f"clavicle_{_s}", f"upperarm_{_s}", f"{_side}_collar", f"{_side}_shoulder"),
        (f"upperarm_{_s}", f"lowerarm_{_s}", f"{_side}_shoulder", f"{_side}_elbow"),
        (f"lowerarm_{_s}", f"hand_{_s}", f"{_side}_elbow", f"{_side}_wrist"),
        (f"thigh_{_s}", f"calf_{_s}", f"{_side}_hip", f"{_side}_knee"),
        (f"calf_{_s}", f"foot_{_s}", f"{_side}_knee", f"{_side}_ankle"),
        (f"foot_{_s}", f"ball_{_s}", f"{_side}_ankle", f"{_side}_foot"),
        (f"thumb_01_{_s}", f"thumb_02_{_s}", f"{_side}_thumb1", f"{_side}_thumb2"),
        (f"thumb_02_{_s}", f"thumb_03_{_s}", f"{_side}_thumb2", f"{_side}_thumb3"),
    ]
    METAHUMAN_FITTED.append((f"hand_{_s}", f"thumb_01_{_s}", f"{_side}_wrist", f"{_side}_thumb1"))
    for _f in FINGERS:
        METAHUMAN_FITTED += [
            (f"hand_{_s}", f"{_f}_01_{_s}", f"{_side}_wrist", f"{_side}_{_f}1"),
            (f"{_f}_metacarpal_{_s}", f"{_f}_01_{_s}", f"{_side}_wrist", f"{_side}_{_f}1"),
        ]
        METAHUMAN_DIRECT += [
            (f"{_f}_01_{_s}", f"{_f}_02_{_s}", f"{_side}_{_f}1", f"{_side}_{_f}2"),
            (f"{_f}_02_{_s}", f"{_f}_03_{_s}", f"{_side}_{_f}2", f"{_side}_{_f}3"),
        ]


def kabsch(a, b):
    """The rotation R minimising sum |R a_i - b_i|^2 (rows), written out here independently."""
    u, _, vt = np.linalg.svd(a.T @ b)
    return vt.T @ np.diag([1, 1, np.linalg.det(vt.T @ u.T)]) @ u.T


# The ends the MetaHuman spine bones are aligned by at rest (their nearest mapped descendants
# following another SMPL-X joint), each with its SMPL-X joint.
SPINE_ENDS = {
    "spine_01": [("spine_02", "spine2")],
    "spine_02": [("spine_04", "spine3")],
    "spine_03": [("spine_04", "spine3")],
    "spine_04": [("neck_01", "neck"), ("clavicle_l", "left_collar"), ("clavicle_r", "right_collar")],
    "spine_05": [("neck_01", "neck"), ("clavicle_l", "left_collar"), ("clavicle_r", "right_collar")],
    "neck_01": [("head", "head")],
}

# The MetaHuman spine and neck: (bone a -> b, the SMPL-X joint it follows, the fraction, and the
# SMPL-X bone of that joint), the fractions being the map's m k / n rule written out.
METAHUMAN_CHAIN = [
    ("spine_01", "spine_02", "spine1", 0.6, "spine2"),
    ("spine_02", "spine_03", "spine2", 0.2, "spine3"),
    ("spine_03", "spine_04", "spine2", 0.8, "spine3"),
    ("spine_04", "spine_05", "spine3", 0.4, "neck"),
    ("spine_05", "neck_01", "spine3", 1.0, "neck"),
    ("neck_01", "neck_02", "neck", 0.5, "head"),
]


def test_partial_rotations():
    q = rot.axis_angle_to_quat(np.array([[0, 0, np.pi / 2], [0.3, -0.2, 0.1]]))
    np.testing.assert_allclose(partial_rotations(q, 0.5)[0], rot.axis_rotation_matrix("Z", np.pi / 4), atol=1e-12)
    np.testing.assert_allclose(partial_rotations(q, 1.0), rot.quat_to_matrix(q), atol=1e-12)
    # -q is the same rotation: the fraction is still taken along the short way round.
    np.testing.assert_allclose(partial_rotations(-q, 0.25), partial_rotations(q, 0.25), atol=1e-12)
    half = partial_rotations(q[1], 0.5)
    np.testing.assert_allclose(half @ half, rot.quat_to_matrix(q[1]), atol=1e-12)


def test_onto_smplx_layout_is_the_identity(beat2):
    layout = rig_layout("smplx")
    result = retarget(beat2, layout.bone_map, layout.skeleton)
    assert result.unmapped == [] and result.warnings == []
    np.testing.assert_allclose(rot.quat_to_matrix(result.motion.rotations), rot.quat_to_matrix(beat2.rotations),
                               atol=1e-9)
    np.testing.assert_allclose(result.motion.positions(), beat2.positions(), atol=1e-9)


def test_metahuman_direct_bones_follow_exactly(beat2):
    layout = rig_layout("metahuman")
    result = retarget(beat2, layout.bone_map, layout.skeleton)
    assert result.warnings == [] and result.unmapped == ["root"]
    for bone, err in bone_errors(beat2, result.motion, METAHUMAN_DIRECT).items():
        assert err.max() < 1e-6, (bone, err.max())


def spine_rest_residual(skeleton, smplx, bone, child, joint, end):
    """Degrees between a spine bone and its SMPL-X bone when the source is at rest: the
    alignment maps the bone's ends onto SMPL-X's (one end: exactly; several: best fit), so
    what is left is the angle between the bone and its aligned ends' fit."""
    t, s = skeleton.rest_positions(), smplx.rest_positions()
    own = t[skeleton.index(child)] - t[skeleton.index(bone)]
    d_t = unit(np.array([t[skeleton.index(c)] - t[skeleton.index(bone)] for c, _ in SPINE_ENDS[bone]]))
    d_s = unit(np.array([s[smplx_index(j)] - s[smplx_index(joint)] for _, j in SPINE_ENDS[bone]]))
    if len(d_t) == 1:  # the smallest turn maps the end exactly; the bone is off by its angle to it
        return float(angle_deg(own, d_t[0]))
    return float(angle_deg(kabsch(d_t, d_s) @ own, s[smplx_index(end)] - s[smplx_index(joint)]))


def test_metahuman_spine_spreads_the_bend(beat2):
    """A bone following joint s with fraction f turns with V = G_parent(s) L_s^f where the
    source bone turns with G_parent(s) L_s. At rest they are r apart (`spine_rest_residual`),
    so in any frame at most r + (1 - f) |L_s| (L_s^f turns both alike, and L_s^(1 - f) turns
    the source bone by at most its angle); exactly together for the chain's last bone (f = 1,
    r = 0)."""
    layout = rig_layout("metahuman")
    motion = retarget(beat2, layout.bone_map, layout.skeleton).motion
    local_angle = np.degrees(rot.quat_angle(beat2.rotations))
    sp, tp = beat2.positions(), motion.positions()
    sk = motion.skeleton
    spread = []
    for a, b, joint, fraction, end in METAHUMAN_CHAIN:
        assert layout.bone_map.fraction(a) == fraction and layout.bone_map.pairs[a] == joint
        err = angle_deg(tp[:, sk.index(b)] - tp[:, sk.index(a)], sp[:, smplx_index(end)] - sp[:, smplx_index(joint)])
        residual = spine_rest_residual(layout.skeleton, beat2.skeleton, a, b, joint, end)
        bound = residual + (1 - fraction) * local_angle[:, smplx_index(joint)]
        assert (err <= bound + 1e-6).all(), (a, (err - bound).max())
        if fraction == 1.0:
            assert err.max() < 1e-6
        spread.append(np.degrees(rot.quat_angle(motion.rotations[:, sk.index(a)])))
    # The bend is shared: each spine bone turns less than the source's three joints together.
    total = np.degrees(rot.quat_angle(rot.quat_multiply(
        rot.quat_multiply(beat2.rotations[:, smplx_index("spine1")], beat2.rotations[:, smplx_index("spine2")]),
        beat2.rotations[:, smplx_index("spine3")])))
    assert (np.max(spread[:5], axis=0) <= total + 1e-6).all()


def test_metacarpals_and_twist_segments_move_rigidly(beat2):
    for name, bones in (("metahuman", [f"{f}_metacarpal_{s}" for f in FINGERS for s in "lr"]),
                        ("rigify", ["DEF-upper_arm.L.001", "DEF-forearm.R.001", "DEF-thigh.L.001", "DEF-shin.R.001"]
                         + [f"DEF-palm.0{k}.L" for k in range(1, 5)])):
        layout = rig_layout(name)
        motion = retarget(beat2, layout.bone_map, layout.skeleton).motion
        for bone in bones:
            angle = rot.quat_angle(motion.rotations[:, layout.skeleton.index(bone)])
            assert angle.max() < 1e-6, (name, bone)


def test_hand_is_aligned_by_the_finger_roots(beat2):
    """The hand follows the wrist and points at the finger roots beyond the metacarpals, which
    move rigidly with it: wrist-to-knuckle directions agree with SMPL-X's."""
    layout = rig_layout("metahuman")
    motion = retarget(beat2, layout.bone_map, layout.skeleton).motion
    for bone, err in bone_errors(beat2, motion, METAHUMAN_FITTED).items():
        assert err.max() < FIT_TOLERANCE, (bone, err.max())


def test_unmapped_bones_keep_their_rest_pose(beat2):
    mixamo = rig_layout("mixamo")
    motion = retarget(beat2, mixamo.bone_map, mixamo.skeleton).motion
    for bone in ("mixamorig:HeadTop_End", "mixamorig:LeftHandIndex4", "mixamorig:RightToe_End"):
        assert rot.quat_angle(motion.rotations[:, mixamo.skeleton.index(bone)]).max() < 1e-12
    metahuman = rig_layout("metahuman")
    motion = retarget(beat2, metahuman.bone_map, metahuman.skeleton).motion
    assert rot.quat_angle(motion.rotations[:, 0]).max() < 1e-12  # root: no rotation


def test_pelvis_carries_the_path_scaled_by_leg_length(beat2):
    """MetaHuman's root is not mapped: the pelvis follows SMPL-X's, scaled by the leg ratio,
    and the root moves under it. On a 1.1x copy of the layout the ratio is 1.1."""
    layout = rig_layout("metahuman")
    big = Skeleton(layout.skeleton.names, layout.skeleton.parents, layout.skeleton.offsets * 1.1)
    sp = beat2.positions()
    for skeleton, scale in ((layout.skeleton, None), (big, 1.1)):
        rest = skeleton.rest_positions()
        if scale is None:  # the legs' own ratio, from the rest joints
            smplx = beat2.skeleton.rest_positions()
            leg = [np.linalg.norm(rest[skeleton.index(b)] - rest[skeleton.index(a)])
                   for a, b in (("thigh_l", "calf_l"), ("calf_l", "foot_l"))]
            ref = [np.linalg.norm(smplx[smplx_index(b)] - smplx[smplx_index(a)])
                   for a, b in (("left_hip", "left_knee"), ("left_knee", "left_ankle"))]
            scale = sum(leg) / sum(ref)
        motion = retarget(beat2, layout.bone_map, skeleton).motion
        pos = motion.positions()
        np.testing.assert_allclose(pos[:, skeleton.index("pelvis")], scale * sp[:, 0], atol=1e-9)
        offset = np.broadcast_to(rest[0] - rest[skeleton.index("pelvis")], pos[:, 0].shape)
        np.testing.assert_allclose(pos[:, 0] - pos[:, skeleton.index("pelvis")], offset, atol=1e-9)


def test_rigify_leg_scale_uses_the_first_segment(beat2):
    layout = rig_layout("rigify")
    motion = retarget(beat2, layout.bone_map, layout.skeleton).motion
    rest = layout.skeleton.rest_positions()
    smplx = beat2.skeleton.rest_positions()

    def leg(pos, index, names):
        return sum(np.linalg.norm(pos[index(b)] - pos[index(a)]) for a, b in zip(names, names[1:]))

    scale = np.mean([leg(rest, layout.skeleton.index, [f"DEF-thigh.{S}", f"DEF-shin.{S}", f"DEF-foot.{S}"])
                     / leg(smplx, smplx_index, [f"{side}_hip", f"{side}_knee", f"{side}_ankle"])
                     for side, S in (("left", "L"), ("right", "R"))])
    hips = motion.positions()[:, layout.skeleton.index("DEF-spine")]
    np.testing.assert_allclose(hips, scale * beat2.positions()[:, 0], atol=1e-9)


def test_rig_missing_bones_gets_the_motion_on_the_bones_it_has(beat2):
    """A MetaHuman-named skeleton without fingers and neck_02, with a prop bone of its own."""
    full = rig_layout("metahuman").skeleton
    keep = [j for j, n in enumerate(full.names) if n != "neck_02" and not any(f in n for f in FINGERS + ("thumb",))]
    names = [full.names[j] for j in keep] + ["prop_r"]
    rest = full.rest_positions()
    index = {n: i for i, n in enumerate(names)}
    parents = []
    for j in keep:
        p = full.parents[j]
        while p >= 0 and full.names[p] not in index:
            p = full.parents[p]  # head hangs from neck_01 now
        parents.append(-1 if p < 0 else index[full.names[p]])
    parents.append(index["hand_r"])
    heads = np.concatenate([rest[keep], rest[[full.index("hand_r")]] + [0, 0, 0.1]])
    offsets = heads.copy()
    offsets[1:] -= heads[parents[1:]]
    skeleton = Skeleton(tuple(names), tuple(parents), offsets)

    match = match_bones(rig_layout("metahuman"), names)
    assert "neck_02" in match.missing and "index_01_l" in match.missing and "upperarm_l" not in match.missing
    result = retarget(beat2, match.bone_map, skeleton)
    assert set(result.unmapped) == {"root", "prop_r"}
    bones = [b for b in METAHUMAN_DIRECT if b[0] in index and b[1] in index]
    assert len(bones) == 12  # arms, legs and clavicles of both sides
    for bone, err in bone_errors(beat2, result.motion, bones).items():
        assert err.max() < 1e-6, bone
    # The prop keeps its rest pose relative to the hand.
    assert rot.quat_angle(result.motion.rotations[:, index["prop_r"]]).max() < 1e-12


def test_bandai_through_smplx_onto_metahuman():
    """Bandai BVH -> SMPL-X (read_smplx_motion) -> MetaHuman: the arms and legs point where the Bandai
    performer's do."""
    bvh = DEMO / "bandai_excerpt.bvh"
    smplx = read_smplx_motion(bvh, None)
    source = read_bvh(bvh)
    layout = rig_layout("metahuman")
    motion = retarget(smplx, layout.bone_map, layout.skeleton).motion
    sp, tp = source.positions(), motion.positions()
    for a, b, c, d in (("upperarm_l", "lowerarm_l", "UpperArm_L", "LowerArm_L"),
                       ("lowerarm_r", "hand_r", "LowerArm_R", "Hand_R"),
                       ("thigh_l", "calf_l", "UpperLeg_L", "LowerLeg_L"), ("calf_r", "foot_r", "LowerLeg_R", "Foot_R")):
        err = angle_deg(tp[:, layout.skeleton.index(b)] - tp[:, layout.skeleton.index(a)],
                        sp[:, source.skeleton.index(d)] - sp[:, source.skeleton.index(c)])
        assert err.max() < 1e-4, (a, err.max())


def test_rig_maps_are_not_used_to_read_bvh():
    with pytest.raises(SkeletonError) as info:
        bone_map_for(rig_layout("mixamo").skeleton.names)
    # The maps onto SMPL-X are the shipped map files that do not map from SMPL-X (read here from
    # the JSON itself); the rig maps (metahuman, mixamo, rigify: "source": "smplx") are left out.
    maps = Path(__file__).resolve().parents[1] / "core" / "retarget" / "maps"
    onto = sorted(json.loads(f.read_text())["name"] for f in maps.glob("*.json")
                  if json.loads(f.read_text()).get("source") != "smplx")
    assert {"bandai", "smplx"} <= set(onto) and not {"metahuman", "mixamo", "rigify"} & set(onto)
    assert f"maps onto SMPL-X: {', '.join(onto)})" in str(info.value)


def test_retarget_refuses_maps_that_do_not_fit(beat2):
    layout = rig_layout("metahuman")
    with pytest.raises(SkeletonError) as info:
        retarget(beat2, BoneMap("m", {"pelvis": "pelvis", "tail_01": "spine1"}, source="smplx"), layout.skeleton)
    assert "tail_01" in str(info.value) and "'m'" in str(info.value)
    with pytest.raises(SkeletonError, match="maps no joint"):
        retarget(beat2, BoneMap("m", {}, source="smplx"), layout.skeleton)
    with pytest.raises(SkeletonError, match="lacks joints the bone map needs.*spine9"):
        retarget(beat2, BoneMap("m", {"pelvis": "spine9"}, source="smplx"), layout.skeleton)


def test_full_beat2_take_onto_every_rig(data_dir):
    motion = read_motion(data_dir / "beat2" / "2_scott_0_1_1.npz")
    for name in ("metahuman", "mixamo", "rigify"):
        layout = rig_layout(name)
        result = retarget(motion, layout.bone_map, layout.skeleton)
        assert result.motion.num_frames == motion.num_frames and result.warnings == []
        # The retargeted feet stay on the floor as the source's do (same leg lengths).
        pos = result.motion.positions()
        feet = [layout.skeleton.index(n) for n, j in layout.bone_map.pairs.items() if j in ("left_foot", "right_foot")]
        src_feet = motion.positions()[:, [smplx_index("left_foot"), smplx_index("right_foot")], 1]
        np.testing.assert_allclose(pos[:, feet, 1].min(axis=1), src_feet.min(axis=1), atol=1e-6)
