"""`python -m motion_tokens capture`, run as users run it (a new process): the ASL letter A
(.pose, 25 fps) and the signing clip (video, MediaPipe) written as tokens files with the raw
fit and read back; other frame rates and formats; exit status 2 with one line for bad input,
nothing written."""


import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.capture.file import read_raw_fit
from motion_tokens.core.formats import read_bvh
from motion_tokens.core.formats.tokens import read_tokens_file
from motion_tokens.core.kinematics import forward_kinematics
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES
from pose_format import Pose
from cli_runs import assert_bad_input, run_command

LETTER_A = "sign/fingerspelling/A.pose"
OTHER_LAYOUT = "sign/other-layout/reduced_holistic.pose"
CLIP = "sign/video/signing_clip.mp4"


def frames_at(frames: int, fps: float, rate: float) -> int:
    """Frames of a take of `frames` at `fps` resampled to `rate` (core.motion.Motion.resampled:
    frame k at k / rate, the last inside the take's span (frames - 1) / fps): 21 frames at 25 fps
    span 0.8 s, so 25 frames at 30 fps and 49 at 60."""
    return int(np.floor((frames - 1) / fps * rate + 1e-6)) + 1


def run_cli(*args):
    return run_command("capture", *args)


def pose_frames_and_fps(path):
    """(frames, fps) as pose-format itself reads the file."""
    pose = Pose.read(path.read_bytes())
    return pose.body.data.shape[0], float(pose.body.fps)


def test_letter_to_a_tokens_file_with_the_raw_fit(data_dir, tmp_path):
    source = data_dir / LETTER_A
    out = tmp_path / "A.npz"
    result = run_cli(source, "--out", out, "--codec", "kmeans-10")
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    frames, fps = pose_frames_and_fps(source)
    expected = frames_at(frames, fps, 30)  # the same duration at 30 fps
    tokens = read_tokens_file(out)
    assert tokens.template.num_frames == expected and tokens.token_fps == 30.0
    assert tokens.codec_names == {"body": "kmeans-10", "hands": "kmeans-10"}
    assert all(len(t) == expected for t in tokens.tokens.values())
    raw = read_raw_fit(out)
    assert raw.motion.num_frames == expected and raw.motion.fps == 30.0
    # The one-handed ASL alphabet: MediaPipe found the right hand, never the left (data README).
    assert raw.found["right_hand"].all() and not raw.found["left_hand"].any() and raw.found["body"].all()
    # The decoded motion is the raw fit through the codec: close, not equal.
    decoded = tokens.template.rotations
    angle = np.degrees(rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(raw.motion.rotations), decoded)))
    assert 0.0 < angle.mean() < 30.0


def test_other_rates_and_formats_keep_the_duration(data_dir, tmp_path):
    source = data_dir / LETTER_A
    out = tmp_path / "A.bvh"
    result = run_cli(source, "--out", out, "--fps", 60)
    assert result.returncode == 0, result.stderr
    frames, fps = pose_frames_and_fps(source)
    decoded, raw = read_bvh(out), read_bvh(tmp_path / "A-raw.bvh")
    assert decoded.fps == raw.fps == 60.0
    assert decoded.num_frames == raw.num_frames == frames_at(frames, fps, 60)
    assert "(the raw fit)" in result.stdout


def fk_wrists(motion):
    """(T, 2, 3) left and right wrist positions, root at the origin (SMPL-X axes)."""
    _, positions = forward_kinematics(motion.rotations, motion.skeleton.offsets, motion.skeleton.parents,
                                      np.zeros((motion.num_frames, 3)))
    return positions[:, [SMPLX_JOINT_NAMES.index("left_wrist"), SMPLX_JOINT_NAMES.index("right_wrist")]]


def test_the_video_wrists_move_where_the_landmarks_move(data_dir, tmp_path):
    """On the shared signing clip the fitted right wrist follows MediaPipe's: the trajectories
    (hip-centred, in SMPL-X axes by the hand-worked (x, -y, -z)) correlate on every axis the
    wrist moves along."""
    import cv2
    import mediapipe as mp

    source = data_dir / CLIP
    out = tmp_path / "clip.npz"
    result = run_cli(source, "--out", out)
    assert result.returncode == 0, result.stderr
    raw = read_raw_fit(out).motion
    fitted = fk_wrists(raw)[:, 1]
    video = cv2.VideoCapture(str(source))
    seen = []
    with mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1) as holistic:
        while True:
            ok, frame = video.read()
            if not ok:
                break
            world = holistic.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).pose_world_landmarks
            seen.append([np.nan] * 3 if world is None else [world.landmark[16].x, world.landmark[16].y,
                                                            world.landmark[16].z])
    truth = np.asarray(seen) * np.array([1.0, -1.0, -1.0])
    n = min(len(truth), len(fitted))
    ok = np.isfinite(truth[:n]).all(axis=1)
    for axis in range(3):
        if np.std(truth[:n][ok, axis]) > 0.02:  # moves by more than 2 cm
            r = np.corrcoef(truth[:n][ok, axis], fitted[:n][ok, axis])[0, 1]
            assert r > 0.8, (axis, r)


def test_bad_inputs_give_one_line_and_exit_2(data_dir, tmp_path):
    out = tmp_path / "x.npz"
    assert_bad_input(run_cli(tmp_path / "missing.pose", "--out", out), "missing.pose")
    empty = tmp_path / "empty.pose"
    empty.write_bytes(b"")
    assert_bad_input(run_cli(empty, "--out", out), "empty.pose")
    truncated = tmp_path / "truncated.pose"
    truncated.write_bytes((data_dir / LETTER_A).read_bytes()[:200])
    assert_bad_input(run_cli(truncated, "--out", out), "truncated.pose")
    assert_bad_input(run_cli(data_dir / OTHER_LAYOUT, "--out", out), "reduced_holistic.pose", "POSE_LANDMARKS")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert_bad_input(run_cli(text, "--out", out), "notes.txt", ".pose")
    assert_bad_input(run_cli(data_dir / LETTER_A, "--out", tmp_path / "a.npz", "--fps", 60), "30")
    assert_bad_input(run_cli(data_dir / LETTER_A, "--out", out, "--fps", 0), "fps")
    assert_bad_input(run_cli(data_dir / LETTER_A, "--out", tmp_path / "a.txt"), "a.txt")
    assert_bad_input(run_cli(data_dir / LETTER_A, "--out", out, "--codec", "nosuch-3"), "nosuch-3")
    assert_bad_input(run_cli(data_dir / LETTER_A, "--out", tmp_path / "no" / "a.npz"), "does not exist")
    assert not list(tmp_path.glob("*.npz"))


def test_output_onto_the_input_is_refused(data_dir, tmp_path):
    copy = tmp_path / "A.pose"
    copy.write_bytes((data_dir / LETTER_A).read_bytes())
    before = copy.read_bytes()
    assert_bad_input(run_cli(copy, "--out", copy), "A.pose")
    assert copy.read_bytes() == before


@pytest.mark.parametrize("fmt", ["npz", "bvh"])
def test_several_inputs_go_into_a_folder(data_dir, tmp_path, fmt):
    letters = [data_dir / "sign/fingerspelling" / f"{c}.pose" for c in "AB"]
    result = run_cli(*letters, "--out", tmp_path, "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob(f"*.{fmt}")) == (
        ["A.npz", "B.npz"] if fmt == "npz" else ["A-raw.bvh", "A.bvh", "B-raw.bvh", "B.bvh"])


def test_video_progress_counts_frames_and_their_rate(data_dir, tmp_path):
    """The capture job's steps on a video say the frame reached and MediaPipe's frames per
    second (what the operator's status bar shows beside the time left), frames rising."""
    from motion_tokens.pipelines.capture import CaptureOptions, CapturedFiles, capture_steps

    options = CaptureOptions((data_dir / CLIP,), "kmeans-6")
    steps, lines = capture_steps(options, CapturedFiles(tmp_path / "clip.npz")), []
    try:
        while True:
            lines.append(next(steps).what)
    except StopIteration:
        pass
    mediapipe = [w for w in lines if w.startswith("MediaPipe on signing_clip.mp4")]
    assert len(mediapipe) >= 3 and all("of 58" in w for w in mediapipe)
    rated = [w for w in mediapipe if w.endswith("frames/s")]
    assert len(rated) == len(mediapipe) - 1  # all but the first, before any frame is done
    reached = [int(w.split(", frame ")[1].split(" ")[0]) for w in mediapipe]
    assert reached == sorted(reached) and reached[0] == 1
