"""Reading rig motion back as SMPL-X (core.retarget.inverse, no Blender): SMPL-X motion retargeted
onto each shipped rig by the forward transfer and read back must be the motion that made it, for
the joints the rig has bones for (written out here per rig), in rotations and joint positions;
rigs that lack joints, a rotated unmapped root, a longer-legged rig and maps that do not cover
the rig."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import SkeletonError
from motion_tokens.core.formats import read_motion
from motion_tokens.core.kinematics import global_quats
from motion_tokens.core.motion import Motion
from motion_tokens.core.retarget import BoneMap, retarget, rig_layout
from motion_tokens.core.retarget.inverse import reading_bones, retarget_from_rig
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, Skeleton, offsets_from_positions, smplx_skeleton

DEMO = Path(__file__).resolve().parents[1] / "demo"
# The SMPL-X joints each shipped rig has no bone for (read from the maps' descriptions: a
# MetaHuman body and Rigify's deform bones have no jaw or eyes, Mixamo has eyes but no jaw).
UNREAD = {"smplx": [], "metahuman": ["jaw", "left_eye_smplhf", "right_eye_smplhf"], "mixamo": ["jaw"],
          "rigify": ["jaw", "left_eye_smplhf", "right_eye_smplhf"]}
# In float64 the inverse undoes the forward to rounding: a few 1e-14 rad through chains of 15
# quaternion products and the 1/f power of MetaHuman's spine (f >= 0.6).
ROT_BOUND = 1e-9  # degrees
POS_BOUND = 1e-9  # metres


@pytest.fixture(scope="module")
def beat2():
    return read_motion(DEMO / "beat2_excerpt.npz")


def angles_deg(a, b):
    """(T, J) angle between two sets of rotations (sign-free)."""
    return np.degrees(rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(a), b)))


@pytest.mark.parametrize("name", ["smplx", "metahuman", "mixamo", "rigify"])
def test_a_rig_reads_back_the_motion_that_made_it(beat2, name):
    layout = rig_layout(name)
    back = retarget_from_rig(retarget(beat2, layout.bone_map, layout.skeleton).motion, layout.bone_map)
    assert back.unmapped == UNREAD[name]
    read = [j for j, n in enumerate(SMPLX_JOINT_NAMES) if n not in UNREAD[name]]
    assert angles_deg(beat2.rotations[:, read], back.motion.rotations[:, read]).max() < ROT_BOUND
    unread = [SMPLX_JOINT_NAMES.index(n) for n in UNREAD[name]]
    np.testing.assert_array_equal(back.motion.rotations[:, unread],
                                  np.broadcast_to([1.0, 0, 0, 0], (beat2.num_frames, len(unread), 4)))
    # The jaw and eyes turn no joint below them: every joint lies where it did.
    assert np.abs(back.motion.positions() - beat2.positions()).max() < POS_BOUND
    assert back.motion.fps == beat2.fps and back.motion.num_frames == beat2.num_frames
    if UNREAD[name]:
        assert any(all(n in w for n in UNREAD[name]) and "rest" in w for w in back.warnings)


def test_metahuman_spine_is_read_from_its_largest_fractions():
    layout = rig_layout("metahuman")
    bone, fraction = reading_bones(smplx_skeleton(), layout.skeleton, layout.bone_map)
    read_from = {SMPLX_JOINT_NAMES[j]: (layout.skeleton.names[bone[j]], fraction[j]) for j in (3, 6, 9, 12)}
    assert read_from == {"spine1": ("spine_01", 0.6), "spine2": ("spine_03", 0.8), "spine3": ("spine_05", 1.0),
                         "neck": ("neck_02", 1.0)}


def test_turns_up_to_half_a_turn_read_back_through_the_fractions():
    """Random local rotations of up to 179 degrees on every joint: the partial bones' powers
    (MetaHuman's spine, 0.6 of spine1 ...) are undone exactly, not only for small bends."""
    rng = np.random.default_rng(0)
    sk = smplx_skeleton()
    axis = rng.normal(size=(40, 55, 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    aa = axis * np.radians(rng.uniform(0, 179, size=(40, 55, 1)))
    motion = Motion.from_axis_angle(sk, 30.0, aa, rng.normal(scale=0.3, size=(40, 3)))
    layout = rig_layout("metahuman")
    back = retarget_from_rig(retarget(motion, layout.bone_map, layout.skeleton).motion, layout.bone_map)
    read = [j for j, n in enumerate(SMPLX_JOINT_NAMES) if n not in UNREAD["metahuman"]]
    assert angles_deg(motion.rotations[:, read], back.motion.rotations[:, read]).max() < 1e-7
    np.testing.assert_allclose(back.motion.trans, motion.trans, atol=POS_BOUND)


def test_a_turned_unmapped_root_turns_the_body(beat2):
    """MetaHuman's root is not mapped, but a turn keyed on it (root motion) carries the body:
    the rig turned about the origin (the root's rest head) reads back as the SMPL-X motion
    turned the same way."""
    layout = rig_layout("metahuman")
    assert np.allclose(layout.skeleton.rest_positions()[0], 0.0)
    rig = retarget(beat2, layout.bone_map, layout.skeleton).motion
    turn = rot.axis_angle_to_quat(np.array([0.2, np.radians(70.0), -0.1]))
    rotations = rig.rotations.copy()
    rotations[:, 0] = turn  # the forward leaves the root at the identity
    turned = replace(rig, rotations=rotations, trans=rot.quat_apply(turn, rig.trans))
    back = retarget_from_rig(turned, layout.bone_map)
    assert np.abs(back.motion.positions() - rot.quat_apply(turn, beat2.positions())).max() < POS_BOUND


def test_a_longer_legged_rig_reads_back_the_unscaled_path(beat2):
    """The forward scales the path by the rig's leg length over SMPL-X's; reading divides it out."""
    layout = rig_layout("mixamo")
    big = Skeleton(layout.skeleton.names, layout.skeleton.parents, 1.3 * layout.skeleton.offsets)
    back = retarget_from_rig(retarget(beat2, layout.bone_map, big).motion, layout.bone_map)
    np.testing.assert_allclose(back.motion.trans, beat2.trans, atol=POS_BOUND)


def _without(layout, dropped):
    """The layout's rest skeleton and map without the bones `dropped`, their children moved up
    to the nearest kept ancestor (a rig built without those bones)."""
    sk = layout.skeleton
    keep = [j for j, n in enumerate(sk.names) if n not in dropped]
    parents = []
    for j in keep:
        p = sk.parents[j]
        while p >= 0 and sk.names[p] in dropped:
            p = sk.parents[p]
        parents.append(-1 if p < 0 else keep.index(p))
    pos = sk.rest_positions()[keep]
    skeleton = Skeleton(tuple(sk.names[j] for j in keep), tuple(parents), offsets_from_positions(pos, parents))
    return skeleton, layout.bone_map.restricted(skeleton.names)


def test_joints_the_rig_lacks_come_back_at_rest(beat2):
    """A Mixamo rig without Spine1 (SMPL-X spine2) and without fingers: those joints at rest,
    said in a warning; the world rotation of every joint it does have is the source's, the
    missing spine2's bend carried by spine3's local rotation."""
    layout = rig_layout("mixamo")
    dropped = {n for n in layout.skeleton.names if "Hand" in n and n[-1].isdigit()} | {"mixamorig:Spine1"}
    skeleton, bone_map = _without(layout, dropped)
    back = retarget_from_rig(retarget(beat2, bone_map, skeleton).motion, bone_map)
    assert back.unmapped == ["spine2", "jaw", *SMPLX_JOINT_NAMES[25:]]  # Mixamo has eyes
    assert any("spine2" in w and "left_thumb3" in w and "rest" in w for w in back.warnings)
    sk = smplx_skeleton()
    src = global_quats(beat2.rotations, sk.parents)
    got = global_quats(back.motion.rotations, sk.parents)
    read = [j for j, n in enumerate(SMPLX_JOINT_NAMES) if n not in back.unmapped]
    assert angles_deg(src[:, read], got[:, read]).max() < ROT_BOUND
    unread = [SMPLX_JOINT_NAMES.index(n) for n in back.unmapped]
    assert np.all(back.motion.rotations[:, unread, 0] == 1.0)


def test_a_map_that_does_not_cover_the_rig_is_refused(beat2):
    layout = rig_layout("mixamo")
    few = ["mixamorig:Hips", "mixamorig:Spine", "mixamorig:Head", "mixamorig:LeftArm"]
    skeleton, bone_map = _without(layout, set(layout.skeleton.names) - set(few))
    rig = retarget(beat2, bone_map, skeleton).motion
    with pytest.raises(SkeletonError, match=r"does not cover this rig.*4 of the 22 SMPL-X body joints"):
        retarget_from_rig(rig, bone_map)
    no_pelvis = BoneMap("no pelvis", {n: j for n, j in layout.bone_map.pairs.items() if j != "pelvis"}, source="smplx")
    with pytest.raises(SkeletonError, match="pelvis"):
        retarget_from_rig(retarget(beat2, layout.bone_map, layout.skeleton).motion, no_pelvis)
