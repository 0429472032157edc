"""The command line's .blend and .fbx output, each file opened again and its evaluated pose
compared with an independent reference: import (BEAT2 .npz in, .blend out; Bandai BVH in,
MetaHuman .fbx out) and decode to .blend and .fbx (SMPL-X, and on MetaHuman).

References: Blender's own evaluated pose (pose-bone heads after `frame_set`, in world space)
against a plain forward kinematics written here (scipy rotation vectors, one joint at a
time) of the motion the command wrote, read from the .npz arrays; the axes changed by hand
(SMPL-X x, y, z -> Blender x, -z, y). For a rig's FBX the reference is the same command's
BVH output read with core's BVH reader (another writer and another reader), its heads
matched bone by bone with what Blender's FBX importer plays.
"""

from pathlib import Path

import bpy
import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.core.formats import read_bvh, read_motion
from motion_tokens.core.retarget import rig_layout
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, SMPLX_PARENTS
from scipy.spatial.transform import Rotation

BEAT2 = "beat2/2_scott_0_1_1.npz"
BANDAI = "bandai/dataset-1/dataset-1_bow_active_001.bvh"
DEMO = Path(__file__).resolve().parents[2] / "demo"
TOLERANCE_M = 1e-3  # a millimetre: float32 keys and the FBX writer's rounding, far below any pose error


def opened_armature(path: Path):
    """The one armature of the .blend at `path`, opened."""
    bpy.ops.wm.open_mainfile(filepath=str(path))
    (armature,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    return armature


def imported_fbx_armature(path: Path):
    """The one armature Blender's FBX importer makes of `path`, frames as written."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.scene.render.fps = 30
    bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)
    (armature,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    return armature


def evaluated_heads(obj, frame: int, names) -> np.ndarray:
    """(len(names), 3) world positions of the pose bones' heads at `frame`, Blender axes."""
    bpy.context.scene.frame_set(frame)
    world = np.array(obj.matrix_world)
    heads = np.array([obj.pose.bones[n].head for n in names])
    return heads @ world[:3, :3].T + world[:3, 3]


def smplx_fk_in_blender_axes(path: Path) -> np.ndarray:
    """(T, 55, 3) world joint positions of the SMPL-X motion in the .npz at `path` (Blender
    axes, metres): its `poses` and `trans` arrays through a plain FK on the rest offsets."""
    with np.load(path, allow_pickle=False) as data:
        poses, trans = data["poses"].astype(np.float64), data["trans"].astype(np.float64)
    offsets = np.array(read_motion(path).skeleton.offsets, dtype=np.float64)
    T = len(poses)
    local = Rotation.from_rotvec(poses.reshape(-1, 3)).as_matrix().reshape(T, 55, 3, 3)
    G, P = np.empty_like(local), np.empty((T, 55, 3))
    for j, parent in enumerate(SMPLX_PARENTS):
        if parent < 0:
            G[:, j], P[:, j] = local[:, j], offsets[j] + trans
        else:
            G[:, j] = G[:, parent] @ local[:, j]
            P[:, j] = P[:, parent] + G[:, parent] @ offsets[j]
    return np.stack([P[..., 0], -P[..., 2], P[..., 1]], axis=-1)  # Y up, facing +Z -> Z up, facing -Y


def assert_plays_the_motion(obj, reference: np.ndarray, frame_start: int, names=SMPLX_JOINT_NAMES):
    """The armature's evaluated heads at the first, a middle and the last frame equal the
    reference (T, J, 3), row order `names`; the pose changes between them (not a rest pose)."""
    T = len(reference)
    for i in (0, T // 2, T - 1):
        got = evaluated_heads(obj, frame_start + i, names)
        worst = np.abs(got - reference[i]).max()
        assert worst < TOLERANCE_M, f"frame {frame_start + i}: a head is {worst * 1000:.2f} mm off"
    assert np.abs(reference[T // 2] - reference[0]).max() > 10 * TOLERANCE_M  # a moving take


@pytest.fixture(scope="module")
def demo_tokens(tmp_path_factory):
    """The demo excerpt coded with the shipped kmeans-6 (the tokens file holds the decoded motion)."""
    tokens = tmp_path_factory.mktemp("tokens") / "tokens.npz"
    assert main(["encode", str(DEMO / "beat2_excerpt.npz"), "--codec", "kmeans-6", "--out", str(tokens)]) == 0
    return tokens


def test_import_beat2_to_blend_plays_the_take(data_dir, tmp_path, empty_scene, capsys):
    out = tmp_path / "take.blend"
    assert main(["import", str(data_dir / BEAT2), "--out", str(out), "--frame-start", "5"]) == 0
    source = read_motion(data_dir / BEAT2)
    assert f"SMPL-X armature with {source.num_frames} frames" in capsys.readouterr().out
    armature = opened_armature(out)
    assert {b.name for b in armature.data.bones} == set(SMPLX_JOINT_NAMES)
    assert tuple(round(x) for x in armature.animation_data.action.frame_range) == (5, 4 + source.num_frames)
    assert_plays_the_motion(armature, smplx_fk_in_blender_axes(data_dir / BEAT2), 5)


def test_import_bandai_to_a_metahuman_fbx_plays_the_retargeted_take(data_dir, tmp_path, empty_scene):
    out = tmp_path / "bandai.fbx"
    assert main(["import", str(data_dir / BANDAI), "--out", str(out), "--rig", "metahuman"]) == 0
    assert main(["import", str(data_dir / BANDAI), "--out", str(tmp_path / "bandai.bvh"), "--rig", "metahuman"]) == 0
    armature = imported_fbx_armature(out)
    assert {b.name for b in armature.data.bones} == set(rig_layout("metahuman").skeleton.names)
    frames = read_motion(data_dir / BANDAI).num_frames
    assert tuple(round(x) for x in armature.animation_data.action.frame_range) == (1, frames)
    assert_plays_the_bvh(armature, tmp_path / "bandai.bvh", frame_start=1)


def assert_plays_the_bvh(armature, bvh: Path, frame_start: int):
    """The FBX armature plays what the same command wrote to a BVH (read by core's reader),
    every bone below the rig's root. The root bone itself is left out: a BVH carries the
    motion's translation on its root joint, the scene writer on the pelvis below a root that
    stays at the origin, so only the root's own head differs (the pelvis and everything under
    it are where both files put them)."""
    written = read_bvh(bvh)
    names = [n for j, n in enumerate(written.skeleton.names) if written.skeleton.parents[j] >= 0]
    assert set(names) <= set(armature.pose.bones.keys()) and len(names) == written.skeleton.num_joints - 1
    columns = [written.skeleton.index(n) for n in names]
    p = written.positions()[:, columns]
    assert_plays_the_motion(armature, np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1), frame_start, names)


def test_decode_to_blend_plays_the_decoded_motion(demo_tokens, tmp_path, empty_scene, capsys):
    out = tmp_path / "decoded.blend"
    assert main(["decode", str(demo_tokens), "--out", str(out)]) == 0
    # the excerpt carries expressions, so --codec kmeans-6 coded all three parts
    assert capsys.readouterr().out.strip().endswith("decoded with kmeans-6-body, kmeans-6-hands, kmeans-6-face")
    armature = opened_armature(out)
    assert {b.name for b in armature.data.bones} == set(SMPLX_JOINT_NAMES)
    reference = smplx_fk_in_blender_axes(demo_tokens)  # the tokens file holds the decoded motion
    assert tuple(round(x) for x in armature.animation_data.action.frame_range) == (1, len(reference))
    assert_plays_the_motion(armature, reference, 1)


def test_decode_to_fbx_plays_the_decoded_motion(demo_tokens, tmp_path, empty_scene):
    out = tmp_path / "decoded.fbx"
    assert main(["decode", str(demo_tokens), "--out", str(out)]) == 0
    armature = imported_fbx_armature(out)
    assert {b.name for b in armature.data.bones} == set(SMPLX_JOINT_NAMES)
    reference = smplx_fk_in_blender_axes(demo_tokens)
    assert tuple(round(x) for x in armature.animation_data.action.frame_range) == (1, len(reference))
    assert_plays_the_motion(armature, reference, 1)


def test_decode_onto_metahuman_fbx_plays_the_decoded_bvh(demo_tokens, tmp_path, empty_scene):
    out = tmp_path / "decoded.fbx"
    assert main(["decode", str(demo_tokens), "--out", str(out), "--rig", "metahuman"]) == 0
    assert main(["decode", str(demo_tokens), "--out", str(tmp_path / "decoded.bvh"), "--rig", "metahuman"]) == 0
    armature = imported_fbx_armature(out)
    assert_plays_the_bvh(armature, tmp_path / "decoded.bvh", frame_start=1)
