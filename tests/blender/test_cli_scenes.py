"""The command line's .blend and .fbx output on the shared data: import (BEAT2 .npz in, .blend
out; Bandai BVH in, MetaHuman .fbx out) and decode to .blend, each file opened again."""

from pathlib import Path

import numpy as np

import bpy
from motion_tokens.cli import main
from motion_tokens.core.formats import read_motion
from motion_tokens.core.retarget import rig_layout
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES
from motion_tokens.scene.actions import read_motion as read_action_motion

BEAT2 = "beat2/2_scott_0_1_1.npz"
BANDAI = "bandai/dataset-1/dataset-1_bow_active_001.bvh"
DEMO = Path(__file__).resolve().parents[2] / "demo"


def opened_armature(path: Path):
    """The one armature of the .blend at `path`, opened."""
    bpy.ops.wm.open_mainfile(filepath=str(path))
    (armature,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    return armature


def test_import_beat2_to_blend_plays_the_take(data_dir, tmp_path, empty_scene, capsys):
    out = tmp_path / "take.blend"
    assert main(["import", str(data_dir / BEAT2), "--out", str(out), "--frame-start", "5"]) == 0
    source = read_motion(data_dir / BEAT2)
    assert f"SMPL-X armature with {source.num_frames} frames" in capsys.readouterr().out
    armature = opened_armature(out)
    assert {b.name for b in armature.data.bones} == set(SMPLX_JOINT_NAMES)
    assert tuple(round(x) for x in armature.animation_data.action.frame_range) == (5, 4 + source.num_frames)
    back = read_action_motion(armature, source.skeleton)
    assert np.max(np.abs(back.positions() - source.positions())) < 1e-3  # metres


def test_import_bandai_to_a_metahuman_fbx(data_dir, tmp_path, empty_scene):
    out = tmp_path / "bandai.fbx"
    assert main(["import", str(data_dir / BANDAI), "--out", str(out), "--rig", "metahuman"]) == 0
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(out), anim_offset=0.0)
    (armature,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert {b.name for b in armature.data.bones} == set(rig_layout("metahuman").skeleton.names)
    frames = read_motion(data_dir / BANDAI).num_frames
    assert tuple(round(x) for x in armature.animation_data.action.frame_range) == (1, frames)


def test_decode_to_blend(tmp_path, empty_scene, capsys):
    tokens = tmp_path / "tokens.npz"
    assert main(["encode", str(DEMO / "beat2_excerpt.npz"), "--codec", "kmeans-6", "--out", str(tokens)]) == 0
    out = tmp_path / "decoded.blend"
    assert main(["decode", str(tokens), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().endswith("decoded with kmeans-6-body, kmeans-6-hands")
    decoded = read_motion(tokens)  # the tokens file holds the decoded motion
    armature = opened_armature(out)
    back = read_action_motion(armature, decoded.skeleton)
    assert back.num_frames == decoded.num_frames
    assert np.max(np.abs(back.positions() - decoded.positions())) < 1e-3
