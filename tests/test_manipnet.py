"""ManipNet hand-only BVH onto the SMPL-X hand: units, geometry, frame rate, sides, takes, split."""

from __future__ import annotations

import re

import numpy as np
import pytest

from motion_tokens.core.codecs.training.dataset import (
    load_split,
    manipnet_held_out,
    paired_hands,
    part_dataset,
    read_takes,
    split_takes,
)
from motion_tokens.core.errors import LayoutError
from motion_tokens.core.formats import read_bvh
from motion_tokens.core.retarget import load_bone_map, read_smplx_motion
from motion_tokens.core.retarget.hands import hand_side, retarget_hand
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, smplx_skeleton

FINGERS = {"index": "INDEX_MCP INDEX_PIP_FE INDEX_DIP_FE", "middle": "MIDDLE_MCP MIDDLE_PIP_FE MIDDLE_DIP_FE",
           "ring": "RING_MCP RING_PIP_FE RING_DIP_FE", "pinky": "PINKY_MCP PINKY_PIP_FE PINKY_DIP_FE",
           "thumb": "THUMB_CMC_AA THUMB_MCP_FE THUMB_IP_FE"}


@pytest.fixture(scope="module")
def manipnet(data_dir):
    return data_dir / "hands" / "manipnet"


def _offsets_from_text(path) -> dict[str, np.ndarray]:
    """Joint -> OFFSET, parsed straight from the file's text (not through the reader)."""
    text = path.read_text()
    found = re.findall(r"(?:ROOT|JOINT)\s+(\S+)\s*\{\s*OFFSET\s+(\S+)\s+(\S+)\s+(\S+)", text)
    return {name: np.array([float(x), float(y), float(z)]) for name, x, y, z in found}


def test_units_match_smplx_hand_proportions(manipnet):
    # Each finger bone's SMPL-X length over its ManipNet length in file units: metres per unit.
    off = _offsets_from_text(manipnet / "Dining__cup1__leftHand.bvh")
    pos = {"WRIST": np.zeros(3)}
    order = ["THUMB_CMC_FE", "THUMB_CMC_AA", "THUMB_MCP_FE", "THUMB_IP_FE"] + [j for f in FINGERS.values()
                                                                           for j in f.split() if "THUMB" not in j]
    parent = {"THUMB_CMC_FE": "WRIST", "THUMB_CMC_AA": "THUMB_CMC_FE", "THUMB_MCP_FE": "THUMB_CMC_AA",
              "THUMB_IP_FE": "THUMB_MCP_FE"}
    for chain in FINGERS.values():
        a, b, c = chain.split()
        if "THUMB" not in a:
            parent.update({a: "WRIST", b: a, c: b})
    for j in order:
        pos[j] = pos[parent[j]] + off[j]
    rest = smplx_skeleton().rest_positions()
    ratios = []
    for finger, chain in FINGERS.items():
        src = ["WRIST"] + chain.split()
        tgt = ["left_wrist"] + [f"left_{finger}{i}" for i in (1, 2, 3)]
        for (s0, s1), (t0, t1) in zip(zip(src, src[1:]), zip(tgt, tgt[1:])):
            ls = np.linalg.norm(pos[s1] - pos[s0])
            lt = np.linalg.norm(rest[SMPLX_JOINT_NAMES.index(t1)] - rest[SMPLX_JOINT_NAMES.index(t0)])
            ratios.append(lt / ls)
    ratios = np.array(ratios)
    assert len(ratios) == 15 and ratios.min() > 0.07 and ratios.max() < 0.105
    # The map's unit is the median ratio: the hand as read has SMPL-X's size (0.1 would be 20% larger).
    assert abs(np.median(ratios) - load_bone_map("manipnet").metres_per_unit) < 0.002


def _both_ways(path, side):
    bm = load_bone_map("manipnet")
    src = read_bvh(path, units=bm.metres_per_unit)
    res = retarget_hand(src, bm, side, keep_wrist=True)
    _, ps = src.forward_kinematics()
    _, pt = res.motion.forward_kinematics()
    return src, ps, pt


@pytest.mark.parametrize("name, side", [("Dining__mug1__leftHand", "left"), ("Primitive__cube_med2__rightHand", "right")])
def test_retargeted_fingers_follow_the_bvh_fk(manipnet, name, side):
    src, ps, pt = _both_ways(manipnet / f"{name}.bvh", side)
    wrist_s, wrist_t = ps[:, src.skeleton.index("WRIST")], pt[:, SMPLX_JOINT_NAMES.index(f"{side}_wrist")]
    errors = []
    for finger, chain in FINGERS.items():
        s = [src.skeleton.index(j) for j in chain.split()]
        t = [SMPLX_JOINT_NAMES.index(f"{side}_{finger}{i}") for i in (1, 2, 3)]
        # Inside a finger every bone points where the source bone points, in every frame: the
        # transfer copies world directions of bones with one child exactly.
        for (s0, s1), (t0, t1) in zip(zip(s, s[1:]), zip(t, t[1:])):
            a, b = pt[:, t1] - pt[:, t0], ps[:, s1] - ps[:, s0]
            cos = np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
            assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.01
        errors.append(np.linalg.norm((pt[:, t] - wrist_t[:, None]) - (ps[:, s] - wrist_s[:, None]), axis=-1))
    err = np.concatenate(errors, axis=1)
    # Wrist-relative joint positions differ by what the rotations cannot carry: the two hands'
    # bone lengths (SMPL-X / ManipNet ratios 0.072-0.100 m per unit around the 0.083 used, i.e.
    # up to 15% of a 4-10 cm bone: 0.5-1 cm at a finger's end) and palm shape (finger bases
    # aligned by one best rotation; the thumb base moves with THUMB_CMC_FE in ManipNet and is
    # fixed in SMPL-X). So: 1.2 cm on average and 2.5 cm at most (a wrong twist or side would
    # put a finger's end 5-15 cm away).
    assert err.mean() < 0.012 and err.max() < 0.025


def test_120_fps_read_at_30_and_sides(manipnet):
    # 4000 frames over (4000 - 1) / 120 s; at 30 fps frames k / 30 for k = 0 .. floor(3999 / 4).
    right = read_smplx_motion(manipnet / "Dining__cup1__rightHand.bvh", 30.0, warnings=[])
    assert right.num_frames == 1000 and right.fps == 30.0
    cube = read_smplx_motion(manipnet / "Primitive__cube_med2__leftHand.bvh", 30.0, warnings=[])
    assert cube.num_frames == 4610 // 4 + 1
    moved = np.flatnonzero(np.abs(right.rotations[..., 1:]).max(axis=(0, 2)) > 1e-9)
    assert set(moved) <= set(range(40, 55)) and len(moved) == 15  # right fingers only; wrist and body at rest
    assert np.all(right.trans == 0.0)
    moved_left = np.flatnonzero(np.abs(cube.rotations[..., 1:]).max(axis=(0, 2)) > 1e-9)
    assert set(moved_left) == set(range(25, 40))


def test_a_hand_file_must_say_its_side(manipnet, tmp_path):
    bm = load_bone_map("manipnet")
    assert hand_side("x__y__leftHand.bvh", bm) == "left" and hand_side("x__rightHand", bm) == "right"
    bad = tmp_path / "Dining__cup1.bvh"
    bad.write_bytes((manipnet / "Dining__cup1__leftHand.bvh").read_bytes())
    with pytest.raises(LayoutError, match="does not say which hand"):
        read_smplx_motion(bad, 30.0)


def test_pairs_become_two_handed_takes_and_split_by_object(manipnet, data_dir):
    takes = read_takes([manipnet])
    assert len(takes) == 8 and all("Hand" not in t.name for t in takes)
    cup = next(t for t in takes if t.name == "Dining__cup1")
    moved = np.flatnonzero(np.abs(cup.motion.rotations[..., 1:]).max(axis=(0, 2)) > 1e-9)
    assert set(moved) == set(range(25, 55))
    split = load_split()
    train, held = split_takes(takes, split)
    assert {t.name for t in held} == set(manipnet_held_out([p.stem for p in manipnet.glob("*.bvh")]))
    assert {t.name.split("__")[0] for t in held} == {"Dining", "Primitive"} and len(held) == 2
    assert not {t.name for t in train} & {t.name for t in held}
    # Only the hands: body and face see nothing in these takes.
    assert part_dataset(takes, "body").num_takes == 0 and part_dataset(takes, "face").num_takes == 0
    assert part_dataset(takes, "hands").num_takes == 8


def test_split_keeps_bandai_and_beat2_and_no_take_on_both_sides(data_dir):
    split = load_split()
    bandai = {n for n in split.held_out_takes if n.startswith("dataset-")}
    assert len(bandai) == 27 and split.held_out_tails == {"2_scott_0_1_1": 0.25}
    assert not set(split.held_out_tails) & split.held_out_takes


def test_bandai_is_skipped_for_hands_and_face(data_dir):
    takes = read_takes([data_dir / "bandai" / "dataset-2" / "dataset-2_wave-left-hand_active_001.bvh"])
    for part in ("hands", "face"):
        ds = part_dataset(takes, part)
        assert ds.num_takes == 0 and ds.skipped == ("dataset-2_wave-left-hand_active_001",)
    assert part_dataset(takes, "body").num_takes == 1


def test_unpaired_hand_file_stays_one_take(manipnet):
    takes = read_takes([manipnet / "Dining__cup1__leftHand.bvh"])
    assert [t.name for t in paired_hands(takes)] == ["Dining__cup1__leftHand"]
