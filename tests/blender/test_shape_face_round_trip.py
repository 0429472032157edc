"""Import then Export keeps the take's body shape, gender and face (scene.take).

References: the arrays of the file imported, read with numpy; at another scene rate, the
file's expressions interpolated here with np.interp at the exported frames' times.
"""

import os
from pathlib import Path

import bpy
import numpy as np
import pytest
from motion_tokens.core.codecs.coding import encode_parts
from motion_tokens.core.formats import read_motion
from motion_tokens.core.parts import FACE_EXPRESSIONS
from motion_tokens.core.skeleton import smplx_skeleton
from motion_tokens.pipelines.export import ExportOptions, export_motion
from motion_tokens.scene.armature import create_armature
from motion_tokens.scene.targets import read_active_motion

pytestmark = pytest.mark.usefixtures("registered")

REPO = Path(__file__).resolve().parents[2]
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"
DATA = Path(os.environ.get("MOTION_TOKENS_DATA", REPO.parent / "shared" / "data"))
BEAT2_TAKE = DATA / "beat2" / "2_scott_0_1_1.npz"


@pytest.fixture
def female_take(tmp_path):
    """The excerpt with gender 'female', so a kept gender cannot be the writer's default."""
    with np.load(BEAT2_EXCERPT) as data:
        arrays = dict(data)
    arrays["gender"] = np.asarray("female")
    path = tmp_path / "female_take.npz"
    np.savez(path, **arrays)
    return path


def file_arrays(path):
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def test_the_beat2_take_exports_its_betas_and_expressions(scene, tmp_path):
    if not BEAT2_TAKE.is_file():
        pytest.skip(f"the BEAT2 take is not at {BEAT2_TAKE} (set MOTION_TOKENS_DATA)")
    assert bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_TAKE)) == {"FINISHED"}
    out = tmp_path / "take.npz"
    assert bpy.ops.motion_tokens.export_motion(filepath=str(out)) == {"FINISHED"}
    source, back = file_arrays(BEAT2_TAKE), file_arrays(out)
    assert np.abs(source["betas"]).max() > 0.1 and np.abs(source["expressions"]).max() > 0.1
    np.testing.assert_allclose(back["betas"], source["betas"], atol=1e-6)
    np.testing.assert_allclose(back["expressions"], source["expressions"], atol=1e-6)


def test_gender_and_shape_survive_and_nothing_is_warned(scene, tmp_path, female_take):
    bpy.ops.motion_tokens.import_motion(filepath=str(female_take))
    result = export_motion(ExportOptions(str(tmp_path / "back.npz"), "NPZ"), read_active_motion(bpy.context))
    assert result.warnings == []
    back, source = file_arrays(tmp_path / "back.npz"), file_arrays(female_take)
    assert str(back["gender"]) == "female"
    np.testing.assert_allclose(back["betas"], source["betas"], atol=1e-6)
    np.testing.assert_allclose(back["expressions"], source["expressions"], atol=1e-6)


def test_expressions_are_resampled_to_the_scene_rate_from_a_later_start(scene, tmp_path):
    scene.render.fps = 24
    scene.frame_current = 11
    bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT))
    out = tmp_path / "at24.npz"
    bpy.ops.motion_tokens.export_motion(filepath=str(out))
    source, back = file_arrays(BEAT2_EXCERPT), file_arrays(out)
    assert float(back["mocap_frame_rate"]) == 24
    times = np.arange(len(back["poses"])) / 24.0
    file_times = np.arange(len(source["poses"])) / 30.0
    expect = np.stack([np.interp(times, file_times, source["expressions"][:, e]) for e in range(100)], axis=1)
    np.testing.assert_allclose(back["expressions"], expect, atol=1e-5)
    np.testing.assert_allclose(back["betas"], source["betas"], atol=1e-6)


def test_an_action_keyed_by_hand_warns_that_shape_and_face_are_unknown(scene, tmp_path):
    obj = create_armature(smplx_skeleton(), name="Hand keyed")
    pose = obj.pose.bones["left_elbow"]
    pose.rotation_mode = "XYZ"
    pose.keyframe_insert("rotation_euler", frame=1)
    pose.rotation_euler = (0.5, 0.0, 0.0)
    pose.keyframe_insert("rotation_euler", frame=10)
    result = export_motion(ExportOptions(str(tmp_path / "hand.npz"), "NPZ"), read_active_motion(bpy.context))
    assert any("keyed by hand" in w and "zeros" in w for w in result.warnings), result.warnings
    assert not np.any(file_arrays(tmp_path / "hand.npz")["betas"])


def test_a_bvh_import_says_the_shape_and_face_were_never_known(scene, tmp_path):
    bpy.ops.motion_tokens.import_motion(filepath=str(REPO / "demo" / "bandai_excerpt.bvh"))
    result = export_motion(ExportOptions(str(tmp_path / "b.npz"), "NPZ"), read_active_motion(bpy.context))
    assert any("had no body shape (betas) and no face expressions" in w for w in result.warnings), result.warnings


def test_quantize_action_carries_shape_gender_and_face_to_the_new_action(scene, tmp_path, female_take):
    bpy.ops.motion_tokens.import_motion(filepath=str(female_take))
    obj = bpy.context.active_object
    original = obj.animation_data.action
    assert bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6",
                                                  face_codec="kmeans-6") == {"FINISHED"}
    assert obj.animation_data.action != original
    result = export_motion(ExportOptions(str(tmp_path / "q.npz"), "NPZ"), read_active_motion(bpy.context))
    assert result.warnings == []
    back, source = file_arrays(tmp_path / "q.npz"), file_arrays(female_take)
    assert str(back["gender"]) == "female"
    np.testing.assert_allclose(back["betas"], source["betas"], atol=1e-6)
    # The face is a coded part: the coefficients it codes
    # are those core's coding decodes, the ones after them are the take's, carried over untouched.
    coded = FACE_EXPRESSIONS
    np.testing.assert_allclose(back["expressions"][:, coded:], source["expressions"][:, coded:], atol=1e-5)
    decoded = encode_parts(read_motion(female_take), {"face": "kmeans-6"}).decoded.expressions
    np.testing.assert_allclose(back["expressions"][:, :coded], decoded[:, :coded], atol=1e-5)
    assert not np.allclose(back["expressions"][:, :coded], source["expressions"][:, :coded], atol=1e-3)

