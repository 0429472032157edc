"""Edit by Tokens, the codes at a frame, Solo Code and Token Markers on a rig armature (issue 16).

The action: demo/beat2_excerpt.npz imported onto a MetaHuman-compatible rig (as
test_rig_readback does) and quantized there with the shipped kmeans-6 body bundle (and a tiny
hands k-means, as there). Edit by Tokens puts one code on the body for scene frames 60-90.

References. The stored tokens (read off the action by scene.tokens_prop); the codec's own edit
of them (core.inspect.token_edit.edit_motion_tokens of the motion read back from the quantized
action, scene.rig_reading) and, independently, the code's centroid (kmeans decode of one row);
the quantized action's keys, byte for byte.

Bounds. Inside the edit window the new keys are the decode retargeted through the bone map and
keyed as float32 quaternions; reading them back through the inverse map gives the decode within
the round trip's bound of test_rig_readback (2e-4 degrees: float32 keys and rest matrices down
chains of up to 15 bones, measured here at most about 5e-6). Outside the window no key of the
action is touched, so the read-back there is the original read-back to the bit (bound 0). The
rig bones the body does not drive (pelvis, metacarpals, fingers, root) keep every key.
"""

from pathlib import Path

import bpy
import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.codecs import registry
from motion_tokens.core.codecs.coding import EncodedMotion, load_codecs
from motion_tokens.core.inspect.token_edit import edit_motion_tokens, edited_tokens
from motion_tokens.core.parts import get_part
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, smplx_skeleton
from motion_tokens.panels import properties as panel_properties
from motion_tokens.panels.tokens import frame_codes
from motion_tokens.scene.compat import action_fcurves
from motion_tokens.scene.rig import create_rig_armature
from motion_tokens.scene.rig_reading import read_rig_motion
from motion_tokens.scene.rig_space import rig_space
from motion_tokens.scene.token_actions import driven_bones
from motion_tokens.scene.tokens_prop import read_tokens
from stand_in_models import stand_in_models

pytestmark = pytest.mark.usefixtures("registered")

EXCERPT = Path(__file__).resolve().parents[2] / "demo" / "beat2_excerpt.npz"
ROT_BOUND = 2e-4  # degrees, see the module docstring
UNREAD = ["jaw", "left_eye_smplhf", "right_eye_smplhf"]  # MetaHuman has no bone for them
BODY = list(get_part("body").joints)
FIRST, LAST = 60, 90  # scene frames; frame_start 1 at 30 fps: motion frames [59, 90)
START, STOP = 59, 90
MARGIN = 6  # kmeans-6 body's default blend margin (30 fps frames)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return stand_in_models(tmp_path_factory.mktemp("models"), EXCERPT)


@pytest.fixture
def use_models(monkeypatch, models):
    monkeypatch.setattr(registry, "MODELS_DIR", models)
    panel_properties.CATALOGUE.refresh()
    yield models
    monkeypatch.undo()
    panel_properties.CATALOGUE.refresh()


def quantized_metahuman():
    """(rig, imported action, quantized action) on a MetaHuman-compatible rig."""
    obj = create_rig_armature("metahuman")
    assert bpy.ops.motion_tokens.import_motion(filepath=str(EXCERPT), target="ACTIVE") == {"FINISHED"}
    original = obj.animation_data.action
    assert bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6") == {"FINISHED"}
    return obj, original, obj.animation_data.action


def keys(action, obj):
    out = {}
    for fc in action_fcurves(action, obj):
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(fc.data_path, fc.array_index)] = co.reshape(-1, 2)
    return out


def angles(a, b):
    """(T, J) degrees between the rotations a and b."""
    return np.degrees(rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(a), b)))


def unused_code(tokens):
    return next(c for c in range(64) if c not in tokens)


def test_edit_by_tokens_on_a_metahuman_rekeys_the_window_through_the_bone_map(scene, use_models, capfd):
    obj, original, new = quantized_metahuman()
    before_original, before_new = keys(original, obj), keys(new, obj)
    record = read_tokens(new)
    assert record is not None and record.frame_start == 1
    smplx = smplx_skeleton()
    reading = read_rig_motion(obj, smplx, action=new)
    T = record.num_frames
    assert reading.motion.num_frames == T
    code = unused_code(record.tokens["body"])
    capfd.readouterr()
    assert bpy.ops.motion_tokens.edit_by_tokens(part="body", code=str(code), frame_first=FIRST,
                                                frame_last=LAST) == {"FINISHED"}
    assert f"blend margin {MARGIN} frames" in capfd.readouterr().out
    edited = obj.animation_data.action
    assert edited not in (original, new) and edited.name == f"{new.name} edit"
    assert bpy.context.active_object == obj and len(bpy.data.objects) == 1
    # The originals are kept, byte for byte.
    for action, before in ((original, before_original), (new, before_new)):
        after = keys(action, obj)
        assert after.keys() == before.keys() and all(after[k].tobytes() == v.tobytes() for k, v in before.items())

    # The keys: only the bones the body drives, only on the window's frames.
    driven = driven_bones(rig_space(obj, smplx), smplx, [SMPLX_JOINT_NAMES[j] for j in BODY])
    assert {"spine_01", "spine_05", "thigh_l", "hand_r", "head"} <= set(driven)
    assert not {"pelvis", "root", "index_metacarpal_l", "index_01_l", "thumb_03_r"} & set(driven)
    driven_paths = {f'pose.bones["{b}"].rotation_quaternion' for b in driven}
    window = np.arange(START - MARGIN, STOP + MARGIN)
    outside = np.setdiff1d(np.arange(T), window)
    after = keys(edited, obj)
    assert after.keys() == before_new.keys()
    changed = set()
    for key, co in before_new.items():
        if key[0] in driven_paths:
            assert after[key][outside].tobytes() == co[outside].tobytes(), key
            np.testing.assert_array_equal(after[key][:, 0], co[:, 0])  # the same frames keyed
            if not np.array_equal(after[key][window], co[window]):
                changed.add(key[0])
        else:
            assert after[key].tobytes() == co.tobytes(), key
    assert changed == driven_paths  # every driven bone moved somewhere in the window

    # Read back: the codec's edit of the tokens, decoded, within the round trip's bound.
    codec = load_codecs({"body": "kmeans-6"})["body"]
    expected = edit_motion_tokens(EncodedMotion({"body": record.tokens["body"]}, reading.motion, {"body": codec}),
                                  "body", START, STOP, code, MARGIN)
    back = read_rig_motion(obj, smplx, action=edited)
    assert back.frame_start == 1 and back.motion.num_frames == T
    read = [j for j, n in enumerate(SMPLX_JOINT_NAMES) if n not in UNREAD]
    err = angles(expected.decoded.rotations, back.motion.rotations)[:, read]
    print(f"\nrig edit read-back vs decode: max {err.max():.2e} deg (window), "
          f"outside the window {err[outside].max():.2e} deg")
    assert err.max() < ROT_BOUND
    # Outside the window the read-back is the original's to the bit.
    assert back.motion.rotations[outside].tobytes() == reading.motion.rotations[outside].tobytes()
    assert back.motion.trans.tobytes() == reading.motion.trans.tobytes()
    # Inside the range: the code's centroid, decoded independently.
    pose = rot.axis_angle_to_quat(codec.decode(np.array([code]))[0].reshape(-1, 3))
    inside = angles(np.broadcast_to(pose[None], (STOP - START,) + pose.shape),
                    back.motion.rotations[START:STOP][:, BODY])
    assert inside.max() < ROT_BOUND
    # In the margins it moves from the quantized pose to the code; the hands never move.
    assert angles(reading.motion.rotations, back.motion.rotations)[START - MARGIN:START][:, BODY].max() > 0.1
    hands = list(get_part("hands").joints)
    assert angles(reading.motion.rotations, back.motion.rotations)[:, hands].max() < ROT_BOUND
    # The tokens kept on the new action.
    np.testing.assert_array_equal(read_tokens(edited).tokens["body"],
                                  edited_tokens(codec, record.tokens["body"], START, STOP, code))
    np.testing.assert_array_equal(read_tokens(edited).tokens["hands"], record.tokens["hands"])


def test_the_codes_solo_code_and_markers_on_a_rigs_action(scene, use_models):
    obj, original, new = quantized_metahuman()
    record = read_tokens(new)
    tokens = record.tokens["body"]
    for frame in (1, 2, 40, 100, record.num_frames):
        scene.frame_set(frame)
        shown = {part: (row, code) for part, _, row, code in frame_codes(bpy.context)}
        assert shown["body"] == (frame - 1, (int(tokens[frame - 1]),))
        assert shown["hands"] == (frame - 1, (int(record.tokens["hands"][frame - 1]),))
    # Solo Code visits the frames using the code, in order, then wraps round.
    values = list(tokens)
    code = max(set(values), key=values.count)
    using = [int(f) + 1 for f in np.flatnonzero(tokens == code)]
    assert 3 < len(using) < len(tokens)
    scene.frame_set(0)
    visited = []
    for _ in range(len(using) + 1):
        assert bpy.ops.motion_tokens.solo_code(part="body", code=str(code)) == {"FINISHED"}
        visited.append(scene.frame_current)
    assert visited == using + [using[0]]
    # After an edit, the edited action's codes: the code on the range, Solo Code finds it there.
    put = unused_code(tokens)
    assert bpy.ops.motion_tokens.edit_by_tokens(part="body", code=str(put), frame_first=FIRST,
                                                frame_last=LAST) == {"FINISHED"}
    scene.frame_set(75)
    assert dict((p, c) for p, _, _, c in frame_codes(bpy.context))["body"] == (put,)
    scene.frame_set(1)
    assert bpy.ops.motion_tokens.solo_code(part="body", code=str(put)) == {"FINISHED"}
    assert scene.frame_current == FIRST
    # Token Markers: one at each change of the body's code, removed again.
    assert bpy.ops.motion_tokens.token_markers(part="body") == {"FINISHED"}
    edited_tokens_ = read_tokens(obj.animation_data.action).tokens["body"]
    changes = 1 + int(np.count_nonzero(edited_tokens_[1:] != edited_tokens_[:-1]))
    frames = sorted(m.frame for m in scene.timeline_markers)
    assert FIRST in frames and LAST + 1 in frames and len(frames) == changes
    assert bpy.ops.motion_tokens.remove_token_markers() == {"FINISHED"}
    assert len(scene.timeline_markers) == 0


def scene_state(scene):
    plays = {o.name: (o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
             for o in bpy.data.objects}
    all_keys = {a.name: {k: v.tobytes() for k, v in keys(a, None).items()} for a in bpy.data.actions}
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions), plays, all_keys,
            sorted((m.frame, m.name) for m in scene.timeline_markers), scene.frame_current)


def refused(scene, call, *words):
    before = scene_state(scene)
    with pytest.raises(RuntimeError) as failure:
        call()
    for word in words:
        assert word in str(failure.value)
    assert scene_state(scene) == before


def test_refusals_on_a_rig_leave_the_scene_unchanged(scene, use_models):
    obj = create_rig_armature("metahuman")
    assert bpy.ops.motion_tokens.import_motion(filepath=str(EXCERPT), target="ACTIVE") == {"FINISHED"}
    ops = bpy.ops.motion_tokens
    refused(scene, lambda: ops.edit_by_tokens(part="body", code="3", frame_first=20, frame_last=30),
            "keeps no motion tokens")
    refused(scene, lambda: ops.solo_code(part="body", code="3"), "keeps no motion tokens")
    assert ops.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6") == {"FINISHED"}
    refused(scene, lambda: ops.edit_by_tokens(part="body", code="3", frame_first=700, frame_last=720), "outside")
    refused(scene, lambda: ops.edit_by_tokens(part="body", code="64", frame_first=20, frame_last=30), "64")
    refused(scene, lambda: ops.edit_by_tokens(part="face", code="3", frame_first=20, frame_last=30), "face")
    refused(scene, lambda: ops.solo_code(part="body", code="64"), "64")
    # The wrong layout for the rig: refused while reading, before anything is made.
    refused(scene, lambda: ops.edit_by_tokens(part="body", code="3", frame_first=20, frame_last=30,
                                              bone_map_file="mixamo"))
    # A driven bone turned to another rotation mode: refused before the copy is made.
    obj.pose.bones["spine_03"].rotation_mode = "XYZ"
    refused(scene, lambda: ops.edit_by_tokens(part="body", code="3", frame_first=20, frame_last=30),
            "spine_03", "rotation mode")
