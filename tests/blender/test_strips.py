"""scene.strips: the selected sound and movie strips of the sequencer."""

import os
import wave

import bpy
import numpy as np
import pytest
from motion_tokens.scene import compat
from motion_tokens.scene.strips import MediaStrip, selected_media_strips

#: Sound strips need Blender's audio library; the PyPI bpy 4.2 wheel is built without it
#: (Blender 4.2 itself has it, and bpy 4.5 and 5.0 do).
needs_audaspace = pytest.mark.skipif(
    not bpy.app.build_options.audaspace, reason=f"bpy {bpy.app.version_string} is built without Audaspace: no sound strips"
)


def write_wav(path, seconds=1.0, rate=16000):
    """A mono 16-bit WAV file of a quiet tone."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.1 * 32767 * np.sin(2 * np.pi * 220 * t)).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.tobytes())
    return path


def write_movie(path, frames=15, fps=30):
    cv2 = pytest.importorskip("cv2", reason="OpenCV writes the test movie")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (32, 24))
    for i in range(frames):
        writer.write(np.full((24, 32, 3), 10 * i, dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture
def scene30(empty_scene):
    empty_scene.render.fps = 30
    empty_scene.render.fps_base = 1.0
    return empty_scene


def test_no_sequencer_or_an_empty_one_means_no_strips(scene30):
    scene30.sequence_editor_clear()
    assert scene30.sequence_editor is None
    assert selected_media_strips(scene30) == []
    scene30.sequence_editor_create()
    assert selected_media_strips(scene30) == []


@needs_audaspace
def test_selected_sound_strip(scene30, tmp_path):
    wav = write_wav(tmp_path / "speech.wav", seconds=2.0)
    compat.sequence_strip_collection(scene30).new_sound("Speech", str(wav), 3, 11)
    assert selected_media_strips(scene30) == [
        MediaStrip(name="Speech", kind="SOUND", filepath=str(wav), frame_start=11, duration=60, channel=3)
    ]


@needs_audaspace
def test_sound_and_movie_strips_follow_the_selection(scene30, tmp_path):
    wav = write_wav(tmp_path / "a.wav")
    movie = write_movie(tmp_path / "b.avi", frames=15)
    strips = compat.sequence_strip_collection(scene30)
    sound = strips.new_sound("A", str(wav), 2, 1)
    clip = strips.new_movie("B", str(movie), 1, 5)

    found = selected_media_strips(scene30)  # new strips are selected; ordered by channel
    assert [(s.name, s.kind, s.channel, s.frame_start, s.duration) for s in found] == [
        ("B", "MOVIE", 1, 5, 15),
        ("A", "SOUND", 2, 1, 30),
    ]
    assert found[0].filepath == str(movie) and os.path.isabs(found[0].filepath)

    compat.set_strip_selected(clip, False)
    assert [s.name for s in selected_media_strips(scene30)] == ["A"]
    compat.set_strip_selected(sound, False)
    assert selected_media_strips(scene30) == []
    compat.set_strip_selected(clip, True)
    assert [s.name for s in selected_media_strips(scene30)] == ["B"]


@needs_audaspace
def test_trimmed_strip_reports_what_it_shows(scene30, tmp_path):
    wav = write_wav(tmp_path / "long.wav", seconds=3.0)
    sound = compat.sequence_strip_collection(scene30).new_sound("Long", str(wav), 1, 1)
    sound.frame_final_start = 21  # trim the first 20 frames off
    sound.frame_final_end = 71
    (found,) = selected_media_strips(scene30)
    assert (found.frame_start, found.duration, found.source_offset) == (21, 50, 20)


@needs_audaspace
def test_relative_paths_are_made_absolute(scene30, tmp_path):
    (tmp_path / "media").mkdir()
    wav = write_wav(tmp_path / "media" / "speech.wav")
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "scene.blend"))
    sound = compat.sequence_strip_collection(bpy.context.scene).new_sound("Speech", str(wav), 1, 1)
    sound.sound.filepath = "//media/speech.wav"
    (found,) = selected_media_strips(bpy.context.scene)
    assert found.filepath == str(tmp_path / "media" / "speech.wav")


@needs_audaspace
def test_strips_without_media_are_left_out(scene30, tmp_path):
    wav = write_wav(tmp_path / "a.wav")
    strips = compat.sequence_strip_collection(scene30)
    strips.new_sound("A", str(wav), 2, 1)
    shot = strips.new_scene("Shot", bpy.data.scenes.new("Other"), 1, 1)
    compat.set_strip_selected(shot, True)
    assert [s.name for s in selected_media_strips(scene30)] == ["A"]
