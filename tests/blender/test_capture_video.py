"""Motion from Video (operators.capture_video), headless: a .pose file and a movie strip of the
real signing clip become a decoded action and its raw fit on the SMPL-X armature, at the scene's
rate from the strip's first frame; refusals and Esc after any step leave the scene as it was.

The real inputs come from the shared data (skipped without it); the movie strip needs MediaPipe.
"""

import importlib.util
import os
from pathlib import Path

import bpy
import numpy as np
import pytest
from motion_tokens.pipelines.progress import Stepper
from motion_tokens.scene import compat
from motion_tokens.scene.tokens_prop import read_tokens

pytestmark = pytest.mark.usefixtures("registered")

DATA = Path(os.environ.get("MOTION_TOKENS_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
LETTER = DATA / "sign" / "fingerspelling" / "A.pose"  # 21 frames at 25 fps
CLIP = DATA / "sign" / "video" / "signing_clip.mp4"  # 58 frames at 30 fps
OTHER_LAYOUT = DATA / "sign" / "other-layout" / "reduced_holistic.pose"
needs_data = pytest.mark.skipif(not LETTER.is_file(), reason=f"the shared sign data is not at {DATA}")
needs_mediapipe = pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="MediaPipe is not installed")


def scene_state():
    plays = {o.name: (o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
             for o in bpy.data.objects}
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions),
            sorted(a.name for a in bpy.data.armatures), plays)


def keyed_frames(action, obj, bone="right_wrist"):
    curve = next(fc for fc in compat.action_fcurves(action, obj)
                 if fc.data_path == f'pose.bones["{bone}"].rotation_quaternion' and fc.array_index == 0)
    co = np.empty(2 * len(curve.keyframe_points), dtype=np.float32)
    curve.keyframe_points.foreach_get("co", co)
    return co[0::2]


def armature():
    return next(o for o in bpy.data.objects if o.type == "ARMATURE")


def _codec(scene, bits="10"):
    """The Codec panel at k-means, `bits` per frame for the body and the hands."""
    settings = scene.motion_tokens.codec
    settings.family = "kmeans"
    settings.body_bits = settings.hands_bits = bits


def write_grey_movie(path, frames=12, fps=30):
    cv2 = pytest.importorskip("cv2", reason="OpenCV writes the test movie")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (160, 120))
    for _ in range(frames):
        writer.write(np.full((120, 160, 3), 128, dtype=np.uint8))
    writer.release()
    return path


@needs_data
def test_a_pose_file_becomes_a_decoded_action_and_its_raw_fit_at_the_current_frame(scene):
    _codec(scene)
    scene.render.fps, scene.render.fps_base = 24, 1.0
    scene.frame_current = 7
    assert bpy.ops.motion_tokens.motion_from_video(filepath=str(LETTER)) == {"FINISHED"}
    obj = armature()
    decoded = obj.animation_data.action
    assert decoded.name == "A kmeans-10"
    raw = bpy.data.actions["A raw"]
    assert raw.use_fake_user
    frames = round(21 / 25 * 24)  # the letter's duration at the scene's rate
    for action in (decoded, raw):
        keys = keyed_frames(action, obj)
        assert keys[0] == 7 and len(keys) == frames, (action.name, keys[[0, -1]], len(keys))
    tokens = read_tokens(decoded)
    assert tokens is not None and set(tokens.tokens) == {"body", "hands"}


@needs_data
@needs_mediapipe
def test_a_trimmed_movie_strip_is_captured_over_the_frames_it_shows(scene):
    _codec(scene)
    scene.render.fps, scene.render.fps_base = 30, 1.0
    strip = compat.sequence_strip_collection(scene).new_movie("Clip", str(CLIP), 1, 11)
    strip.frame_offset_start, strip.frame_offset_end = 10, 8
    compat.set_strip_selected(strip, True)
    first, count = strip.frame_final_start, strip.frame_final_duration
    assert (first, count) == (21, 40)  # Blender's own: 11 + 10, 58 - 10 - 8
    assert bpy.ops.motion_tokens.motion_from_video() == {"FINISHED"}
    obj = armature()
    for name in ("Clip kmeans-10", "Clip raw"):
        keys = keyed_frames(bpy.data.actions[name], obj)
        assert keys[0] == first and len(keys) == count
    # The right wrist moves in the clip (the hand is found in 20 frames): the raw fit is not the rest pose.
    curve = next(fc for fc in compat.action_fcurves(bpy.data.actions["Clip raw"], obj)
                 if fc.data_path == 'pose.bones["right_shoulder"].rotation_quaternion' and fc.array_index == 0)
    values = np.empty(2 * len(curve.keyframe_points), dtype=np.float32)
    curve.keyframe_points.foreach_get("co", values)
    assert values[1::2].min() < 0.99


def test_no_movie_strip_and_no_file_is_refused_with_the_scene_unchanged(scene):
    before = scene_state()
    with pytest.raises(RuntimeError, match="no movie strip selected"):
        bpy.ops.motion_tokens.motion_from_video()
    assert scene_state() == before


@needs_data
@pytest.mark.parametrize("kind", ["other layout", "truncated", "missing", "no person"])
def test_unusable_input_cancels_naming_the_file_and_leaves_the_scene(scene, tmp_path, kind):
    _codec(scene)
    if kind == "other layout":
        path, words = OTHER_LAYOUT, "reduced_holistic.pose"
    elif kind == "truncated":
        path = tmp_path / "cut.pose"
        data = LETTER.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        words = "cut.pose"
    elif kind == "missing":
        path, words = tmp_path / "gone.pose", "gone.pose"
    else:
        if importlib.util.find_spec("mediapipe") is None:
            pytest.skip("MediaPipe is not installed")
        path, words = write_grey_movie(tmp_path / "empty_room.avi"), "empty_room.avi.*no person"
    before = scene_state()
    with pytest.raises(RuntimeError, match=words):
        bpy.ops.motion_tokens.motion_from_video(filepath=str(path))
    assert scene_state() == before


@needs_data
def test_esc_after_any_step_leaves_the_scene_as_it_was(scene):
    from motion_tokens.operators.capture_video import MOTION_TOKENS_OT_motion_from_video

    _codec(scene)

    class Job:  # the operator's own job_steps, with its filepath set as the redo panel would
        filepath, mirrored = str(LETTER), False

    def job():
        return MOTION_TOKENS_OT_motion_from_video.job_steps(Job(), bpy.context)

    Job._sources = MOTION_TOKENS_OT_motion_from_video._sources
    before = scene_state()
    stepper, count = Stepper(job()), 0
    while stepper.step() is not None:
        count += 1
    assert count >= 4 and "A kmeans-10" in bpy.data.actions
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    for data in list(bpy.data.actions) + list(bpy.data.armatures):
        (bpy.data.actions if isinstance(data, bpy.types.Action) else bpy.data.armatures).remove(data)
    assert scene_state() == before
    for steps_run in range(1, count + 1):
        stepper = Stepper(job())
        for _ in range(steps_run):
            assert stepper.step() is not None
        stepper.cancel()
        assert scene_state() == before, f"cancelled after step {steps_run}"


@needs_data
def test_onto_a_metahuman_rig_through_its_bone_map(scene):
    """The panel's target armature is a MetaHuman-compatible rig: both actions go onto it
    (no new armature), retargeted through its bone map, from the current frame."""
    from motion_tokens.scene.rig import create_rig_armature

    _codec(scene)
    scene.render.fps, scene.render.fps_base = 30, 1.0
    rig = create_rig_armature("metahuman")
    scene.motion_tokens.target_armature = rig
    scene.frame_current = 5
    before = {o.name for o in bpy.data.objects}
    assert bpy.ops.motion_tokens.motion_from_video(filepath=str(LETTER)) == {"FINISHED"}
    assert {o.name for o in bpy.data.objects} == before
    decoded = rig.animation_data.action
    assert decoded.name == "A kmeans-10" and "A raw" in bpy.data.actions
    assert tuple(decoded.frame_range) == (5, 5 + 25 - 1)  # 21 frames at 25 fps are 25 at 30
    # The signing hand's fingers move on the rig: a right index bone's keyed rotation changes.
    paths = {fc.data_path for fc in compat.action_fcurves(bpy.data.actions["A raw"], rig)}
    finger = next(p for p in sorted(paths) if "index" in p.lower() and "_r" in p.lower() and "rotation" in p)
    curve = next(fc for fc in compat.action_fcurves(bpy.data.actions["A raw"], rig)
                 if fc.data_path == finger and fc.array_index == 0)
    co = np.empty(2 * len(curve.keyframe_points), dtype=np.float32)
    curve.keyframe_points.foreach_get("co", co)
    assert np.ptp(co[1::2]) > 0.01, finger
