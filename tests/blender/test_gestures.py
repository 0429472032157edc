"""Gestures from Sound Strips and New Variation (operators.gestures), headless: timing against
the strips' own frames, NLA strips, seeds, pins, refusals that leave the scene as it was, Esc.

Needs Blender's audio library (the PyPI bpy 4.2 wheel lacks it) and the shipped generator
bundle models/gen-kmeans-10; each skips, saying which, where it is absent.
"""

import bpy
import numpy as np
import pytest
from motion_tokens.core.paths import MODELS_DIR
from motion_tokens.pipelines.progress import Stepper
from motion_tokens.scene import compat
from motion_tokens.scene.sound import strip_speech, strip_timing
from motion_tokens.scene.tokens_prop import read_tokens

soundfile = pytest.importorskip("soundfile", reason="soundfile writes the test speech")

pytestmark = [
    pytest.mark.usefixtures("registered"),
    pytest.mark.skipif(not bpy.app.build_options.audaspace,
                       reason=f"bpy {bpy.app.version_string} is built without Audaspace (aud): no sound strips"),
    pytest.mark.skipif(not (MODELS_DIR / "gen-kmeans-10" / "manifest.json").is_file(),
                       reason="the generator bundle models/gen-kmeans-10 is not installed (trained on the generate branch)"),
]
RATE = 16000


def speech_wav(path, seconds=2.0, seed=0):
    """A buzz with 4 Hz syllable bursts: speech-like, never silent."""
    t = np.arange(int(seconds * RATE)) / RATE
    noise = np.random.default_rng(seed).normal(0, 0.01, len(t))
    samples = 0.2 * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2) * np.sign(np.sin(2 * np.pi * 150 * t)) + noise
    soundfile.write(str(path), samples.astype(np.float32), RATE)
    return path


def add_strip(scene, path, name="Speech", frame=11, channel=1, trim=(0, 0)):
    strip = compat.sequence_strip_collection(scene).new_sound(name, str(path), channel, frame)
    strip.frame_offset_start, strip.frame_offset_end = trim
    compat.set_strip_selected(strip, True)
    return strip


def scene_state():
    plays = {o.name: (o.animation_data.action.name if o.animation_data and o.animation_data.action else None)
             for o in bpy.data.objects}
    tracks = {o.name: [t.name for t in o.animation_data.nla_tracks] for o in bpy.data.objects if o.animation_data}
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions),
            sorted(a.name for a in bpy.data.armatures), plays, tracks)


def bone_keys(action, obj, bone="right_elbow"):
    """(n, 4) keyed quaternion values and (n,) frames of `bone` in `action`."""
    curves = sorted((fc for fc in compat.action_fcurves(action, obj)
                     if fc.data_path == f'pose.bones["{bone}"].rotation_quaternion'), key=lambda fc: fc.array_index)
    co = []
    for fc in curves:
        buf = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", buf)
        co.append(buf.reshape(-1, 2))
    return co[0][:, 0], np.stack([c[:, 1] for c in co], axis=1)


def generated(scene):
    return [a for a in bpy.data.actions if read_tokens(a) is not None]


def armature():
    return next(o for o in bpy.data.objects if o.type == "ARMATURE")


@pytest.mark.parametrize("fps, fps_base", [(30, 1.0), (24, 1.0), (30, 1.001), (50, 1.0)])
def test_an_action_covers_the_trimmed_strip_from_its_first_frame(scene, tmp_path, fps, fps_base):
    scene.render.fps, scene.render.fps_base = fps, fps_base
    strip = add_strip(scene, speech_wav(tmp_path / "a.wav", 3.0), frame=11, trim=(7, 5))
    first, count = strip.frame_final_start, strip.frame_final_duration
    assert first == 18  # Blender's own: 11 + 7
    assert bpy.ops.motion_tokens.gestures_from_sound_strips() == {"FINISHED"}
    (action,) = generated(scene)
    frames, _ = bone_keys(action, armature())
    np.testing.assert_array_equal(frames, np.arange(first, first + count))
    assert tuple(action.frame_range) == (first, first + count - 1)
    assert armature().animation_data.action == action
    record = read_tokens(action)
    assert record.frame_start == first and record.source == "Speech" and record.scene_fps == pytest.approx(fps / fps_base)
    seconds = count / (fps / fps_base)  # tokens at 30 a second for the strip's time
    assert all(len(t) == round(seconds * 30) for t in record.tokens.values())
    # 3 s is 90 token frames: two windows of 64 overlapping by 8, so one fill and its two seams
    assert record.seam_frames == tuple(b for b in (56 + 8, 56 + 56) if b < round(seconds * 30) - 1)
    if "face" in record.tokens:  # the jaw is a bone, keyed above; the expressions are properties
        curves = [fc for fc in compat.action_fcurves(action, armature()) if fc.data_path == '["exp_000"]']
        assert len(curves) == 1 and len(curves[0].keyframe_points) == count


def blender_mixdown(scene, strip, path):
    """What Blender itself plays over the strip's frames: its mixdown, mono, at 16 kHz."""
    scene.frame_start, scene.frame_end = strip.frame_final_start, strip.frame_final_end - 1
    bpy.ops.sound.mixdown(filepath=str(path), container="WAV", codec="PCM", format="F32", mixrate=RATE,
                          accuracy=1024)
    mixed, _ = soundfile.read(str(path), dtype="float32")
    return mixed if mixed.ndim == 1 else mixed.mean(axis=1)


@pytest.mark.parametrize("trim, offset", [((0, 0), 0.0), ((12, 9), 0.0), ((12, 9), 0.25), ((0, 6), 0.3),
                                          ((5, 0), -0.4)])
def test_the_strip_plays_the_samples_blender_plays(scene, tmp_path, trim, offset):
    scene.render.fps = 25
    strip = add_strip(scene, speech_wav(tmp_path / "a.wav", 3.0), frame=5, trim=trim)
    strip.sound_offset = offset
    got = strip_speech(strip_timing(strip, scene)).speech.samples
    assert len(got) == round(strip.frame_final_duration / 25 * RATE)
    mixed = blender_mixdown(scene, strip, tmp_path / "mix.wav")
    n = min(len(got), len(mixed)) - 64
    lags = np.arange(-16, 17)  # Blender's mixdown aligns to within a sample or two
    scores = [np.dot(got[32 : 32 + n - 64], mixed[32 + k : 32 + k + n - 64]) for k in lags]
    lag = lags[int(np.argmax(scores))]
    assert abs(lag) <= 2, f"our samples are {lag} samples off Blender's"
    a, b = got[32 : 32 + n - 64], mixed[32 + lag : 32 + lag + n - 64]
    assert np.corrcoef(a, b)[0, 1] > 0.99
    if offset > 0 and trim[0] / 25 < offset:  # the sound starts later: silence first, as Blender plays it
        lead = round((offset - trim[0] / 25) * RATE)
        np.testing.assert_array_equal(got[:lead], 0.0)


def test_several_strips_give_one_nla_strip_each_named_after_it(scene, tmp_path):
    a = add_strip(scene, speech_wav(tmp_path / "a.wav", 2.0), "Line A", frame=1)
    b = add_strip(scene, speech_wav(tmp_path / "b.wav", 1.5, seed=1), "Line B", frame=80, channel=2)
    assert bpy.ops.motion_tokens.gestures_from_sound_strips() == {"FINISHED"}
    anim = armature().animation_data
    assert anim.action is None  # the NLA plays them
    strips = {t.name: list(t.strips) for t in anim.nla_tracks}
    assert sorted(strips) == ["Line A", "Line B"]
    for sound in (a, b):
        (nla,) = strips[sound.name]
        assert nla.name == sound.name and nla.frame_start == sound.frame_final_start
        assert nla.frame_end == sound.frame_final_start + sound.frame_final_duration - 1
        assert read_tokens(nla.action).source == sound.name
    assert len([o for o in bpy.data.objects if o.type == "ARMATURE"]) == 1


def test_the_same_seed_keys_the_same_motion_another_seed_another(scene, tmp_path):
    add_strip(scene, speech_wav(tmp_path / "a.wav", 2.0))
    settings = scene.motion_tokens
    for seed in (4, 4, 5):
        settings.speech.seed = seed
        settings.target_armature = armature() if generated(scene) else None
        assert bpy.ops.motion_tokens.gestures_from_sound_strips() == {"FINISHED"}
    first, again, other = sorted(generated(scene), key=lambda a: a.name)  # "Speech gestures", " [2]", " [3]"
    obj = armature()
    np.testing.assert_array_equal(bone_keys(first, obj)[1], bone_keys(again, obj)[1])
    assert not np.array_equal(bone_keys(first, obj)[1], bone_keys(other, obj)[1])
    assert len({a.name for a in (first, again, other)}) == 3  # never overwritten


def test_new_variation_replaces_the_action_and_keeps_the_pinned_tokens(scene, tmp_path):
    strip = add_strip(scene, speech_wav(tmp_path / "a.wav", 3.0), frame=1)
    scene.sequence_editor.active_strip = strip
    assert bpy.ops.motion_tokens.gestures_from_sound_strips() == {"FINISHED"}
    old = armature().animation_data.action
    speech = scene.motion_tokens.speech
    speech.pin, speech.pin_start, speech.pin_end = "FRAMES", 21, 40
    assert bpy.ops.motion_tokens.new_variation() == {"FINISHED"}
    new = armature().animation_data.action
    assert new != old and old.users == 0 and speech.seed == 1
    before, after = read_tokens(old), read_tokens(new)
    assert after.seed == before.seed + 1
    for part in before.tokens:  # frames 21-40 at 30 fps from frame 1: token frames 20-39
        np.testing.assert_array_equal(after.tokens[part][20:40], before.tokens[part][20:40])
        assert not np.array_equal(after.tokens[part], before.tokens[part])


def _write_bad(path, kind):
    if kind == "silent":
        soundfile.write(str(path), np.zeros(2 * RATE, np.float32), RATE)
    elif kind == "short":
        speech_wav(path, 0.2)


@pytest.mark.parametrize("kind, words", [
    ("missing", "missing"), ("empty", "empty"), ("corrupt", "readable"), ("silent", "silent"), ("short", "at least"),
])
def test_unusable_sound_cancels_naming_the_file_and_leaves_the_scene(scene, tmp_path, kind, words):
    path = tmp_path / "speech.wav"
    if kind in ("silent", "short"):
        _write_bad(path, kind)
    else:
        speech_wav(path, 2.0)
    add_strip(scene, path)
    if kind == "missing":
        path.unlink()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        path.write_bytes(b"RIFF....WAVEfmt " + bytes(200))
    before = scene_state()
    with pytest.raises(RuntimeError, match=words) as caught:
        bpy.ops.motion_tokens.gestures_from_sound_strips()
    assert "speech.wav" in str(caught.value)
    assert scene_state() == before


def test_no_selected_sound_strip_is_refused(scene):
    with pytest.raises(RuntimeError, match="Select one or more sound strips"):
        bpy.ops.motion_tokens.gestures_from_sound_strips()


def test_esc_after_any_step_leaves_no_action(scene, tmp_path):
    from motion_tokens.operators.gestures import _strip_job

    add_strip(scene, speech_wav(tmp_path / "a.wav", 2.0), "A", frame=1)
    add_strip(scene, speech_wav(tmp_path / "b.wav", 2.0, seed=2), "B", frame=70, channel=2)
    strips = [s for s in compat.sequence_strips(scene) if s.select]
    before = scene_state()
    stepper, count = Stepper(_strip_job(bpy.context, strips)), 0
    while stepper.step() is not None:
        count += 1
    assert count >= 6 and len(generated(scene)) == 2
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    for data in list(bpy.data.actions) + list(bpy.data.armatures):
        (bpy.data.actions if isinstance(data, bpy.types.Action) else bpy.data.armatures).remove(data)
    assert scene_state() == before
    for steps_run in range(1, count + 1):
        stepper = Stepper(_strip_job(bpy.context, strips))
        for _ in range(steps_run):
            assert stepper.step() is not None
        stepper.cancel()
        assert scene_state() == before, f"cancelled after step {steps_run}"


def test_onto_a_metahuman_rig_through_its_bone_map(scene, tmp_path):
    from motion_tokens.scene.rig import create_rig_armature

    rig = create_rig_armature("metahuman")
    scene.motion_tokens.target_armature = rig
    strip = add_strip(scene, speech_wav(tmp_path / "a.wav", 2.0), frame=3)
    before = {o.name for o in bpy.data.objects}
    assert bpy.ops.motion_tokens.gestures_from_sound_strips() == {"FINISHED"}
    assert {o.name for o in bpy.data.objects} == before  # no new armature
    action = rig.animation_data.action
    assert read_tokens(action).source == "Speech"
    assert tuple(action.frame_range) == (3, 3 + strip.frame_final_duration - 1)


def test_new_variation_of_one_of_several_strips_swaps_its_nla_strip(scene, tmp_path):
    a = add_strip(scene, speech_wav(tmp_path / "a.wav", 2.0), "A", frame=1)
    add_strip(scene, speech_wav(tmp_path / "b.wav", 2.0, seed=1), "B", frame=70, channel=2)
    assert bpy.ops.motion_tokens.gestures_from_sound_strips() == {"FINISHED"}
    anim = armature().animation_data
    old = {t.name: t.strips[0].action for t in anim.nla_tracks}
    scene.sequence_editor.active_strip = a
    assert bpy.ops.motion_tokens.new_variation() == {"FINISHED"}
    now = {t.name: t.strips[0].action for t in anim.nla_tracks}
    assert now["B"] == old["B"] and now["A"] != old["A"] and anim.action is None
    assert read_tokens(now["A"]).seed == read_tokens(old["A"]).seed + 1
