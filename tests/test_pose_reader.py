"""core.formats.pose: .pose files (pose-format, MediaPipe Holistic) read as Landmarks.

The truth for the conversions is files written here with pose-format's own API from known
arrays, stored the way its holistic.py stores MediaPipe's results (x * width, y * height, z),
or shoulder-normalised the way normalize_pose_size does it; the shared sign files are checked
for counts and plausible metres."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from motion_tokens.core.errors import CorruptFileError, InputFileError, LayoutError, MissingFileError
from motion_tokens.core.formats.pose import (
    ASPECT,
    BODY_NAMES,
    HAND_NAMES,
    SHOULDER_FRACTION,
    WIDTH_PX,
    read_pose_landmarks,
)
from pose_format import Pose
from pose_format.numpy import NumPyPoseBody
from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

LETTER_A = "sign/fingerspelling/A.pose"
LETTER_B = "sign/fingerspelling/B.pose"
OTHER_LAYOUT = "sign/other-layout/reduced_holistic.pose"
LEXICONS = "sign/lexicons/fingerspelling"
HOLISTIC = (("POSE_LANDMARKS", BODY_NAMES), ("FACE_LANDMARKS", [str(i) for i in range(478)]),
            ("LEFT_HAND_LANDMARKS", HAND_NAMES), ("RIGHT_HAND_LANDMARKS", HAND_NAMES),
            ("POSE_WORLD_LANDMARKS", BODY_NAMES))


def body_metres(T: int, seed: int = 0) -> np.ndarray:
    """(T, 33, 3) world landmarks in metres, hip midpoint at the origin, shoulders 0.36 m apart."""
    rng = np.random.default_rng(seed)
    body = rng.normal(0.0, 0.15, (T, 33, 3))
    body[:, 11], body[:, 12] = (0.18, -0.5, 0.02), (-0.18, -0.5, -0.02)
    body[:, 23], body[:, 24] = (0.1, 0.0, 0.01), (-0.1, 0.0, -0.01)
    return body


def write_pose(path, parts: dict, conf: dict, fps=25.0, size=(640, 480), components=HOLISTIC, people=1):
    """Write a .pose with pose-format: parts[name] (T, n, 3) and conf[name] (T, n) per component."""
    header = PoseHeader(version=0.2, dimensions=PoseHeaderDimensions(width=size[0], height=size[1], depth=0),
                        components=[PoseHeaderComponent(name=name, points=list(points), limbs=[], colors=[(255, 0, 0)],
                                                        point_format="XYZC") for name, points in components])
    T = next(iter(parts.values())).shape[0]
    data = np.concatenate([parts.get(name, np.zeros((T, len(points), 3))) for name, points in components], axis=1)
    c = np.concatenate([conf.get(name, np.ones((T, len(points)))) for name, points in components], axis=1)
    data = np.repeat(data[:, None], people, axis=1)
    c = np.repeat(c[:, None], people, axis=1)
    if people > 1:
        data[:, 1:] += 1000.0  # the other people are elsewhere
    with open(path, "wb") as fh:
        Pose(header, NumPyPoseBody(fps=fps, data=data.astype(np.float32), confidence=c.astype(np.float32))).write(fh)
    return path


def pixel_file(path, T=6, size=(640, 480), **kw):
    """A file as pose-format's video_to_pose writes MediaPipe Holistic: returns (path, metres,
    left hand pixels and z, right hand pixels and z, world visibility)."""
    W, H = size
    metres = body_metres(T)
    rng = np.random.default_rng(1)
    hands = [np.concatenate([rng.uniform(100, 400, (T, 21, 2)), rng.normal(0.0, 0.05, (T, 21, 1))], axis=-1) for _ in range(2)]
    for hand in hands:
        hand[:, 0, 2] = 0.0  # MediaPipe's hand z is relative to the wrist
    vis = rng.uniform(0.2, 1.0, (T, 33)).astype(np.float32)
    image = np.concatenate([rng.uniform(0, 1, (T, 33, 2)) * (W, H), rng.normal(0, 0.3, (T, 33, 1))], axis=-1)
    conf = {"POSE_LANDMARKS": vis, "POSE_WORLD_LANDMARKS": vis, "LEFT_HAND_LANDMARKS": np.ones((T, 21)),
            "RIGHT_HAND_LANDMARKS": np.ones((T, 21))}
    conf["LEFT_HAND_LANDMARKS"][[1, 4]] = 0.0  # not found in frames 1 and 4
    conf["POSE_WORLD_LANDMARKS"] = vis.copy()
    conf["POSE_WORLD_LANDMARKS"][2] = 0.0  # the world body not found in frame 2
    parts = {"POSE_LANDMARKS": image, "POSE_WORLD_LANDMARKS": metres * (W, H, 1.0),
             "LEFT_HAND_LANDMARKS": hands[0], "RIGHT_HAND_LANDMARKS": hands[1]}
    write_pose(path, parts, conf, size=size, **kw)
    return path, metres, hands, conf


def test_pixel_layout_reads_back_metres_and_pixels_exactly(tmp_path):
    path, metres, hands, conf = pixel_file(tmp_path / "take.pose")
    notes = []
    lm = read_pose_landmarks(path, warnings=notes)
    assert notes == []
    assert lm.num_frames == 6 and lm.fps == 25.0 and lm.image_size == (640, 480)
    assert lm.source == str(path) and lm.mirrored is False
    assert lm.body.shape == (6, 33, 3) and lm.left_hand.shape == (6, 21, 3) and lm.body_visibility.shape == (6, 33)
    found = np.array([1, 1, 0, 1, 1, 1], bool)
    np.testing.assert_array_equal(lm.body_found, found)
    np.testing.assert_allclose(lm.body[found], metres[found], atol=1e-6)
    assert np.isnan(lm.body[2]).all() and (lm.body_visibility[2] == 0).all()
    np.testing.assert_allclose(lm.body_visibility[found], conf["POSE_WORLD_LANDMARKS"][found], atol=1e-7)
    left_found = np.array([1, 0, 1, 1, 0, 1], bool)
    np.testing.assert_array_equal(lm.left_found, left_found)
    assert lm.right_found.all()
    scale = np.array([1.0, 1.0, 640.0])  # z in x's pixels: MediaPipe's z times the width
    np.testing.assert_allclose(lm.left_hand[left_found], hands[0][left_found] * scale, atol=1e-3)
    assert np.isnan(lm.left_hand[~left_found]).all()
    np.testing.assert_allclose(lm.right_hand, hands[1] * scale, atol=1e-3)


def test_shoulder_normalised_layout_inverts_normalize_pose_size(tmp_path):
    """World metres put through pose.normalize and normalize_pose_size as pose-format does it,
    from a frame of the size the module assumes, come back as those metres."""
    T, W0 = 5, WIDTH_PX
    H0, d = ASPECT * W0, SHOULDER_FRACTION * W0
    metres = body_metres(T, seed=3)
    centre = np.array([0.52 * W0, 0.4 * H0, -0.3])  # the shoulders' mean middle (pixels, pixels, z)
    rng = np.random.default_rng(4)

    def normalised(stored):  # pose.normalize, then normalize_pose_size(pose, 500)
        return ((stored - centre) / d + 1.25) * 200.0

    def in_frame(n, z_sd):  # (T, n, 3): pixels of the W0 x H0 frame, z as MediaPipe gives it
        return np.concatenate([rng.uniform(0, W0, (T, n, 1)), rng.uniform(0, H0, (T, n, 1)), rng.normal(0, z_sd, (T, n, 1))], axis=-1)

    image, hand = in_frame(33, 0.3), in_frame(21, 0.05)
    image[:, 11], image[:, 12] = centre + (d / 2, 0, 0), centre - (d / 2, 0, 0)
    parts = {"POSE_LANDMARKS": normalised(image), "POSE_WORLD_LANDMARKS": normalised(metres * (W0, H0, 1.0)),
             "LEFT_HAND_LANDMARKS": normalised(hand), "RIGHT_HAND_LANDMARKS": normalised(hand[:, ::-1])}
    path = write_pose(tmp_path / "normalised.pose", parts, {}, size=(500, 500))
    notes = []
    lm = read_pose_landmarks(path, warnings=notes)
    assert len(notes) == 1 and "shoulder-normalised" in notes[0] and "estimates" in notes[0]
    np.testing.assert_allclose(lm.body, metres, atol=2e-4)
    # Hands: the file's pixels; z relative to the wrist in x's pixel scale, as z * W0 would be.
    expected = normalised(hand)
    expected[..., 2] = (hand[..., 2] - hand[:, :1, 2]) * W0 * 200.0 / d
    np.testing.assert_allclose(lm.left_hand, expected, atol=2e-2)


def test_only_the_first_person_is_read_and_a_note_says_so(tmp_path):
    path, metres, _, _ = pixel_file(tmp_path / "two.pose", people=2)
    notes = []
    lm = read_pose_landmarks(path, warnings=notes)
    assert any("2 people" in note and "first" in note for note in notes)
    np.testing.assert_allclose(lm.body[lm.body_found], metres[lm.body_found], atol=1e-6)


def assert_refused(path, error, *words):
    with pytest.raises(error) as caught:
        read_pose_landmarks(path)
    message = str(caught.value)
    assert path.name in message and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


def test_missing_empty_truncated_corrupt_and_padded_files_are_refused(tmp_path):
    assert_refused(tmp_path / "nothere.pose", MissingFileError, "no such file")
    (tmp_path / "empty.pose").write_bytes(b"")
    assert_refused(tmp_path / "empty.pose", CorruptFileError, "empty")
    whole = pixel_file(tmp_path / "whole.pose")[0].read_bytes()
    (tmp_path / "half.pose").write_bytes(whole[:len(whole) // 2])
    assert_refused(tmp_path / "half.pose", CorruptFileError, "cut short")
    (tmp_path / "head.pose").write_bytes(whole[:40])
    assert_refused(tmp_path / "head.pose", CorruptFileError, "header")
    (tmp_path / "noise.pose").write_bytes(np.random.default_rng(0).bytes(5000))
    assert_refused(tmp_path / "noise.pose", CorruptFileError)
    (tmp_path / "padded.pose").write_bytes(whole + b"\0" * 7)
    assert_refused(tmp_path / "padded.pose", CorruptFileError, "7 bytes follow")


def test_no_frames_and_unusable_frame_rates_are_refused(tmp_path):
    empty = {name: np.zeros((0, len(points), 3)) for name, points in HOLISTIC}
    write_pose(tmp_path / "noframes.pose", empty, {name: np.zeros((0, len(points))) for name, points in HOLISTIC})
    assert_refused(tmp_path / "noframes.pose", CorruptFileError, "no frames")
    pixel_file(tmp_path / "zero.pose", fps=0.0)
    assert_refused(tmp_path / "zero.pose", CorruptFileError, "frame rate")
    pixel_file(tmp_path / "nan.pose", fps=float("nan"))
    assert_refused(tmp_path / "nan.pose", CorruptFileError, "nan fps")


def test_other_layouts_are_refused_naming_what_differs(tmp_path):
    T = 3
    parts = {"POSE_LANDMARKS": np.ones((T, 33, 3)), "LEFT_HAND_LANDMARKS": np.ones((T, 21, 3))}
    write_pose(tmp_path / "noworld.pose", parts, {}, components=HOLISTIC[:4])
    assert_refused(tmp_path / "noworld.pose", LayoutError, "no POSE_WORLD_LANDMARKS component")
    write_pose(tmp_path / "fewer.pose", {"POSE_LANDMARKS": np.ones((T, 8, 3))}, {},
               components=(("POSE_LANDMARKS", BODY_NAMES[:8]),) + HOLISTIC[1:])
    assert_refused(tmp_path / "fewer.pose", LayoutError, "POSE_LANDMARKS has 8 points, MediaPipe Holistic has 33")
    swapped = list(HAND_NAMES)
    swapped[1], swapped[2] = swapped[2], swapped[1]
    write_pose(tmp_path / "order.pose", {"POSE_LANDMARKS": np.ones((T, 33, 3))}, {},
               components=HOLISTIC[:3] + (("RIGHT_HAND_LANDMARKS", swapped),) + HOLISTIC[4:])
    assert_refused(tmp_path / "order.pose", LayoutError, "RIGHT_HAND_LANDMARKS", "order")


def test_world_landmarks_in_no_known_arrangement_are_refused(tmp_path):
    T = 3
    metres = body_metres(T)
    # Stored in plain metres, not times the frame size: the shoulders come out 0.6 mm apart.
    write_pose(tmp_path / "plain.pose", {"POSE_WORLD_LANDMARKS": metres}, {})
    assert_refused(tmp_path / "plain.pose", LayoutError, "shoulders", "m apart")
    write_pose(tmp_path / "moved.pose", {"POSE_WORLD_LANDMARKS": metres * (640, 480, 1) + 100.0}, {})
    assert_refused(tmp_path / "moved.pose", LayoutError, "hip midpoint", "neither")


def test_non_finite_coordinates_in_found_frames_are_refused(tmp_path):
    path, metres, _, _ = pixel_file(tmp_path / "nan.pose")
    pose = Pose.read(path.read_bytes())
    data = np.asarray(pose.body.data.data).copy()
    data[3, 0, 0, 0] = np.nan
    with open(path, "wb") as fh:
        Pose(pose.header, NumPyPoseBody(fps=25.0, data=data, confidence=np.asarray(pose.body.confidence))).write(fh)
    assert_refused(path, CorruptFileError, "POSE_LANDMARKS", "non-finite")


# The shared sign files.

def shoulder_width(body):
    return np.linalg.norm(body[:, 11] - body[:, 12], axis=-1)


@pytest.mark.data
def test_letter_a(data_dir):
    path = data_dir / LETTER_A
    notes = []
    lm = read_pose_landmarks(path, warnings=notes)
    assert lm.num_frames == 21 == len(Pose.read(path.read_bytes()).body.data)  # every frame, the first too
    assert lm.fps == 25.0 and lm.image_size == (500, 500) and lm.source == str(path)
    assert lm.body_found.all() and lm.right_found.all() and not lm.left_found.any()
    assert np.isnan(lm.left_hand).all() and np.isfinite(lm.right_hand).all()
    assert any("shoulder-normalised" in note for note in notes)
    shoulders = shoulder_width(lm.body)
    assert ((shoulders > 0.27) & (shoulders < 0.45)).all(), shoulders
    upper_arm = np.linalg.norm(lm.body[:, 12] - lm.body[:, 14], axis=-1)  # the signing (right) arm
    assert ((upper_arm > 0.2) & (upper_arm < 0.35)).all(), upper_arm
    hips = 0.5 * (lm.body[:, 23] + lm.body[:, 24])
    np.testing.assert_allclose(hips, 0.0, atol=1e-9)
    # The hand's depth (relative to the wrist) is a fraction of its size, not 250 px or 0.
    rel = lm.right_hand - lm.right_hand[:, :1]
    depth, span = np.ptp(rel[..., 2], axis=1), np.ptp(rel[..., 0], axis=1)
    assert (depth > 0.05 * span).all() and (depth < 2.0 * span).all()


@pytest.mark.data
def test_the_first_frame_is_the_shared_reference_and_is_kept(data_dir):
    a, b = (read_pose_landmarks(data_dir / name, warnings=[]) for name in (LETTER_A, LETTER_B))
    np.testing.assert_allclose(a.body[0], b.body[0], atol=1e-6)  # pose-anonymization's reference body
    assert not np.allclose(a.right_hand[0], b.right_hand[0])  # the signers' own hands
    assert not np.allclose(a.body[1], b.body[1])


@pytest.mark.data
def test_one_letter_of_each_lexicon(data_dir):
    rows = list(csv.DictReader(open(data_dir / LEXICONS / "index.csv", encoding="utf-8")))
    first = {}
    for row in rows:
        first.setdefault(row["signed_language"], row["path"])
    assert len(first) == 9
    two_handed = 0
    for language, name in sorted(first.items()):
        lm = read_pose_landmarks(data_dir / LEXICONS / name, warnings=[])
        assert lm.image_size == (500, 500) and 25.0 <= lm.fps <= 30.0, (language, lm.fps)
        assert lm.body_found.all(), language
        assert 0.25 < np.median(shoulder_width(lm.body)) < 0.45, language
        two_handed += bool(lm.left_found.any() and lm.right_found.any())
    assert two_handed >= 1  # cse and tsm sign with both hands


@pytest.mark.data
def test_shared_bad_files_are_refused(data_dir, tmp_path):
    message = assert_refused(data_dir / OTHER_LAYOUT, LayoutError, "POSE_LANDMARKS has 8 points, MediaPipe Holistic has 33",
                             "no POSE_WORLD_LANDMARKS component")
    assert "reduced_holistic.pose" in message
    whole = (data_dir / LETTER_A).read_bytes()
    (tmp_path / "A.pose").write_bytes(whole[:len(whole) // 2])
    assert_refused(tmp_path / "A.pose", CorruptFileError, "cut short")
    garbled = bytearray(whole)
    garbled[12:60] = b"\xff" * 48
    (tmp_path / "garbled.pose").write_bytes(bytes(garbled))
    assert_refused(tmp_path / "garbled.pose", InputFileError)
