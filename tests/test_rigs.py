"""Rig layouts: the shipped layouts' names, hierarchy and rest poses, auto-detection from bone
names (built here from each rig's naming scheme, not read from the layout files), user map
files, malformed ones included, and the command line's --rig."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.errors import CorruptFileError, LayoutError, MissingFileError
from motion_tokens.core.formats import read_bvh, read_motion
from motion_tokens.core.retarget import (
    SHIPPED_RIGS,
    RigDetectionError,
    bare_name,
    detect_rig,
    load_bone_map,
    load_rig_map,
    match_bones,
    rig_layout,
)
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, smplx_skeleton

SIDES = (("left", "l", "Left", "L"), ("right", "r", "Right", "R"))
FINGERS = ("index", "middle", "ring", "pinky")


# --- each rig's bone names, written from its naming scheme --------------------------------


def metahuman_names(fingers=True):
    names = ["root", "pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "neck_01", "neck_02", "head"]
    for _, s, _, _ in SIDES:
        names += [f"clavicle_{s}", f"upperarm_{s}", f"lowerarm_{s}", f"hand_{s}"]
        if fingers:
            for f in FINGERS:
                names += [f"{f}_metacarpal_{s}", f"{f}_01_{s}", f"{f}_02_{s}", f"{f}_03_{s}"]
            names += [f"thumb_01_{s}", f"thumb_02_{s}", f"thumb_03_{s}"]
        names += [f"thigh_{s}", f"calf_{s}", f"foot_{s}", f"ball_{s}"]
    return names


def mixamo_names(namespace="mixamorig:", fingers=True, eyes=True):
    names = ["Hips", "Spine", "Spine1", "Spine2", "Neck", "Head", "HeadTop_End"]
    if eyes:
        names += ["LeftEye", "RightEye"]
    for _, _, S, _ in SIDES:
        names += [f"{S}Shoulder", f"{S}Arm", f"{S}ForeArm", f"{S}Hand"]
        if fingers:
            names += [f"{S}Hand{F}{k}" for F in ("Thumb", "Index", "Middle", "Ring", "Pinky") for k in (1, 2, 3, 4)]
        names += [f"{S}UpLeg", f"{S}Leg", f"{S}Foot", f"{S}ToeBase", f"{S}Toe_End"]
    return [namespace + n for n in names]


def rigify_names():
    names = ["DEF-spine"] + [f"DEF-spine.{k:03d}" for k in range(1, 7)]
    for _, _, _, S in SIDES:
        names += [f"DEF-pelvis.{S}", f"DEF-thigh.{S}", f"DEF-thigh.{S}.001", f"DEF-shin.{S}", f"DEF-shin.{S}.001",
                  f"DEF-foot.{S}", f"DEF-toe.{S}", f"DEF-shoulder.{S}", f"DEF-upper_arm.{S}",
                  f"DEF-upper_arm.{S}.001", f"DEF-forearm.{S}", f"DEF-forearm.{S}.001", f"DEF-hand.{S}"]
        for k, f in enumerate(FINGERS, start=1):
            names += [f"DEF-palm.{k:02d}.{S}"] + [f"DEF-f_{f}.{j:02d}.{S}" for j in (1, 2, 3)]
        names += [f"DEF-thumb.{j:02d}.{S}" for j in (1, 2, 3)]
    return names


RIG_NAMES = {
    "smplx": list(SMPLX_JOINT_NAMES),
    "metahuman": metahuman_names(),
    "mixamo": mixamo_names(),
    "rigify": rigify_names(),
}


# --- the shipped layouts --------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED_RIGS)
def test_layout_has_the_rigs_bone_names(name):
    layout = rig_layout(name)
    assert set(layout.skeleton.names) == set(RIG_NAMES[name])
    # Every mapped bone exists in the layout and follows an SMPL-X joint.
    assert set(layout.bone_map.pairs) <= set(layout.skeleton.names)
    assert set(layout.bone_map.pairs.values()) <= set(SMPLX_JOINT_NAMES)


def test_rig_maps_cover_smplx_except_face():
    face = {"jaw", "left_eye_smplhf", "right_eye_smplhf"}
    for name in ("metahuman", "rigify"):
        assert set(load_bone_map(name).pairs.values()) == set(SMPLX_JOINT_NAMES) - face, name
    assert set(load_bone_map("mixamo").pairs.values()) == set(SMPLX_JOINT_NAMES) - {"jaw"}


def test_metahuman_hierarchy():
    sk = rig_layout("metahuman").skeleton

    def parent(n):
        p = sk.parents[sk.index(n)]
        return None if p < 0 else sk.names[p]

    assert parent("root") is None and parent("pelvis") == "root"
    chain = ["pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "neck_01", "neck_02", "head"]
    assert all(parent(b) == a for a, b in zip(chain, chain[1:]))
    for s in "lr":
        assert parent(f"clavicle_{s}") == "spine_05" and parent(f"upperarm_{s}") == f"clavicle_{s}"
        assert parent(f"hand_{s}") == f"lowerarm_{s}" and parent(f"thumb_01_{s}") == f"hand_{s}"
        for f in FINGERS:
            assert parent(f"{f}_metacarpal_{s}") == f"hand_{s}" and parent(f"{f}_01_{s}") == f"{f}_metacarpal_{s}"
        assert parent(f"thigh_{s}") == "pelvis" and parent(f"ball_{s}") == f"foot_{s}"


def test_metahuman_rest_is_an_a_pose_with_smplx_proportions():
    sk = rig_layout("metahuman").skeleton
    pos = sk.rest_positions()
    smplx = smplx_skeleton().rest_positions()

    def p(name):
        return pos[sk.index(name)]

    def q(name):
        return smplx[SMPLX_JOINT_NAMES.index(name)]

    for s, side, out in (("l", "left", 1.0), ("r", "right", -1.0)):
        arm = p(f"lowerarm_{s}") - p(f"upperarm_{s}")
        # Arms angled down by 45 degrees in the frontal plane (Y up, the character's left +X).
        np.testing.assert_allclose(arm / np.linalg.norm(arm), [out * np.sqrt(0.5), -np.sqrt(0.5), 0], atol=0.01)
        for a, b, c, d in ((f"upperarm_{s}", f"lowerarm_{s}", f"{side}_shoulder", f"{side}_elbow"),
                           (f"lowerarm_{s}", f"hand_{s}", f"{side}_elbow", f"{side}_wrist"),
                           (f"thigh_{s}", f"calf_{s}", f"{side}_hip", f"{side}_knee"),
                           (f"calf_{s}", f"foot_{s}", f"{side}_knee", f"{side}_ankle"),
                           (f"index_01_{s}", f"index_02_{s}", f"{side}_index1", f"{side}_index2")):
            assert np.linalg.norm(p(b) - p(a)) == pytest.approx(np.linalg.norm(q(d) - q(c)), abs=1e-4), (a, b)
    # Standing: the root on the floor (y = 0), the feet just above it, the head highest.
    assert p("root")[1] == 0.0
    assert 0.0 < p("ball_l")[1] < 0.1 and p("head")[1] == pos[:, 1].max()
    chain = ("pelvis", "spine_01", "spine_02", "spine_03", "spine_04", "spine_05", "neck_01", "head")
    heights = [p(n)[1] for n in chain]
    assert np.all(np.diff(heights) > 0)


def test_rigify_and_mixamo_are_t_poses_on_the_floor():
    arms = {"rigify": ("DEF-upper_arm.L", "DEF-forearm.L"), "mixamo": ("mixamorig:LeftArm", "mixamorig:LeftForeArm")}
    for name, arm in arms.items():
        sk = rig_layout(name).skeleton
        pos = sk.rest_positions()
        d = pos[sk.index(arm[1])] - pos[sk.index(arm[0])]
        np.testing.assert_allclose(d / np.linalg.norm(d), [1, 0, 0], atol=1e-6)
        assert -0.001 < pos[:, 1].min() < 0.1


# --- auto-detection -------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED_RIGS)
def test_detect_each_layout(name):
    assert detect_rig(RIG_NAMES[name]).name == name
    assert detect_rig(list(reversed(RIG_NAMES[name]))).name == name


@pytest.mark.parametrize("namespace", ["mixamorig:", "mixamorig1:", "Character1:", ""])
def test_detect_mixamo_with_any_namespace(namespace):
    names = mixamo_names(namespace)
    assert detect_rig(names).name == "mixamo"
    match = match_bones(rig_layout("mixamo"), names)
    assert match.missing == [] and match.coverage == 1.0
    assert match.bone_map.pairs[namespace + "LeftForeArm"] == "left_elbow"


def test_detect_rigs_without_fingers():
    names = mixamo_names(fingers=False, eyes=False)
    assert detect_rig(names).name == "mixamo"
    assert "mixamorig:LeftEye" in match_bones(rig_layout("mixamo"), names).missing
    names = metahuman_names(fingers=False)
    assert detect_rig(names).name == "metahuman"
    match = match_bones(rig_layout("metahuman"), names)
    assert "index_01_l" in match.missing and "upperarm_l" not in match.missing
    assert set(match.bone_map.pairs) == set(names) - {"root"}


def test_ambiguous_names_are_refused():
    with pytest.raises(RigDetectionError) as info:
        detect_rig(mixamo_names() + metahuman_names())
    message = str(info.value)
    assert "several" in message and "mixamo" in message and "metahuman" in message
    assert "bone map file" in message
    assert {n for n, c in info.value.candidates if c >= 0.5} == {"mixamo", "metahuman"}


def test_unknown_names_are_refused():
    with pytest.raises(RigDetectionError) as info:
        detect_rig(["Bone", "Bone.001", "Bone.002"])
    assert "none of its 3 bones" in str(info.value)
    # Rigify's control bones are not its deform bones: a few MetaHuman-like names do not fit either.
    with pytest.raises(RigDetectionError) as info:
        detect_rig(["root", "torso", "hips", "chest", "upper_arm_fk.L", "forearm_fk.L", "pelvis", "head"])
    message = str(info.value)
    assert "no shipped layout has half its body bones" in message and "closest" in message


def test_bare_names():
    assert bare_name("mixamorig:Hips") == "Hips" and bare_name("a:b:Hips") == "Hips" and bare_name("Hips") == "Hips"


def test_repeated_bare_names_match_only_exactly():
    names = mixamo_names("a:") + ["b:LeftArm"]
    match = match_bones(rig_layout("mixamo"), names)
    assert "mixamorig:LeftArm" in match.missing  # a:LeftArm or b:LeftArm? neither is taken


# --- layouts and user map files ---------------------------------------------------------------


def test_unknown_layout_name():
    with pytest.raises(MissingFileError) as info:
        rig_layout("maya_hik")
    assert "maya_hik" in str(info.value) and "metahuman" in str(info.value)


def test_user_map_file_with_skeleton(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({
        "name": "mine",
        "pairs": {"Hips": "pelvis", "Chest": {"joint": "spine3", "fraction": 1.0},
                  "Neck": {"joint": "neck", "fraction": 0.5}},
        "skeleton": {"joints": [
            {"name": "Hips", "parent": None, "head": [0, 1, 0]},
            {"name": "Chest", "parent": "Hips", "head": [0, 1.3, 0], "tail": [0, 1.4, 0]},
            {"name": "Neck", "parent": "Chest", "head": [0, 1.5, 0]},
        ]},
    }))
    layout = rig_layout(path)
    assert layout.name == "mine" and layout.bone_map.is_rig_map and layout.path == str(path)
    assert layout.bone_map.fractions == {"Neck": 0.5}
    assert layout.skeleton.names == ("Hips", "Chest", "Neck") and layout.skeleton.parents == (-1, 0, 1)
    np.testing.assert_allclose(layout.skeleton.rest_positions()[2], [0, 1.5, 0])
    assert layout.tails == {"Chest": (0.0, 1.4, 0.0)}


def test_user_map_file_without_skeleton(tmp_path):
    path = tmp_path / "bones.json"
    path.write_text('{"pairs": {"Root": "pelvis", "Arm.L": "left_shoulder"}}')
    layout = load_rig_map(path)
    assert layout.name == "bones" and layout.skeleton is None
    assert layout.bone_map.pairs == {"Root": "pelvis", "Arm.L": "left_shoulder"}


SKELETON = '"skeleton": {"joints": [{"name": "Hips", "parent": null, "head": [0, 1, 0]}, %s]}}'


@pytest.mark.parametrize(
    "content, error, words",
    [
        ('{"pairs": {"Hips": "pelvis"', CorruptFileError, "not valid JSON"),
        ('["Hips", "pelvis"]', LayoutError, "JSON object"),
        ('{"name": "x"}', LayoutError, '"pairs"'),
        ('{"pairs": {"Hips": "hips"}}', LayoutError, "unknown SMPL-X joints as sources: hips"),
        ('{"pairs": {"pelvis": "Hips", "spine1": "Spine"}}', LayoutError, "rig map goes"),
        ('{"pairs": {"Hips": 7}}', LayoutError, "non-empty strings"),
        ('{"pairs": {"Hips": {"joint": "pelvis", "fraction": 1.5}}}', LayoutError, "fraction of 'Hips'"),
        ('{"pairs": {"Hips": {"joint": "pelvis", "weight": 1}}}', LayoutError, "unknown keys weight"),
        ('{"source": "bandai", "pairs": {"Hips": "pelvis"}}', LayoutError, '"source"'),
        ('{"pairs": {"Hips": "pelvis"}, "skeleton": [1]}', LayoutError, '"skeleton" must be an object'),
        ('{"pairs": {"Hips": "pelvis"}, ' + SKELETON % '{"name": "Arm", "parent": "Chest", "head": [0, 1, 0]}',
         LayoutError, "'Chest' must be listed before it"),
        ('{"pairs": {"Hips": "pelvis"}, ' + SKELETON % '{"name": "Arm", "parent": null, "head": [0, 1, 0]}',
         LayoutError, "only the first joint is the root"),
        ('{"pairs": {"Hips": "pelvis"}, ' + SKELETON % '{"name": "Arm", "parent": "Hips", "head": [0, "a", 0]}',
         LayoutError, "head of 'Arm' must be three numbers"),
        ('{"pairs": {"Hips": "pelvis"}, ' + SKELETON % '{"name": "Hips", "parent": "Hips", "head": [0, 1, 0]}',
         LayoutError, "listed twice"),
        ('{"pairs": {"Hips": "pelvis", "Leg": "left_hip"}, '
         + SKELETON % '{"name": "Arm", "parent": "Hips", "head": [0, 1, 0]}',
         LayoutError, "not in its \"skeleton\": Leg"),
    ],
)
def test_malformed_user_map_files(tmp_path, content, error, words):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(error) as info:
        rig_layout(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_missing_and_empty_map_files(tmp_path):
    with pytest.raises(MissingFileError) as info:
        rig_layout(tmp_path / "nothere.json")
    assert "nothere.json" in str(info.value) and "no such file" in str(info.value)
    (tmp_path / "empty.json").write_text("")
    with pytest.raises(CorruptFileError, match="empty"):
        rig_layout(tmp_path / "empty.json")


# --- the command line: --rig ------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "motion_tokens", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def assert_bad_input(result, *words):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for word in words:
        assert str(word) in result.stderr


def test_cli_writes_a_bvh_on_the_metahuman_skeleton(tmp_path):
    out = tmp_path / "take.bvh"
    result = run_cli("import", BEAT2_EXCERPT, "--out", out, "--rig", "metahuman")
    assert result.returncode == 0, result.stderr
    assert "on metahuman" in result.stdout
    written = read_bvh(out)
    assert set(written.skeleton.names) == set(metahuman_names())
    source = read_motion(BEAT2_EXCERPT)
    assert written.num_frames == source.num_frames
    sp, wp = source.positions(), written.positions()
    for a, b, c, d in (("upperarm_l", "lowerarm_l", "left_shoulder", "left_elbow"),
                       ("calf_r", "foot_r", "right_knee", "right_ankle")):
        u = wp[:, written.skeleton.index(b)] - wp[:, written.skeleton.index(a)]
        v = sp[:, SMPLX_JOINT_NAMES.index(d)] - sp[:, SMPLX_JOINT_NAMES.index(c)]
        cos = np.sum(u * v, axis=-1) / np.linalg.norm(u, axis=-1) / np.linalg.norm(v, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() < 0.05  # BVH: 6 significant digits


def test_cli_writes_a_bvh_on_a_user_skeleton(tmp_path):
    rig = tmp_path / "rig.json"
    rig.write_text(json.dumps({"pairs": {"Hips": "pelvis", "Chest": "spine3", "Arm": "left_shoulder"}, "skeleton": {
        "joints": [{"name": "Hips", "parent": None, "head": [0, 0.9, 0]},
                   {"name": "Chest", "parent": "Hips", "head": [0, 1.2, 0]},
                   {"name": "Arm", "parent": "Chest", "head": [0.2, 1.4, 0]},
                   {"name": "Hand", "parent": "Arm", "head": [0.7, 1.4, 0]}]}}))
    out = tmp_path / "take.bvh"
    result = run_cli("import", BEAT2_EXCERPT, "--out", out, "--rig", rig)
    assert result.returncode == 0, result.stderr
    assert read_bvh(out).skeleton.names == ("Hips", "Chest", "Arm", "Hand")


def test_cli_rig_refusals(tmp_path):
    npz = tmp_path / "take.npz"
    assert_bad_input(run_cli("import", BEAT2_EXCERPT, "--out", npz, "--rig", "metahuman"), npz, "SMPL-X", "--rig")
    broken = tmp_path / "broken.json"
    broken.write_text('{"pairs": {"Hips": "hips"}}')
    out = tmp_path / "take.bvh"
    assert_bad_input(run_cli("import", BEAT2_EXCERPT, "--out", out, "--rig", broken), broken, "hips")
    bare = tmp_path / "bare.json"
    bare.write_text('{"pairs": {"Hips": "pelvis"}}')
    assert_bad_input(run_cli("import", BEAT2_EXCERPT, "--out", out, "--rig", bare), bare, '"skeleton"')
    assert_bad_input(run_cli("import", BEAT2_EXCERPT, "--out", out, "--rig", "maya"), "maya", "metahuman")
    assert not out.exists() and not npz.exists()
