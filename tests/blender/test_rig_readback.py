"""Rig armatures read back as SMPL-X (scene.rig_reading) and Quantize / Export on them.

References: the SMPL-X motion of the demo excerpt that Import keyed onto each rig (its local
rotations and its forward-kinematics joint positions), and the codec's own decode (core
encode_parts) of the motion read back from the rig before quantizing.

The bound. Import keys float32 pose quaternions and locations, and Blender keeps bone rest
matrices and heads in float32. A key's four components round by up to 2^-25 each, about
6e-8 rad (3.4e-6 degrees) of rotation; a joint's world rotation read back gathers such errors
from up to 15 keys and 15 rest matrices down its chain, and its local rotation compares two of
them, so the worst case is about 2 x 30 x 3.4e-6 = 2e-4 degrees (measured: at most 4.7e-6 on
every rig, the roundings adding like a random walk). Over a metre of chain 2e-4 degrees moves a
joint by 3.5e-3 mm; the path (float32 locations of up to 3 m) adds 2e-4 mm: positions to
0.01 mm (measured: at most 3e-4 mm). That holds where the map is one to one and through
MetaHuman's fractional spine bones (read from spine_01, 0.6 of spine1, and spine_03, 0.8 of
spine2: rounding times at most 1/0.6). What is lost is the joints a rig has no bone for: the
jaw (every shipped rig) and the eyes (MetaHuman, Rigify) come back at rest; no joint lies below
them, so every joint position is still kept.
"""

import json
from pathlib import Path

import bpy
import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.codecs import registry
from motion_tokens.core.codecs.coding import encode_parts
from motion_tokens.core.formats import read_motion
from motion_tokens.core.kinematics import global_quats
from motion_tokens.core.motion import Motion
from motion_tokens.core.retarget import bare_name, rig_layout
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, Skeleton, smplx_skeleton
from motion_tokens.panels import properties as panel_properties
from motion_tokens.scene.actions import write_motion
from motion_tokens.scene.armature import create_armature
from motion_tokens.scene.compat import action_fcurves
from motion_tokens.scene.rig import create_rig_armature
from motion_tokens.scene.rig_reading import read_rig_motion
from stand_in_models import stand_in_models

pytestmark = pytest.mark.usefixtures("registered")

BEAT2_EXCERPT = Path(__file__).resolve().parents[2] / "demo" / "beat2_excerpt.npz"
ROT_BOUND = 2e-4  # degrees, see the module docstring
POS_BOUND = 0.01e-3  # metres (0.01 mm)
UNREAD = {"metahuman": ["jaw", "left_eye_smplhf", "right_eye_smplhf"], "mixamo": ["jaw"],
          "rigify": ["jaw", "left_eye_smplhf", "right_eye_smplhf"]}
CODECS = {"body": "kmeans-6", "hands": "kmeans-6"}


@pytest.fixture(scope="module")
def beat2():
    return read_motion(BEAT2_EXCERPT)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The shipped kmeans-6 body bundle and a small kmeans-6 hands bundle (64 frames of the
    excerpt as centroids): the hands bundles are being retrained, so none is relied on here."""
    return stand_in_models(tmp_path_factory.mktemp("models"), BEAT2_EXCERPT)


@pytest.fixture
def use_models(monkeypatch, models):
    monkeypatch.setattr(registry, "MODELS_DIR", models)
    panel_properties.CATALOGUE.refresh()
    yield models
    monkeypatch.undo()
    panel_properties.CATALOGUE.refresh()


def rig_with_the_excerpt(name):
    """A new rig of layout `name` with the excerpt imported onto it, as a user does it."""
    obj = create_rig_armature(name)
    assert bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT), target="ACTIVE") == {"FINISHED"}
    return obj


def assert_same_motion(got: Motion, expected: Motion, unread):
    """Local rotations of the joints read within ROT_BOUND, those not read at rest, every
    joint's position within POS_BOUND."""
    read = [j for j, n in enumerate(SMPLX_JOINT_NAMES) if n not in unread]
    angles = np.degrees(rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(expected.rotations), got.rotations)))
    assert angles[:, read].max() < ROT_BOUND
    rest = [SMPLX_JOINT_NAMES.index(n) for n in unread]
    np.testing.assert_allclose(np.abs(got.rotations[:, rest, 0]), 1.0, atol=1e-12)
    assert np.abs(got.positions() - expected.positions()).max() < POS_BOUND


def keyframes(action, obj):
    out = {}
    for fc in action_fcurves(action, obj):
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(fc.data_path, fc.array_index)] = co
    return out


def scene_state():
    plays = {o.name: (o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
             for o in bpy.data.objects}
    keys = {a.name: {k: v.tobytes() for k, v in keyframes(a, None).items()} for a in bpy.data.actions}
    return sorted(o.name for o in bpy.data.objects), plays, keys


# --- (a) the round trip ---------------------------------------------------------------------

@pytest.mark.parametrize("name", ["metahuman", "mixamo", "rigify"])
def test_a_rig_reads_back_the_motion_imported_onto_it(scene, beat2, name):
    obj = rig_with_the_excerpt(name)
    reading = read_rig_motion(obj, smplx_skeleton())
    assert reading.layout == name and reading.unread == UNREAD[name] and reading.frame_start == 1
    assert reading.motion.num_frames == beat2.num_frames and reading.motion.fps == 30
    assert_same_motion(reading.motion, beat2, UNREAD[name])
    assert any("come back at rest" in w and all(n in w for n in UNREAD[name]) for w in reading.warnings)


def test_a_rig_standing_as_an_fbx_import_leaves_it_reads_back_the_same(scene, beat2):
    """Bones in centimetres with Y up, the object turned 90 degrees about X and scaled 0.01
    (Blender's FBX importer), moved and turned about the vertical: the motion is read relative
    to the character, so it is the same."""
    obj = create_rig_armature("mixamo")
    bpy.ops.object.mode_set(mode="EDIT")
    for bone in obj.data.edit_bones:
        roll_axis = np.array(bone.z_axis)
        bone.head = [100 * bone.head[0], 100 * bone.head[2], -100 * bone.head[1]]
        bone.tail = [100 * bone.tail[0], 100 * bone.tail[2], -100 * bone.tail[1]]
        bone.align_roll([roll_axis[0], roll_axis[2], -roll_axis[1]])
    bpy.ops.object.mode_set(mode="OBJECT")
    obj.rotation_euler = (np.pi / 2, 0.0, 0.7)
    obj.scale = (0.01, 0.01, 0.01)
    obj.location = (2.0, -1.0, 0.5)
    bpy.context.view_layer.update()
    assert bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT), target="ACTIVE") == {"FINISHED"}
    assert_same_motion(read_rig_motion(obj, smplx_skeleton()).motion, beat2, UNREAD["mixamo"])


# --- (b) Quantize on a MetaHuman-compatible armature ----------------------------------------

def test_quantize_on_a_metahuman_keys_the_decoded_motion_on_it(scene, use_models, capfd):
    """The done-means test: the quantised action read back through the inverse map equals the
    codec's decode of the motion read back from the original action, within the round trip's
    bound (the decode is keyed through the same map, read back through its inverse)."""
    obj = rig_with_the_excerpt("metahuman")
    original = obj.animation_data.action
    original_keys = keyframes(original, obj)
    before = read_rig_motion(obj, smplx_skeleton()).motion
    expected = encode_parts(before, CODECS, models_dir=use_models).decoded
    capfd.readouterr()
    assert bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6") == {"FINISHED"}
    new = obj.animation_data.action
    assert new != original and new.name == f"{original.name} kmeans-6"
    assert bpy.context.active_object == obj and len(bpy.data.objects) == 1
    assert tuple(new.frame_range) == tuple(original.frame_range)
    after = keyframes(original, obj)  # the original is kept, byte for byte
    assert after.keys() == original_keys.keys() and all(after[k].tobytes() == v.tobytes() for k, v in original_keys.items())
    bones = {fc.data_path.split('"')[1] for fc in action_fcurves(new, obj)}
    assert "pelvis" in bones and "spine_01" in bones and "left_hip" not in bones  # keyed on the rig's bones
    assert_same_motion(read_rig_motion(obj, smplx_skeleton(), action=new).motion, expected, UNREAD["metahuman"])
    # It is a real re-coding, not the original handed through.
    assert np.abs(expected.positions() - before.positions()).max() > 0.01
    out = capfd.readouterr().out
    assert "Quantized 'beat2_excerpt' as 'beat2_excerpt kmeans-6'" in out and "come back at rest: jaw" in out


# --- (c) Export from a Mixamo rig ----------------------------------------------------------

def test_export_from_a_mixamo_rig_writes_the_smplx_motion(scene, beat2, tmp_path, capfd):
    rig_with_the_excerpt("mixamo")
    out = tmp_path / "mixamo.npz"
    capfd.readouterr()
    assert bpy.ops.motion_tokens.export_motion(filepath=str(out), file_format="BOTH") == {"FINISHED"}
    assert "come back at rest: jaw" in capfd.readouterr().out
    back = read_motion(out)
    assert back.num_frames == beat2.num_frames and back.fps == 30
    # float32 in the file too: 2^-24 of the axis-angle (at most pi) adds below 1e-5 degrees
    assert_same_motion(back, beat2, UNREAD["mixamo"])
    # The take data Import kept on the rig's action travels to the file.
    np.testing.assert_allclose(back.betas, beat2.betas, atol=1e-6)
    np.testing.assert_allclose(back.expressions, beat2.expressions, atol=1e-6)
    assert (tmp_path / "mixamo.bvh").is_file()


def user_rig_map(tmp_path):
    """A user's map file with a "skeleton" block: Mixamo's bones renamed, without Spine1 (SMPL-X
    spine2) and without fingers, Spine2's parent Spine."""
    layout = rig_layout("mixamo")
    sk, rest = layout.skeleton, layout.skeleton.rest_positions()
    dropped = {n for n in sk.names if "Hand" in n and n[-1].isdigit()} | {"mixamorig:Spine1"}

    def parent(j):
        p = sk.parents[j]
        while p >= 0 and sk.names[p] in dropped:
            p = sk.parents[p]
        return None if p < 0 else "my_" + bare_name(sk.names[p])

    joints = [{"name": "my_" + bare_name(n), "parent": parent(j), "head": rest[j].tolist()}
              for j, n in enumerate(sk.names) if n not in dropped]
    pairs = {"my_" + bare_name(b): j for b, j in layout.bone_map.pairs.items() if b not in dropped}
    path = tmp_path / "my_rig.json"
    path.write_text(json.dumps({"name": "my_rig", "pairs": pairs, "skeleton": {"joints": joints}}))
    return path


def test_export_from_a_user_rig_through_its_map_file(scene, beat2, tmp_path):
    """The rig lacks spine2 and the fingers: they come back at rest, said in a warning; every
    joint it has keeps its world rotation (spine2's bend is carried by spine3's local one)."""
    path = user_rig_map(tmp_path)
    create_rig_armature(path)
    assert bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT), target="ACTIVE",
                                               bone_map_file=str(path)) == {"FINISHED"}
    reading = read_rig_motion(bpy.context.active_object, smplx_skeleton(), str(path))
    assert reading.layout == "my_rig" and reading.unread == ["spine2", "jaw", *SMPLX_JOINT_NAMES[25:]]
    assert any("spine2" in w and "right_thumb3" in w and "rest" in w for w in reading.warnings)
    out = tmp_path / "user.npz"
    assert bpy.ops.motion_tokens.export_motion(filepath=str(out), bone_map_file=str(path)) == {"FINISHED"}
    back = read_motion(out)
    parents = smplx_skeleton().parents
    src, got = global_quats(beat2.rotations, parents), global_quats(back.rotations, parents)
    read = [j for j, n in enumerate(SMPLX_JOINT_NAMES) if n not in reading.unread]
    assert np.degrees(rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(src[:, read]), got[:, read]))).max() < ROT_BOUND
    unread = [SMPLX_JOINT_NAMES.index(n) for n in reading.unread]
    np.testing.assert_allclose(np.abs(back.rotations[:, unread, 0]), 1.0, atol=1e-6)
    np.testing.assert_allclose(back.trans, beat2.trans, atol=POS_BOUND)


# --- (d) an armature that cannot be mapped --------------------------------------------------

def unknown_armature():
    sk = Skeleton(("Bone", "Bone.001"), (-1, 0), np.array([[0.0, 1.0, 0.0], [0.0, 0.3, 0.0]]))
    obj = create_armature(sk, name="Unknown")
    write_motion(obj, Motion(sk, 30.0, np.tile([1.0, 0, 0, 0], (5, 2, 1)), np.zeros((5, 3))), action_name="Wave")
    return obj


def test_quantize_and_export_refuse_an_armature_they_cannot_map(scene, use_models, tmp_path):
    unknown_armature()
    before = scene_state()
    for call in (lambda: bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6"),
                 lambda: bpy.ops.motion_tokens.export_motion(filepath=str(tmp_path / "x.npz"))):
        with pytest.raises(RuntimeError) as failure:
            call()
        message = str(failure.value)
        assert "'Unknown'" in message and "cannot tell which rig" in message and "Bone Map" in message
        assert scene_state() == before
    assert list(tmp_path.iterdir()) == []


def test_a_bone_map_that_does_not_cover_the_rig_is_refused(scene, use_models, tmp_path):
    """A Mixamo rig quantized through the Rigify map: none of its bones is in the map."""
    rig_with_the_excerpt("mixamo")
    before = scene_state()
    with pytest.raises(RuntimeError, match="none of the bones of the 'rigify' map"):
        bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6", bone_map_file="rigify")
    assert scene_state() == before
