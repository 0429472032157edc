"""`tokens import` to a .blend: exported tokens decoded onto an SMPL-X armature, the file
opened again. Reference: the decode command's .npz of the same tokens file, its joint
positions (core's forward kinematics) turned to Blender's axes by hand (x, y, z -> x, -z, y),
against the armature's evaluated pose-bone heads."""

from pathlib import Path

import bpy
import numpy as np
from motion_tokens.cli import main
from motion_tokens.core.formats import read_smplx_npz
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES

DEMO = Path(__file__).resolve().parents[2] / "demo" / "beat2_excerpt.npz"
TOLERANCE_M = 1e-3  # float32 keys, far below any pose error


def test_imported_tokens_play_on_the_blend_armature_as_decoded(tmp_path, empty_scene):
    tokens, exported = tmp_path / "take.npz", tmp_path / "take.jsonl"
    assert main(["encode", str(DEMO), "--codec", "rqvae4-6", "--out", str(tokens)]) == 0
    assert main(["decode", str(tokens), "--out", str(tmp_path / "decoded.npz")]) == 0
    assert main(["tokens", "export", str(tokens), "--out", str(exported)]) == 0
    out = tmp_path / "take.blend"
    assert main(["tokens", "import", str(exported), "--out", str(out)]) == 0

    bpy.ops.wm.open_mainfile(filepath=str(out))
    (armature,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert {b.name for b in armature.data.bones} == set(SMPLX_JOINT_NAMES)
    assert tuple(round(x) for x in armature.animation_data.action.frame_range) == (1, 150)
    p = read_smplx_npz(tmp_path / "decoded.npz").positions()
    reference = np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)
    world = np.array(armature.matrix_world)
    for frame in (1, 75, 150):
        bpy.context.scene.frame_set(frame)
        heads = np.array([armature.pose.bones[n].head for n in SMPLX_JOINT_NAMES]) @ world[:3, :3].T + world[:3, 3]
        assert np.abs(heads - reference[frame - 1]).max() < TOLERANCE_M, frame
