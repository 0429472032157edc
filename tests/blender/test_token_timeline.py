"""The token timeline, Solo Code, Copy Tokens / Edit by Tokens and Import Tokens in Blender.

The actions are made by the Quantize operator (which keeps its tokens on the new action) from
demo/beat2_excerpt.npz played forward, backward, forward, backward (600 frames, no jump where
the copies meet), with the shipped body bundles kmeans-6 and rqvae4-6 (7.5 rows a second) and
a tiny hands k-means (64 excerpt frames as centroids: the shipped hands bundles are being
retrained, and nothing here is about the hands' codebook).

References: the stored tokens are those core's encode_parts gives for the motion the action
plays; the row at a scene frame is worked out here with integer arithmetic
((frame - start) x rows a second x fps_base // fps); the frames where a code changes and the
frames using a code are found by a plain loop over the frames; an edit's keys are read back
from the F-curves and compared with the original's byte for byte outside the range plus the
margin, and inside it with the codec's own decode of the replacement. Refusals leave the
scene (objects, actions, their keys, markers, the current frame) as it was.
"""

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import bpy
import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.codecs import registry
from motion_tokens.core.codecs.coding import encode_parts, load_codecs, write_encoded
from motion_tokens.core.formats import read_motion, write_motion
from motion_tokens.core.inspect.token_edit import edited_tokens
from motion_tokens.core.parts import get_part
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, smplx_skeleton
from motion_tokens.panels import properties as panel_properties
from motion_tokens.panels.tokens import frame_codes
from motion_tokens.pipelines.tokens import TokensExportOptions, export_tokens
from motion_tokens.scene import token_timeline
from motion_tokens.scene.actions import read_motion as read_action_motion
from motion_tokens.scene.compat import action_fcurves
from motion_tokens.scene.tokens_prop import read_tokens
from stand_in_models import stand_in_models

pytestmark = pytest.mark.usefixtures("registered")

REPO = Path(__file__).resolve().parents[2]
EXCERPT = REPO / "demo" / "beat2_excerpt.npz"
BODY = [SMPLX_JOINT_NAMES[j] for j in get_part("body").joints]


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    """The 600-frame take as an .npz the Import operator reads."""
    demo = read_motion(EXCERPT)
    order = np.concatenate([np.arange(demo.num_frames), np.arange(demo.num_frames)[::-1]] * 2)
    motion = replace(demo, rotations=demo.rotations[order], trans=demo.trans[order],
                     expressions=None if demo.expressions is None else demo.expressions[order], name="take")
    return write_motion(tmp_path_factory.mktemp("take") / "take.npz", motion)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The shipped body bundles kmeans-6 and rqvae4-6 (linked) and a tiny hands kmeans-6."""
    return stand_in_models(tmp_path_factory.mktemp("models"), EXCERPT, ("kmeans-6-body", "rqvae4-6-body"), link=True)


@pytest.fixture
def use_models(models, monkeypatch):
    monkeypatch.setattr(registry, "MODELS_DIR", Path(models))
    panel_properties.CATALOGUE.refresh()
    yield models
    monkeypatch.undo()
    panel_properties.CATALOGUE.refresh()


def quantized(scene, take, body="kmeans-6", frame=11):
    """Import the take at `frame` and quantize it; (armature, original action, quantized action)."""
    scene.frame_current = frame
    assert bpy.ops.motion_tokens.import_motion(filepath=str(take)) == {"FINISHED"}
    obj = bpy.context.active_object
    original = obj.animation_data.action
    assert bpy.ops.motion_tokens.quantize_action(body_codec=body, hands_codec="kmeans-6") == {"FINISHED"}
    return obj, original, obj.animation_data.action


def keys(action, obj):
    """{(data_path, index): (n, 2) float32 keyframe co}."""
    out = {}
    for fc in action_fcurves(action, obj):
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        out[(fc.data_path, fc.array_index)] = co.reshape(-1, 2)
    return out


def row_at(frame, start, rows_per_second, scene):
    """The row a scene frame plays, in exact rational arithmetic."""
    fps = Fraction(scene.render.fps) / Fraction(scene.render.fps_base).limit_denominator(1000)
    return int((frame - start) * Fraction(rows_per_second).limit_denominator(1000) // fps)


def codes_per_frame(record, part, scene):
    """{frame: code tuple} for every frame of the action, by a plain loop."""
    tokens = record.tokens[part].reshape(len(record.tokens[part]), -1)
    T = record.num_frames
    fps = scene.render.fps / scene.render.fps_base
    last = record.frame_start + int(np.floor((T - 1) * fps / 30 + 1e-6))
    out = {}
    for f in range(record.frame_start, last + 1):
        r = row_at(f, record.frame_start, record.fps_of(part), scene)
        out[f] = tuple(int(v) for v in tokens[r])
    return out


# --- the tokens kept and the codes at a frame --------------------------------------------------

@pytest.mark.parametrize("body, fps, rate", [("kmeans-6", 30, 30.0), ("rqvae4-6", 30, 7.5), ("kmeans-6", 24, 30.0)])
def test_codes_at_a_frame_are_the_stored_tokens_there(scene, take, use_models, body, fps, rate):
    scene.render.fps = fps
    obj, original, new = quantized(scene, take, body)
    record = read_tokens(new)
    assert record.frame_start == 11 and record.fps_of("body") == rate and record.fps_of("hands") == 30.0
    # The tokens kept are those encode gives for what the original action plays.
    expected = encode_parts(read_action_motion(obj, smplx_skeleton(), action=original),
                            {"body": body, "hands": "kmeans-6"})
    for part in ("body", "hands"):
        np.testing.assert_array_equal(record.tokens[part], expected.tokens[part])
    assert record.num_frames == expected.decoded.num_frames == (600 if fps == 30 else 599)  # 480 keys at 24 fps
    last = int(new.frame_range[1])
    for frame in (11, 12, 13, 14, 15, 16, 47, 200, 333, last - 1, last):
        scene.frame_set(frame)
        shown = {part: (row, code) for part, _, row, code in frame_codes(bpy.context)}
        for part in ("body", "hands"):
            r = row_at(frame, 11, record.fps_of(part), scene)
            assert shown[part][0] == r
            assert shown[part][1] == tuple(np.atleast_1d(record.tokens[part][r]).tolist())
    scene.frame_set(10)
    assert all(code is None for *_, code in frame_codes(bpy.context))


# --- markers --------------------------------------------------------------------------------------

def test_token_markers_land_on_the_changes_and_are_removed(scene, take, use_models):
    obj, original, new = quantized(scene, take, "rqvae4-6")
    record = read_tokens(new)
    scene.timeline_markers.new("body 3,5,1,0", frame=11)  # the user's own, named like ours
    per_frame = codes_per_frame(record, "body", scene)
    changes = [(f, c) for f, c in per_frame.items() if f == 11 or per_frame[f - 1] != c]
    assert bpy.ops.motion_tokens.token_markers(part="body") == {"FINISHED"}
    ours = sorted((m.frame, m.name) for m in scene.timeline_markers)
    expected = sorted([(f, "body " + ",".join(map(str, c))) for f, c in changes] + [(11, "body 3,5,1,0")])
    assert ours == expected and len(changes) > 20
    # Markers of the hands too, then remove the body's: the hands' and the user's stay.
    assert bpy.ops.motion_tokens.token_markers(part="hands") == {"FINISHED"}
    hands = len(scene.timeline_markers) - len(expected)
    assert bpy.ops.motion_tokens.remove_token_markers(part="body") == {"FINISHED"}
    assert len(scene.timeline_markers) == hands + 1
    assert bpy.ops.motion_tokens.remove_token_markers() == {"FINISHED"}
    assert [(m.frame, m.name) for m in scene.timeline_markers] == [(11, "body 3,5,1,0")]
    assert "motion_tokens_markers" not in scene


# --- Solo Code ------------------------------------------------------------------------------------

def test_solo_code_visits_the_frames_using_the_code_in_order(scene, take, use_models):
    obj, original, new = quantized(scene, take)
    per_frame = codes_per_frame(read_tokens(new), "body", scene)
    values = [c for c in per_frame.values()]
    code = max(set(values), key=values.count)
    using = [f for f, c in per_frame.items() if c == code]
    assert 5 < len(using) < len(per_frame)
    scene.frame_set(1)
    visited = []
    for _ in range(len(using) + 1):
        assert bpy.ops.motion_tokens.solo_code(part="body", code=str(code[0])) == {"FINISHED"}
        visited.append(scene.frame_current)
    assert visited == using + [using[0]]  # every frame in order, then round to the first
    back = []
    for _ in range(len(using)):
        assert bpy.ops.motion_tokens.solo_code(part="body", code=str(code[0]), forward=False) == {"FINISHED"}
        back.append(scene.frame_current)
    assert back == using[::-1]  # from the first: round to the last, then back through every one
    # No code typed: the current frame's.
    scene.frame_set(using[0])
    assert bpy.ops.motion_tokens.solo_code(part="body", code="") == {"FINISHED"}
    assert scene.frame_current == using[1]


def test_solo_code_of_an_rqvae_level(scene, take, use_models):
    """A residual code's first level alone: every frame whose level-0 code it is."""
    obj, original, new = quantized(scene, take, "rqvae4-6")
    per_frame = codes_per_frame(read_tokens(new), "body", scene)
    first = per_frame[200][0]
    using = [f for f, c in per_frame.items() if c[0] == first]
    scene.frame_set(1)
    visited = []
    for _ in using:
        assert bpy.ops.motion_tokens.solo_code(part="body", code=str(first)) == {"FINISHED"}
        visited.append(scene.frame_current)
    assert visited == using


# --- Edit by Tokens -------------------------------------------------------------------------------

def _rotations(obj, action):
    """(T, 55, 4) the keyed rotations (SMPL-X local), read back from the F-curves."""
    return read_action_motion(obj, smplx_skeleton(), action=action).rotations


def _same_rotation(a, b, atol):
    return np.all(np.abs(np.abs(np.sum(a * b, axis=-1)) - 1.0) < atol)


def test_edit_by_tokens_with_a_code(scene, take, use_models, capfd):
    obj, original, new = quantized(scene, take)
    before_original, before_new = keys(original, obj), keys(new, obj)
    record = read_tokens(new)
    first, last = 211, 240  # motion frames [200, 230)
    code = next(c for c in range(64) if c not in record.tokens["body"][190:240])
    capfd.readouterr()
    assert bpy.ops.motion_tokens.edit_by_tokens(part="body", code=str(code), frame_first=first,
                                                frame_last=last) == {"FINISHED"}
    report = capfd.readouterr().out
    assert "blend margin 6 frames" in report
    edited = obj.animation_data.action
    assert edited not in (original, new) and edited.name == f"{new.name} edit"
    assert keys(original, obj).keys() == before_original.keys()
    assert all(keys(original, obj)[k].tobytes() == v.tobytes() for k, v in before_original.items())
    assert all(keys(new, obj)[k].tobytes() == v.tobytes() for k, v in before_new.items())
    after = keys(edited, obj)
    assert after.keys() == before_new.keys()
    margin = 6
    outside = np.r_[np.arange(0, 200 - margin), np.arange(230 + margin, 600)]
    body_paths = {f'pose.bones["{n}"].rotation_quaternion' for n in BODY}
    for key, co in before_new.items():
        if key[0] in body_paths:
            assert after[key][outside].tobytes() == co[outside].tobytes(), key
        else:  # the root, the hands: not a bit changed anywhere
            assert after[key].tobytes() == co.tobytes(), key
    # Inside the range: the codec's centroid for the code.
    codec = load_codecs({"body": "kmeans-6"})["body"]
    pose = codec.decode(np.array([code]))[0].reshape(-1, 3)
    keyed = _rotations(obj, edited)[200:230][:, list(get_part("body").joints)]
    assert _same_rotation(keyed, rot.axis_angle_to_quat(pose)[None], 1e-5)
    # In the margins it moves from the original to the code, somewhere changed.
    was = _rotations(obj, new)[:, list(get_part("body").joints)]
    now = _rotations(obj, edited)[:, list(get_part("body").joints)]
    assert not _same_rotation(was[194:200], now[194:200], 1e-6)
    tokens = read_tokens(edited).tokens["body"]
    np.testing.assert_array_equal(tokens, edited_tokens(codec, record.tokens["body"], 200, 230, code))
    np.testing.assert_array_equal(read_tokens(edited).tokens["hands"], record.tokens["hands"])


def test_edit_by_copied_tokens_rqvae4(scene, take, use_models, capfd):
    """A run copied from frames 41-100 pasted over 341-400 (both start on a latent: motion frames
    30 and 330), decoded by rqvae4-6: keys change only within the 75-frame margin; in the range
    they are the decode of the edited tokens."""
    obj, original, new = quantized(scene, take, "rqvae4-6")
    before = keys(new, obj)
    record = read_tokens(new)
    scene.use_preview_range = True
    scene.frame_preview_start, scene.frame_preview_end = 41, 100
    assert bpy.ops.motion_tokens.copy_tokens(part="body") == {"FINISHED"}
    scene.frame_preview_start, scene.frame_preview_end = 341, 400
    capfd.readouterr()
    assert bpy.ops.motion_tokens.edit_by_tokens(part="body", source="COPIED") == {"FINISHED"}
    assert "blend margin 75 frames" in capfd.readouterr().out
    edited = obj.animation_data.action
    tokens = read_tokens(edited).tokens["body"]
    expected = record.tokens["body"].copy()
    expected[330 // 4 : 390 // 4 + 1] = record.tokens["body"][30 // 4 : 90 // 4 + 1]
    np.testing.assert_array_equal(tokens, expected)
    after = keys(edited, obj)
    outside = np.r_[np.arange(0, 330 - 75), np.arange(390 + 75, 600)]
    for key, co in before.items():
        assert after[key][outside].tobytes() == co[outside].tobytes(), key
    codec = load_codecs({"body": "rqvae4-6"})["body"]
    decoded = codec.decode(expected, 600)[330:390].reshape(60, -1, 3)
    keyed = _rotations(obj, edited)[330:390][:, list(get_part("body").joints)]
    assert _same_rotation(keyed, rot.axis_angle_to_quat(decoded), 1e-6)


def test_edit_by_tokens_at_24_fps(scene, take, use_models):
    """At 24 fps the scene frames 171-190 play motion frames 200-223 (floor(30 k / 24)); the edit's
    window is [194, 230) at 30 fps, and only the scene frames interpolating one of its frames
    (k with floor(1.25 k) or ceil(1.25 k) in it) are re-keyed; every other key is the original's."""
    scene.render.fps = 24
    obj, original, new = quantized(scene, take)
    before = keys(new, obj)
    record = read_tokens(new)
    code = next(c for c in range(64) if c not in record.tokens["body"][190:240])
    assert bpy.ops.motion_tokens.edit_by_tokens(part="body", code=str(code), frame_first=171,
                                                frame_last=190) == {"FINISHED"}
    edited = obj.animation_data.action
    tokens = read_tokens(edited).tokens["body"]
    assert np.flatnonzero(tokens != record.tokens["body"]).tolist() == list(range(200, 224))
    k = np.arange(len(next(iter(before.values()))))
    touched = [i for i in k if 194 <= (30 * i) // 24 < 230 or 194 <= -(-30 * i // 24) < 230]
    untouched = np.setdiff1d(k, touched)
    after = keys(edited, obj)
    changed = False
    for key, co in before.items():
        assert after[key][untouched].tobytes() == co[untouched].tobytes(), key
        changed |= after[key].tobytes() != co.tobytes()
    assert changed
    # Scene frames whose both neighbours at 30 fps lie in the range hold the code's pose.
    codec = load_codecs({"body": "kmeans-6"})["body"]
    pose = rot.axis_angle_to_quat(codec.decode(np.array([code]))[0].reshape(-1, 3))
    inside = [i for i in k if 200 <= (30 * i) // 24 and -(-30 * i // 24) < 224]
    keyed = _rotations(obj, edited)[inside][:, list(get_part("body").joints)]
    assert len(inside) > 15 and _same_rotation(keyed, pose[None], 1e-5)


# --- Import Tokens --------------------------------------------------------------------------------

def test_import_tokens_of_an_export_keys_what_quantize_keyed(scene, take, use_models, tmp_path):
    obj, original, new = quantized(scene, take)
    encoded = encode_parts(read_action_motion(obj, smplx_skeleton(), action=original),
                           {"body": "kmeans-6", "hands": "kmeans-6"})
    export_tokens(TokensExportOptions(write_encoded(tmp_path / "take.npz", encoded), tmp_path / "take.json"))
    assert bpy.ops.motion_tokens.import_tokens(filepath=str(tmp_path / "take.json"), target="NEW",
                                               use_current_frame=False, frame_start=11) == {"FINISHED"}
    imported = bpy.context.active_object
    assert imported != obj
    action = imported.animation_data.action
    a, b = keys(action, imported), keys(new, obj)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key][:, 0], b[key][:, 0])
        np.testing.assert_allclose(a[key][:, 1], b[key][:, 1], atol=2e-6)
    stored = read_tokens(action)
    for part in ("body", "hands"):
        np.testing.assert_array_equal(stored.tokens[part], encoded.tokens[part])
    assert stored.frame_start == 11 and stored.num_frames == 600


# --- refusals leave the scene as it was -------------------------------------------------------------

def scene_state(scene):
    plays = {o.name: (o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
             for o in bpy.data.objects}
    all_keys = {a.name: {k: v.tobytes() for k, v in keys(a, None).items()} for a in bpy.data.actions}
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions), plays, all_keys,
            sorted((m.frame, m.name) for m in scene.timeline_markers), scene.frame_current,
            scene.get("motion_tokens_copied") is not None)


def refused(scene, call, *words):
    before = scene_state(scene)
    with pytest.raises(RuntimeError) as failure:
        call()
    for word in words:
        assert word in str(failure.value)
    assert scene_state(scene) == before


def test_refusals_leave_the_scene_unchanged(scene, take, use_models):
    scene.frame_current = 11
    assert bpy.ops.motion_tokens.import_motion(filepath=str(take)) == {"FINISHED"}
    ops = bpy.ops.motion_tokens
    for call in (lambda: ops.edit_by_tokens(part="body", code="3", frame_first=20, frame_last=30),
                 lambda: ops.token_markers(part="body"), lambda: ops.solo_code(part="body", code="3"),
                 lambda: ops.copy_tokens(part="body", frame_first=20, frame_last=30)):
        refused(scene, call, "keeps no motion tokens")
    assert bpy.ops.motion_tokens.quantize_action(body_codec="kmeans-6", hands_codec="kmeans-6") == {"FINISHED"}
    refused(scene, lambda: ops.edit_by_tokens(part="body", code="3", frame_first=700, frame_last=720), "outside")
    refused(scene, lambda: ops.copy_tokens(part="body", frame_first=-50, frame_last=5), "outside")
    refused(scene, lambda: ops.edit_by_tokens(part="body", code="64", frame_first=20, frame_last=30), "64", "codes")
    refused(scene, lambda: ops.edit_by_tokens(part="body", code="3,4", frame_first=20, frame_last=30), "numbers")
    refused(scene, lambda: ops.solo_code(part="body", code="64"), "64")
    refused(scene, lambda: ops.edit_by_tokens(part="face", code="3", frame_first=20, frame_last=30), "face")
    refused(scene, lambda: ops.edit_by_tokens(part="body", source="COPIED", frame_first=20, frame_last=30),
            "Copy Tokens first")
    assert bpy.ops.motion_tokens.copy_tokens(part="hands", frame_first=20, frame_last=30) == {"FINISHED"}
    refused(scene, lambda: ops.edit_by_tokens(part="body", source="COPIED", frame_first=20, frame_last=30),
            "hands tokens")


def test_the_timeline_draw_handler_is_registered():
    assert len(token_timeline._handles) == 1
