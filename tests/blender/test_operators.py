"""The import and export operators and the panel, registered in this process.

An operator that reports an error makes `bpy.ops` raise RuntimeError with the message (and the
operator returns {'CANCELLED'}); each failure test checks the message names the file or object
and that the scene (objects, armatures, actions, what each object plays) is as it was.
"""

from pathlib import Path

import bpy
import motion_tokens
import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import SkeletonError
from motion_tokens.core.formats import read_bvh, read_smplx_npz
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, Skeleton, smplx_skeleton
from motion_tokens.core.steps import Progress
from motion_tokens.scene import rig as rig_module
from motion_tokens.scene.armature import create_armature
from motion_tokens.scene.axes import vectors_to_blender
from motion_tokens.scene.compat import action_fcurves

pytestmark = pytest.mark.usefixtures("registered")

REPO = Path(__file__).resolve().parents[2]
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"
BANDAI_EXCERPT = REPO / "demo" / "bandai_excerpt.bvh"


def scene_state():
    """What an operator that cancels must leave as it was."""
    plays = {
        o.name: (o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
        for o in bpy.data.objects
    }
    return (
        sorted(o.name for o in bpy.data.objects),
        sorted(a.name for a in bpy.data.armatures),
        sorted(a.name for a in bpy.data.actions),
        plays,
    )


def keyframes(action, obj):
    """{(data_path, index): (n, 2) keyframe co} of the action's F-curves for `obj`."""
    out = {}
    for fc in action_fcurves(action, obj):
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(fc.data_path, fc.array_index)] = co.reshape(-1, 2)
    return out


def excerpt_frames() -> int:
    with np.load(BEAT2_EXCERPT) as data:
        return len(data["poses"])


def angle_between(q1, q2):
    return rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(q1), q2))


# --- import ---------------------------------------------------------------------------------


def test_import_onto_a_new_armature_plays_the_file(scene):
    T = excerpt_frames()
    assert bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT)) == {"FINISHED"}

    (obj,) = bpy.data.objects
    assert obj.type == "ARMATURE"
    assert sorted(b.name for b in obj.data.bones) == sorted(SMPLX_JOINT_NAMES)
    action = obj.animation_data.action
    assert action is not None
    assert tuple(action.frame_range) == (1.0, float(T))

    # Blender's evaluated pose against core's forward kinematics of the file, at a few frames.
    source = read_smplx_npz(BEAT2_EXCERPT)
    expected = vectors_to_blender(source.positions())  # (T, 55, 3), Blender axes
    for k in (0, T // 2, T - 1):
        scene.frame_set(1 + k)
        evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        heads = np.array([evaluated.pose.bones[n].head for n in SMPLX_JOINT_NAMES])
        np.testing.assert_allclose(heads, expected[k], atol=1e-4)


def test_import_starts_at_the_current_frame_or_the_given_one(scene):
    T = excerpt_frames()
    scene.frame_current = 7
    bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT))
    assert tuple(bpy.data.objects[0].animation_data.action.frame_range) == (7.0, 6.0 + T)

    bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT), use_current_frame=False, frame_start=-4)
    assert tuple(bpy.context.active_object.animation_data.action.frame_range) == (-4.0, -5.0 + T)


def test_import_keys_at_the_scene_frame_rate(scene):
    scene.render.fps = 24
    T = excerpt_frames()
    bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT))
    # (T - 1) / 30 seconds at 24 fps: every 1/24 s that falls inside the take, plus frame 0.
    expected_frames = int(np.floor((T - 1) * 24 / 30)) + 1
    assert tuple(bpy.context.active_object.animation_data.action.frame_range) == (1.0, float(expected_frames))


def test_import_onto_the_active_armature(scene):
    target = create_armature(smplx_skeleton(), name="Mine")
    before = sorted(o.name for o in bpy.data.objects)
    result = bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT), target="ACTIVE")
    assert result == {"FINISHED"}
    assert sorted(o.name for o in bpy.data.objects) == before  # no new armature
    assert target.animation_data.action.frame_range[1] == excerpt_frames()


def test_bvh_import_is_retargeted_onto_smplx(scene):
    assert bpy.ops.motion_tokens.import_motion(filepath=str(BANDAI_EXCERPT)) == {"FINISHED"}
    obj = bpy.context.active_object
    assert sorted(b.name for b in obj.data.bones) == sorted(SMPLX_JOINT_NAMES)
    frames = int(next(l for l in BANDAI_EXCERPT.read_text().splitlines() if l.startswith("Frames:")).split()[1])
    assert tuple(obj.animation_data.action.frame_range) == (1.0, float(frames))


def test_bvh_reading_notes_reach_the_operators_report(scene, capfd, caplog):
    """The unit guess and the retargeting notes are reported as the operator's warnings (what a
    Blender user sees in the status bar and the Info editor), not only logged."""
    capfd.readouterr()
    with caplog.at_level("WARNING"):
        assert bpy.ops.motion_tokens.import_motion(filepath=str(BANDAI_EXCERPT)) == {"FINISHED"}
    reported = [line for line in capfd.readouterr().out.splitlines() if line.startswith("Warning:")]
    assert any("read as cm" in line for line in reported), reported
    assert any("SMPL-X joints kept at rest" in line for line in reported), reported
    assert not [r for r in caplog.records if "read as cm" in r.getMessage()]  # reported, not logged


def test_import_twice_makes_a_second_action_and_leaves_the_first_alone(scene):
    bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT))
    obj = bpy.context.active_object
    first = obj.animation_data.action
    first_keys = keyframes(first, obj)

    bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT), target="ACTIVE", use_current_frame=False, frame_start=50)
    second = obj.animation_data.action
    assert second != first and second.name != first.name
    assert len(bpy.data.actions) == 2
    assert first.users >= 1  # kept (a fake user), not deleted
    after = keyframes(first, None)
    assert after.keys() == first_keys.keys()
    for key, co in first_keys.items():
        np.testing.assert_array_equal(after[key], co)


def test_operators_are_undoable():
    for op in (bpy.ops.motion_tokens.import_motion, bpy.ops.motion_tokens.export_motion):
        assert {"REGISTER", "UNDO"} <= set(op.bl_options)


def assert_cancelled(call, *names):
    """The operator fails with an error naming each of `names`, and the scene is unchanged."""
    before = scene_state()
    with pytest.raises(RuntimeError) as failure:
        call()
    for name in names:
        assert str(name) in str(failure.value)
    assert scene_state() == before


def test_import_onto_an_armature_lacking_bones_is_cancelled(scene):
    partial = Skeleton(("pelvis", "left_hip", "spine1"), (-1, 0, 0), np.array([[0, 0.9, 0], [0.1, -0.1, 0], [0, 0.1, 0]]))
    obj = create_armature(partial, name="Partial")
    bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT))  # some other action exists
    bpy.context.view_layer.objects.active = obj
    assert_cancelled(
        lambda: bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT), target="ACTIVE"),
        "Partial", "right_hip",
    )
    assert obj.animation_data is None or obj.animation_data.action is None


def test_import_onto_the_active_object_when_it_is_no_armature_is_cancelled(scene):
    mesh = bpy.data.objects.new("Plain", None)
    scene.collection.objects.link(mesh)
    bpy.context.view_layer.objects.active = mesh
    assert_cancelled(
        lambda: bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT), target="ACTIVE"), "Plain"
    )


def test_import_of_a_missing_file_is_cancelled(scene, tmp_path):
    missing = tmp_path / "no_such_take.npz"
    assert_cancelled(lambda: bpy.ops.motion_tokens.import_motion(filepath=str(missing)), missing)


@pytest.mark.parametrize("name, keep", [("truncated.bvh", 3000), ("truncated.npz", 40_000)])
def test_import_of_a_truncated_file_is_cancelled(scene, tmp_path, name, keep):
    source = BANDAI_EXCERPT if name.endswith(".bvh") else BEAT2_EXCERPT
    path = tmp_path / name
    path.write_bytes(source.read_bytes()[:keep])
    assert_cancelled(lambda: bpy.ops.motion_tokens.import_motion(filepath=str(path)), path)


def test_bvh_cut_inside_its_frames_is_cancelled(scene, tmp_path):
    text = BANDAI_EXCERPT.read_bytes()
    path = tmp_path / "cut_frames.bvh"
    path.write_bytes(text[: len(text) - len(text) // 4])  # the frame count promises more lines
    assert_cancelled(lambda: bpy.ops.motion_tokens.import_motion(filepath=str(path)), path)


@pytest.mark.parametrize("leave_half_made_action", [False, True])
def test_a_failed_write_removes_the_new_armature(scene, monkeypatch, leave_half_made_action):
    def failing_write(obj, motion, **kwargs):  # steps, as write_motion_steps
        yield Progress(0, 1, "keying")
        if leave_half_made_action:
            bpy.data.actions.new("half made")
        raise SkeletonError(f"simulated failure keying {obj.name}")

    monkeypatch.setattr(rig_module, "write_motion_steps", failing_write)  # the import keys through scene.rig
    assert_cancelled(lambda: bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT)), "simulated")
    assert len(bpy.data.armatures) == 0 and len(bpy.data.actions) == 0


# --- export ---------------------------------------------------------------------------------


def test_export_reads_back_as_the_imported_motion(scene, tmp_path):
    bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT))
    out = tmp_path / "exported.npz"
    assert bpy.ops.motion_tokens.export_motion(filepath=str(out), file_format="BOTH") == {"FINISHED"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exported.bvh", "exported.npz"]

    source = read_smplx_npz(BEAT2_EXCERPT)
    back = read_smplx_npz(out)
    assert back.num_frames == source.num_frames and back.fps == 30
    # Keys are float32 quaternions: rotations agree to about 1e-4 rad (0.006 degrees).
    assert np.max(angle_between(back.rotations, source.rotations)) < 2e-4
    np.testing.assert_allclose(back.trans, source.trans, atol=1e-5)

    bvh = read_bvh(tmp_path / "exported.bvh")
    order = [bvh.skeleton.index(n) for n in SMPLX_JOINT_NAMES]
    np.testing.assert_allclose(bvh.positions()[:, order], source.positions(), atol=1e-3)


def test_export_with_no_armature_is_cancelled_and_writes_nothing(scene, tmp_path):
    out = tmp_path / "take.npz"
    assert_cancelled(lambda: bpy.ops.motion_tokens.export_motion(filepath=str(out)))
    assert list(tmp_path.iterdir()) == []


def test_export_of_an_armature_without_action_is_cancelled(scene, tmp_path):
    create_armature(smplx_skeleton(), name="Still")
    assert_cancelled(lambda: bpy.ops.motion_tokens.export_motion(filepath=str(tmp_path / "t.npz")), "Still")
    assert list(tmp_path.iterdir()) == []


def test_export_of_an_armature_lacking_bones_keeps_an_existing_file(scene, tmp_path):
    partial = Skeleton(("pelvis", "spine1"), (-1, 0), np.array([[0, 0.9, 0], [0, 0.1, 0]]))
    obj = create_armature(partial, name="Partial")
    obj.pose.bones["pelvis"].keyframe_insert("location", frame=1)  # an action, so the operator's poll passes
    out = tmp_path / "take.npz"
    out.write_bytes(b"previous content")
    assert_cancelled(lambda: bpy.ops.motion_tokens.export_motion(filepath=str(out)), "Partial", "left_hip")
    assert out.read_bytes() == b"previous content"
    assert list(tmp_path.iterdir()) == [out]


def test_export_to_a_missing_folder_is_cancelled(scene, tmp_path):
    bpy.ops.motion_tokens.import_motion(filepath=str(BEAT2_EXCERPT))
    out = tmp_path / "no_folder" / "take.npz"
    assert_cancelled(lambda: bpy.ops.motion_tokens.export_motion(filepath=str(out)), out)


# --- panel and settings ---------------------------------------------------------------------


class RecordingLayout:
    """Stands in for UILayout: checks every property and operator the panel draws exists."""

    def __init__(self):
        self.props, self.operators = [], []

    def column(self, **kwargs):
        return self

    row = column

    def prop(self, data, name, **kwargs):
        assert name in data.bl_rna.properties, name
        self.props.append(name)

    def operator(self, idname, **kwargs):
        category, name = idname.split(".")
        assert hasattr(bpy.types, f"{category.upper()}_OT_{name}"), idname
        self.operators.append(idname)


def test_panel_draws_the_settings_and_both_operators(scene):
    panel_type = bpy.types.MOTION_TOKENS_PT_main
    assert (panel_type.bl_space_type, panel_type.bl_region_type, panel_type.bl_category) == (
        "VIEW_3D", "UI", "Motion Tokens",
    )
    settings = scene.motion_tokens
    assert (settings.target, settings.use_current_frame, settings.smplx_model_folder) == ("NEW", True, "")

    panel = type("PanelStandIn", (), {"layout": RecordingLayout()})()
    panel_type.draw(panel, bpy.context)
    assert set(panel.layout.props) == {"target", "use_current_frame", "frame_start", "smplx_model_folder"}
    assert panel.layout.operators == ["motion_tokens.import_motion", "motion_tokens.export_motion"]


def test_unregister_removes_every_class_and_the_settings():
    motion_tokens.unregister()
    try:
        assert not hasattr(bpy.types, "MOTION_TOKENS_OT_import_motion")
        assert not hasattr(bpy.types, "MOTION_TOKENS_OT_export_motion")
        assert not hasattr(bpy.types, "MOTION_TOKENS_PT_main")
        assert not hasattr(bpy.types.Scene, "motion_tokens")
    finally:
        motion_tokens.register()
    assert hasattr(bpy.types, "MOTION_TOKENS_OT_import_motion")
