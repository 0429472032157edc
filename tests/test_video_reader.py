"""core.capture.video: MediaPipe Holistic landmarks from a video, read a few frames at a time,
in one process or split over two.

The shared signing clip (58 frames, 540x720, a phone's 30 fps) is read three ways, once each
per session: eight frames a step (as the capture pipeline reads it), all at once, and with
workers=2. Synthetic grey videos (MJPG .avi written here) check the no-person case and the
second process without the shared data.
"""

import multiprocessing
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from motion_tokens.core.capture import video
from motion_tokens.core.capture.video import VideoLandmarkReader, container_fps, mediapipe_available
from motion_tokens.core.errors import CorruptFileError, MissingFileError, OptionError

cv2 = pytest.importorskip("cv2")
pytest.importorskip("mediapipe")

CLIP = "sign/video/signing_clip.mp4"


def read_all(path, workers=1, step=8, mirrored=False):
    with VideoLandmarkReader(path, workers=workers, mirrored=mirrored) as reader:
        while reader.read(step):
            pass
        return reader.landmarks()


def grey_video(path, frames, size=(160, 120), fps=25.0):
    """A video of `frames` mid-grey frames (nobody in it), MJPG in .avi."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 100 + i % 5, dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="module")
def clip(data_dir):
    return data_dir / CLIP


@pytest.fixture(scope="module")
def stepped(clip):
    return read_all(clip, step=8)


@pytest.fixture(scope="module")
def two_workers(clip):
    return read_all(clip, workers=2, step=8)


@pytest.mark.data
def test_the_signing_clip(clip, stepped):
    with VideoLandmarkReader(clip) as reader:
        assert reader.num_frames == 58
    lm = stepped
    assert lm.num_frames == 58
    # The container's rate: frames 33.4 ms apart (29.92 fps), a phone's "30 fps".
    assert lm.fps == pytest.approx(30.0, abs=0.1)
    assert lm.image_size == (540, 720)
    assert lm.source == str(clip) and lm.mirrored is False
    assert (lm.body.shape, lm.body_visibility.shape) == ((58, 33, 3), (58, 33))
    assert lm.left_hand.shape == lm.right_hand.shape == (58, 21, 3)
    # FACTS.md: body in every frame, the right hand in about 20, the left never.
    assert lm.body_found.sum() == 58
    assert 17 <= lm.right_found.sum() <= 23
    assert lm.left_found.sum() == 0
    assert np.isnan(lm.left_hand).all()
    assert np.isnan(lm.right_hand[~lm.right_found]).all() and np.isfinite(lm.right_hand[lm.right_found]).all()
    # World landmarks in metres, hip-centred: shoulders (11, 12) a shoulder width apart.
    shoulders = np.linalg.norm(lm.body[:, 11] - lm.body[:, 12], axis=1)
    assert ((shoulders > 0.25) & (shoulders < 0.5)).all(), shoulders
    hips = 0.5 * (lm.body[:, 23] + lm.body[:, 24])
    assert np.linalg.norm(hips, axis=1).max() < 0.1
    assert ((lm.body_visibility >= 0) & (lm.body_visibility <= 1)).all()
    # Hands in pixels of the 540x720 frame (a fingertip may stick out of it a little).
    hand = lm.right_hand[lm.right_found]
    assert -0.1 * 540 < hand[..., 0].min() and hand[..., 0].max() < 1.1 * 540
    assert -0.1 * 720 < hand[..., 1].min() and hand[..., 1].max() < 1.1 * 720
    assert np.ptp(hand[..., 0]) > 20  # pixels, not MediaPipe's 0-1


@pytest.mark.data
def test_stepping_gives_what_reading_at_once_gives(clip, stepped):
    with VideoLandmarkReader(clip) as reader:
        assert reader.read(5) == 5
        assert reader.landmarks().num_frames == 5
        assert reader.read(1000) == 53
        assert reader.read(8) == 0
        at_once = reader.landmarks()
    for name in ("body", "body_visibility", "left_hand", "right_hand", "body_found", "left_found", "right_found"):
        np.testing.assert_array_equal(getattr(at_once, name), getattr(stepped, name), err_msg=name)


@pytest.mark.data
def test_two_workers(stepped, two_workers):
    """workers=2: this process reads frames 0-28 as workers=1 does (identical), the second
    process 29-57 with its own tracker. The two trackers differ a little, the size of
    restarting MediaPipe's tracking anywhere before frame 29 (measured: wrists 1-3.5 cm
    apart on average, the right hand found in the same 20 frames give or take 2), so found
    counts may differ by 3 frames and the wrists by 5 cm on average."""
    one, two = stepped, two_workers
    assert two.num_frames == 58 and two.fps == one.fps and two.image_size == one.image_size
    half = 58 // 2
    np.testing.assert_array_equal(two.body[:half], one.body[:half])
    np.testing.assert_array_equal(two.right_found[:half], one.right_found[:half])
    assert two.body_found.sum() == 58
    assert two.left_found.sum() == 0
    assert abs(int(two.right_found.sum()) - int(one.right_found.sum())) <= 3
    wrists = np.linalg.norm(two.body[:, 15:17] - one.body[:, 15:17], axis=2)
    assert wrists.mean() < 0.05, wrists.mean()


@pytest.mark.data
def test_close_part_way_ends_the_second_process(clip):
    reader = VideoLandmarkReader(clip, workers=2)
    process = reader._process
    assert process is not None and process.is_alive()
    assert reader.read(4) == 4
    reader.close()
    assert not process.is_alive() and process.exitcode is not None
    reader.close()  # again: nothing happens
    with pytest.raises(Exception, match="closed"):
        reader.read(1)
    assert not multiprocessing.active_children()


def test_no_person_is_not_an_error(tmp_path):
    lm = read_all(grey_video(tmp_path / "grey.avi", 6), mirrored=True)
    assert lm.num_frames == 6 and lm.fps == pytest.approx(25.0) and lm.image_size == (160, 120)
    assert not lm.body_found.any() and not lm.left_found.any() and not lm.right_found.any()
    assert np.isnan(lm.body).all() and np.isnan(lm.right_hand).all()
    assert (lm.body_visibility == 0).all()
    assert lm.mirrored is True


def test_two_workers_on_a_synthetic_video_and_an_exception(tmp_path):
    """The second process without the shared data: 40 frames split 20 + 20, in order; an
    exception inside `with` ends it."""
    path = grey_video(tmp_path / "grey.avi", 2 * video.MIN_FRAMES_PER_WORKER + 8)
    lm = read_all(path, workers=2, step=7)
    assert lm.num_frames == 40 and not lm.body_found.any()
    with pytest.raises(RuntimeError, match="stop"):
        with VideoLandmarkReader(path, workers=2) as reader:
            process = reader._process
            reader.read(3)
            raise RuntimeError("stop")
    assert not process.is_alive()


def test_a_short_video_runs_in_one_process(tmp_path):
    with VideoLandmarkReader(grey_video(tmp_path / "short.avi", 5), workers=2) as reader:
        assert reader._process is None
        assert reader.read(10) == 5


def test_two_workers_from_a_script_without_a_main_guard(tmp_path):
    """Spawn re-runs the parent's main script in the child unless told not to: a script (or a
    Blender --python script) calling the reader at its top level must not run twice."""
    path = grey_video(tmp_path / "grey.avi", 2 * video.MIN_FRAMES_PER_WORKER)
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        from motion_tokens.core.capture.video import VideoLandmarkReader
        print("script ran")
        with VideoLandmarkReader({str(path)!r}, workers=2) as reader:
            while reader.read(8):
                pass
            print("frames", reader.landmarks().num_frames)
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n").count("script ran") == 1
    assert "frames 32" in result.stdout


def test_bad_files(tmp_path):
    with pytest.raises(MissingFileError, match="missing.mp4"):
        VideoLandmarkReader(tmp_path / "missing.mp4")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(CorruptFileError, match="empty.mp4"):
        VideoLandmarkReader(empty)
    garbage = tmp_path / "x.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptFileError, match="x.mp4") as caught:
        VideoLandmarkReader(garbage)
    assert "\n" not in str(caught.value)
    with pytest.raises(OptionError, match="workers"):
        VideoLandmarkReader(garbage, workers=3)


@pytest.mark.parametrize("fps", [0.0, float("nan"), -1.0, 1000.0, None])
def test_an_unusable_frame_rate_is_refused(fps):
    with pytest.raises(CorruptFileError, match="clip.webm.*frame rate"):
        container_fps("clip.webm", fps)


def test_a_usable_frame_rate_is_kept():
    assert container_fps("clip.mp4", 29.97) == 29.97


def test_mediapipe_available(monkeypatch):
    assert mediapipe_available() is None
    assert mediapipe_available(import_it=True) is None
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mediapipe" else real(name, *a))
    assert "mediapipe is not installed" in mediapipe_available()


def test_esc_in_the_capture_pipeline_ends_the_second_process(tmp_path):
    """pipelines.capture.landmark_steps closed part-way (Esc) closes the reader."""
    from motion_tokens.pipelines.capture import landmark_steps

    steps = landmark_steps(grey_video(tmp_path / "grey.avi", 2 * video.MIN_FRAMES_PER_WORKER + 8), False, 2)
    next(steps)
    next(steps)
    assert multiprocessing.active_children()
    steps.close()
    assert not multiprocessing.active_children()
