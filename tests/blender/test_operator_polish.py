"""The small things a Blender user notices: file permissions and names of the outputs, no
backup file beside a replaced .blend, the export's overwrite check, the names of quantized
actions and the operators' poll (greyed-out buttons with the reason)."""

import os
from pathlib import Path

import bpy
import pytest
from motion_tokens.core.errors import OutputError
from motion_tokens.core.formats import read_motion
from motion_tokens.core.skeleton import smplx_skeleton
from motion_tokens.pipelines.export import ExportOptions, export_motion
from motion_tokens.scene.armature import create_armature
from motion_tokens.scene.fbx import export_fbx
from motion_tokens.scene.outputs import write_blend
from motion_tokens.scene.rig import create_rig_armature, retarget_onto_armature
from motion_tokens.scene.targets import read_active_motion

pytestmark = pytest.mark.usefixtures("registered")

DEMO = Path(__file__).resolve().parents[2] / "demo"
UMASK = os.umask(0)
os.umask(UMASK)


@pytest.fixture
def metahuman(empty_scene):
    empty_scene.render.fps = 30
    obj = create_rig_armature("metahuman")
    result = retarget_onto_armature(obj, read_motion(DEMO / "beat2_excerpt.npz").frames(0, 12),
                                    action_name="Wave take")
    return obj, result.action


def test_an_fbx_gets_the_usual_permissions(metahuman, tmp_path):
    obj, _ = metahuman
    path = export_fbx(obj, tmp_path / "wave.fbx")
    assert path.stat().st_mode & 0o777 == 0o666 & ~UMASK


def test_the_fbx_take_is_named_after_the_action(metahuman, tmp_path):
    obj, action = metahuman
    scene_name = bpy.context.scene.name
    path = export_fbx(obj, tmp_path / "wave.fbx")
    assert bpy.context.scene.name == scene_name  # restored
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(path))
    (imported,) = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert imported.animation_data.action.name == f"{imported.name}|Wave take"


def test_a_failed_fbx_write_names_the_file_asked_for(metahuman, tmp_path, monkeypatch):
    import io_scene_fbx.export_fbx_bin as exporter

    def disk_full(operator, context, filepath="", **kw):
        raise OSError(28, "No space left on device", filepath)

    monkeypatch.setattr(exporter, "save", disk_full)
    obj, _ = metahuman
    with pytest.raises(OutputError) as info:
        export_fbx(obj, tmp_path / "wave.fbx")
    message = str(info.value)
    assert str(tmp_path / "wave.fbx") in message and "No space left" in message
    assert ".wave." not in message  # not the hidden temporary file
    assert list(tmp_path.iterdir()) == []


def test_replacing_a_blend_leaves_no_backup_beside_it(empty_scene, tmp_path):
    motion = read_motion(DEMO / "beat2_excerpt.npz").frames(0, 6)
    path = tmp_path / "take.blend"
    write_blend(path, motion)
    write_blend(path, motion)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.blend"]
    assert bpy.context.preferences.filepaths.save_version == 1  # the preference is restored


def test_export_checks_for_an_existing_file_and_says_it_replaced_one(empty_scene, tmp_path):
    props = bpy.ops.motion_tokens.export_motion.get_rna_type().properties
    assert props["check_existing"].default is True  # the file browser's red "overwrite" warning
    bpy.ops.motion_tokens.import_motion(filepath=str(DEMO / "beat2_excerpt.npz"))
    out = tmp_path / "take.npz"
    out.write_bytes(b"older")
    result = export_motion(ExportOptions(str(out), "NPZ"), read_active_motion(bpy.context))
    assert "Replaced the existing take.npz" in result.lines
    fresh = export_motion(ExportOptions(str(tmp_path / "new.npz"), "NPZ"), read_active_motion(bpy.context))
    assert not any("Replaced" in line for line in fresh.lines)


def test_requantizing_names_the_action_after_the_take_not_the_last_codec(empty_scene):
    empty_scene.render.fps = 30
    bpy.ops.motion_tokens.import_motion(filepath=str(DEMO / "beat2_excerpt.npz"))
    obj = bpy.context.active_object
    take = obj.animation_data.action.name
    # One codec shared by several parts is named once, first; the others by part.
    bpy.ops.motion_tokens.quantize_action(body_codec="rqvae-9", hands_codec="rqvae-9", face_codec="kmeans-6")
    assert obj.animation_data.action.name == f"{take} rqvae-9, kmeans-6 face"
    bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="rqvae-6", face_codec="kmeans-6")
    assert obj.animation_data.action.name == f"{take} kmeans-6, rqvae-6 hands"
    bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="rqvae-6", face_codec="kmeans-6")
    assert obj.animation_data.action.name == f"{take} kmeans-6, rqvae-6 hands [2]"
    bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6", face_codec="kmeans-6")
    assert obj.animation_data.action.name == f"{take} kmeans-6"


@pytest.mark.parametrize("operator", ["export_motion", "quantize_action"])
def test_operators_on_the_active_action_poll_with_the_reason(empty_scene, operator):
    op = getattr(bpy.ops.motion_tokens, operator)
    assert not op.poll()  # nothing active
    assert bpy.ops.motion_tokens.import_motion.poll()  # an import needs nothing selected
    with pytest.raises(RuntimeError, match="Select an armature"):
        op()
    mesh = bpy.data.objects.new("Cube", bpy.data.meshes.new("Cube"))
    empty_scene.collection.objects.link(mesh)
    bpy.context.view_layer.objects.active = mesh
    with pytest.raises(RuntimeError, match="'Cube' is a mesh"):
        op()
    create_armature(smplx_skeleton(), name="Still")
    with pytest.raises(RuntimeError, match="'Still' plays no action"):
        op()
    bpy.ops.motion_tokens.import_motion(filepath=str(DEMO / "beat2_excerpt.npz"), target="ACTIVE")
    assert op.poll()
