"""scene.fbx: an armature with its action exported with Blender's FBX exporter and read back with
Blender's FBX importer keeps its bone names, hierarchy, frame range and evaluated pose; the
command line's .fbx and .blend output with --rig."""

from pathlib import Path

import bpy
import numpy as np
import pytest
from motion_tokens import cli
from motion_tokens.core.errors import OutputError, SkeletonError
from motion_tokens.core.formats import read_motion
from motion_tokens.core.retarget import rig_layout
from motion_tokens.scene import compat
from motion_tokens.scene.fbx import export_fbx
from motion_tokens.scene.rig import create_rig_armature, retarget_onto_armature
from test_cli_scenes import assert_plays_the_bvh

DEMO = Path(__file__).resolve().parents[2] / "demo"


def world_heads(obj, frame) -> dict:
    bpy.context.scene.frame_set(frame)
    world = np.array(obj.matrix_world)
    return {pb.name: world[:3, :3] @ np.array(pb.head) + world[:3, 3] for pb in obj.pose.bones}


@pytest.fixture
def animated_metahuman(empty_scene):
    empty_scene.render.fps = 30
    motion = read_motion(DEMO / "beat2_excerpt.npz").frames(0, 24)
    obj = create_rig_armature("metahuman")
    result = retarget_onto_armature(obj, motion, frame_start=5)
    return obj, result


def test_fbx_round_trip_keeps_names_frames_and_pose(animated_metahuman, tmp_path):
    obj, result = animated_metahuman
    assert (result.frame_start, result.frame_end) == (5, 28)
    names = {b.name: (b.parent.name if b.parent else None) for b in obj.data.bones}
    poses = {f: world_heads(obj, f) for f in (5, 16, 28)}
    path = export_fbx(obj, tmp_path / "metahuman.fbx")
    assert path == tmp_path / "metahuman.fbx" and path.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir()] == ["metahuman.fbx"]  # no temporary file left
    assert bpy.context.scene.frame_start == 1  # the scene's range is restored

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = 30
    bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)  # frames as written
    armatures = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(armatures) == 1 and len(bpy.data.objects) == 1  # the armature only, no leaf bones
    imported = armatures[0]
    assert {b.name: (b.parent.name if b.parent else None) for b in imported.data.bones} == names
    action = imported.animation_data.action
    assert tuple(round(x) for x in action.frame_range) == (5, 28)
    for f, heads in poses.items():
        got = world_heads(imported, f)
        worst = max(np.abs(got[n] - heads[n]).max() for n in heads)
        assert worst < 1e-4, (f, worst)


def test_export_refuses_what_it_cannot_write(animated_metahuman, tmp_path):
    obj, _ = animated_metahuman
    with pytest.raises(OutputError) as info:
        export_fbx(obj, tmp_path / "missing" / "out.fbx")
    assert "does not exist" in str(info.value) and "missing" in str(info.value)
    still = create_rig_armature("mixamo")
    with pytest.raises(SkeletonError, match="plays no action"):
        export_fbx(still, tmp_path / "still.fbx")
    mesh = bpy.data.objects.new("Cube", bpy.data.meshes.new("Cube"))
    bpy.context.collection.objects.link(mesh)
    with pytest.raises(SkeletonError, match="'Cube'"):
        export_fbx(mesh, tmp_path / "cube.fbx")
    assert list(tmp_path.iterdir()) == []


# --- the command line: .fbx and .blend output with --rig ---------------------------------------


def test_cli_writes_a_metahuman_fbx(empty_scene, tmp_path):
    out = tmp_path / "take.fbx"
    assert cli.main(["import", str(DEMO / "beat2_excerpt.npz"), "--out", str(out), "--rig", "metahuman",
                     "--frame-start", "3"]) == 0
    frames = read_motion(DEMO / "beat2_excerpt.npz").num_frames
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(out), anim_offset=0.0)
    (armature,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert armature.name == "Armature"  # Unreal reads it as the armature node, not a bone
    assert {b.name for b in armature.data.bones} == set(rig_layout("metahuman").skeleton.names)
    assert tuple(round(x) for x in armature.animation_data.action.frame_range) == (3, 2 + frames)
    # The pose, not only the names: what the same command writes to a BVH (core's reader).
    bvh = tmp_path / "take.bvh"
    assert cli.main(["import", str(DEMO / "beat2_excerpt.npz"), "--out", str(bvh), "--rig", "metahuman"]) == 0
    bpy.context.scene.render.fps = 30
    assert_plays_the_bvh(armature, bvh, frame_start=3)


def test_cli_writes_a_mixamo_blend(empty_scene, tmp_path):
    out = tmp_path / "take.blend"
    assert cli.main(["import", str(DEMO / "bandai_excerpt.bvh"), "--out", str(out), "--rig", "mixamo"]) == 0
    bpy.ops.wm.open_mainfile(filepath=str(out))
    (armature,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert armature.name == "Mixamo"
    assert {b.name for b in armature.data.bones} == set(rig_layout("mixamo").skeleton.names)
    keyed = {fc.data_path.split('"')[1] for fc in compat.action_fcurves(armature.animation_data.action, armature)}
    assert "mixamorig:LeftForeArm" in keyed and "mixamorig:HeadTop_End" not in keyed
    bvh = tmp_path / "take.bvh"
    assert cli.main(["import", str(DEMO / "bandai_excerpt.bvh"), "--out", str(bvh), "--rig", "mixamo"]) == 0
    assert_plays_the_bvh(armature, bvh, frame_start=1)
