"""Spot Signs (operators.spot_signs), headless: the ASL letters joined into one .pose, a movie
strip of the real signing clip and an imported action are matched against a lexicon folder;
markers and sound strips of the recorded words land at the frames the detections' times give
(worked out here from the `spot` pipeline's own seconds at the scene's rate), subtitles are
written in scene time; refusals and Esc after any step leave the scene as it was.

The real inputs come from the shared data (skipped without it); the movie strip needs MediaPipe.
"""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import bpy
import pytest
from motion_tokens.core.capture.fit import fit_landmarks
from motion_tokens.core.formats import write_motion
from motion_tokens.core.formats.pose import read_pose_landmarks
from motion_tokens.pipelines.progress import Stepper
from motion_tokens.pipelines.spot import SpotOptions, spot
from motion_tokens.scene import compat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sign_queries import WORD, joined_pose, letters, lexicon_with_words  # noqa: E402

pytestmark = pytest.mark.usefixtures("registered")

DATA = Path(os.environ.get("MOTION_TOKENS_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
CLIP = DATA / "sign" / "video" / "signing_clip.mp4"  # 58 frames at 30 fps
needs_data = pytest.mark.skipif(not CLIP.is_file(), reason=f"the shared sign data is not at {DATA}")
needs_mediapipe = pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="MediaPipe is not installed")


def scene_state(scene):
    return (sorted((m.name, m.frame) for m in scene.timeline_markers),
            sorted((s.name, s.channel, s.frame_start) for s in compat.sequence_strips(scene)),
            sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions))


def markers(scene):
    return sorted(((m.frame, m.name) for m in scene.timeline_markers))


def sound_strips(scene):
    return sorted((s.frame_start, s.name, s.channel, bpy.path.abspath(s.sound.filepath))
                  for s in compat.sequence_strips(scene) if s.type == "SOUND")


@pytest.fixture
def words(tmp_path):
    return lexicon_with_words(DATA, tmp_path / "lexicon")


@needs_data
def test_markers_and_recorded_words_land_at_the_detected_frames(scene, words, tmp_path):
    query = tmp_path / "balvy.pose"
    joined_pose(DATA, query)
    expected = spot(SpotOptions(query, words)).detections
    assert [d.label for d in expected] == list(WORD)
    scene.render.fps, scene.render.fps_base = 24, 1.0  # not the query's rate: the seconds are kept
    scene.frame_current = 11
    editor = compat.sequence_strip_collection(scene)
    editor.new_movie("Edit", str(CLIP), 3, 1)  # an edit already there: the words go above it
    scene.motion_tokens.signs.lexicon = str(words)
    scene.motion_tokens.signs.subtitles = str(tmp_path / "signs.srt")
    assert bpy.ops.motion_tokens.spot_signs(filepath=str(query)) == {"FINISHED"}
    frames = [11 + round(d.start * 24) for d in expected]
    assert markers(scene) == sorted(zip(frames, WORD))
    assert sound_strips(scene) == sorted((f, c, 4, str(words / f"{c}.wav")) for f, c in zip(frames, WORD))
    cues = (tmp_path / "signs.srt").read_text().strip().split("\n\n")
    assert [c.splitlines()[2] for c in cues] == list(WORD)
    first = cues[0].splitlines()[1].split(" --> ")[0]  # scene time: from frame 1, the query at frame 11
    h, m, rest = first.split(":")
    assert abs(float(rest.replace(",", ".")) - (frames[0] - 1) / 24) < 1e-3
    # Again over the same query: no marker twice.
    assert bpy.ops.motion_tokens.spot_signs(filepath=str(query)) == {"FINISHED"}
    assert markers(scene) == sorted(zip(frames, WORD))


@needs_data
def test_an_imported_action_is_spotted_like_its_file(scene, words, tmp_path):
    query = tmp_path / "balvy.pose"
    joined_pose(DATA, query)
    motion_file = write_motion(tmp_path / "balvy.npz", fit_landmarks(read_pose_landmarks(query)).motion)
    expected = spot(SpotOptions(motion_file, words)).detections
    assert [d.label for d in expected] == list(WORD)
    scene.frame_current = 5
    assert bpy.ops.motion_tokens.import_motion(filepath=str(motion_file)) == {"FINISHED"}
    scene.motion_tokens.signs.lexicon = str(words)
    scene.motion_tokens.signs.sound_strips = False
    assert bpy.ops.motion_tokens.spot_signs() == {"FINISHED"}
    assert markers(scene) == sorted((5 + round(d.start * 30), d.label) for d in expected)
    assert sound_strips(scene) == []


@needs_data
@needs_mediapipe
def test_a_trimmed_movie_strip_places_its_sign_where_the_strip_shows_it(scene, tmp_path):
    folder = tmp_path / "lexicon"
    folder.mkdir()
    shutil.copy(CLIP, folder / "CLIP.mp4")
    shutil.copy(lexicon_with_words(DATA, tmp_path / "words") / "A.wav", folder / "CLIP.wav")
    for letter in "ABLVY":
        shutil.copy(letters(DATA) / f"{letter}.pose", folder / f"{letter}.pose")
    expected = [d for d in spot(SpotOptions(CLIP, folder)).detections if d.label == "CLIP"]
    assert expected
    strip = compat.sequence_strip_collection(scene).new_movie("Clip", str(CLIP), 2, 21)
    strip.frame_offset_start = 6  # 0.2 s of the file trimmed off
    compat.set_strip_selected(strip, True)
    scene.motion_tokens.signs.lexicon = str(folder)
    assert bpy.ops.motion_tokens.spot_signs() == {"FINISHED"}
    first = strip.frame_final_start
    frame = round(first + (expected[0].start - 0.2) * 30)
    assert (frame, "CLIP") in markers(scene)
    assert (frame, "CLIP", 3, str(folder / "CLIP.wav")) in sound_strips(scene)  # above the movie's channel


@needs_data
def test_refusals_leave_the_scene_as_it_was(scene, words, tmp_path):
    query = tmp_path / "balvy.pose"
    joined_pose(DATA, query)
    before = scene_state(scene)
    with pytest.raises(RuntimeError, match="no lexicon"):
        bpy.ops.motion_tokens.spot_signs(filepath=str(query))
    empty = tmp_path / "empty"
    empty.mkdir()
    scene.motion_tokens.signs.lexicon = str(empty)
    with pytest.raises(RuntimeError, match="empty"):
        bpy.ops.motion_tokens.spot_signs(filepath=str(query))
    scene.motion_tokens.signs.lexicon = str(words)
    with pytest.raises(RuntimeError, match="nothing to spot signs in"):
        bpy.ops.motion_tokens.spot_signs()
    scene.motion_tokens.signs.subtitles = str(tmp_path / "signs.txt")
    with pytest.raises(RuntimeError, match="signs.txt"):
        bpy.ops.motion_tokens.spot_signs(filepath=str(query))
    scene.motion_tokens.signs.subtitles = ""
    with pytest.raises(RuntimeError, match="missing.pose"):
        bpy.ops.motion_tokens.spot_signs(filepath=str(tmp_path / "missing.pose"))
    assert scene_state(scene) == before


@needs_data
def test_esc_after_any_step_leaves_the_scene_as_it_was(scene, words, tmp_path):
    from motion_tokens.operators.spot_signs import MOTION_TOKENS_OT_spot_signs

    query = tmp_path / "balvy.pose"
    joined_pose(DATA, query)
    scene.motion_tokens.signs.lexicon = str(words)

    class Job:  # the operator's own job_steps, with its filepath set as the redo panel would
        filepath = str(query)

    for name in ("_queries", "_steps", "_place"):
        setattr(Job, name, getattr(MOTION_TOKENS_OT_spot_signs, name))

    def job():
        return MOTION_TOKENS_OT_spot_signs.job_steps(Job(), bpy.context)

    before = scene_state(scene)
    stepper, count = Stepper(job()), 0
    while stepper.step() is not None:
        count += 1
    assert count >= 4 and len(scene.timeline_markers) == len(WORD)
    for marker in list(scene.timeline_markers):
        scene.timeline_markers.remove(marker)
    for strip in compat.sequence_strips(scene):
        compat.sequence_strip_collection(scene).remove(strip)
    assert scene_state(scene) == before
    for steps_run in range(1, count + 1):
        stepper = Stepper(job())
        for _ in range(steps_run):
            assert stepper.step() is not None
        stepper.cancel()
        assert scene_state(scene) == before, f"cancelled after step {steps_run}"


def test_the_signs_panel_draws_its_settings_and_the_operator(scene):
    from test_quantize import RecordingLayout

    for panel_type in (bpy.types.MOTION_TOKENS_PT_signs, bpy.types.MOTION_TOKENS_PT_signs_sequencer):
        panel = type("PanelStandIn", (), {"layout": RecordingLayout()})()
        panel_type.draw(panel, bpy.context)
        assert panel.layout.props == ["lexicon", "language", "threshold", "overlap", "window", "hop", "markers",
                                      "sound_strips", "subtitles"]
        assert panel.layout.operators == ["motion_tokens.spot_signs"]
        assert any("not synthesised speech" in text for text in panel.layout.labels)
    assert bpy.types.MOTION_TOKENS_PT_signs_sequencer.bl_space_type == "SEQUENCE_EDITOR"
