"""core.signs.features and core.signs.matching on the ASL letters (sign/fingerspelling, 25 fps):
a query joined from the letters' own fitted features (B, A, L, V, Y with rest frames between)
is recovered in order through DTW windows and temporal NMS, also re-timed (0.75x, 1.33x) and
mirrored (a left-handed signer); the lexicon .npz round-trips; bad lexicons are refused.

Boundary tolerance: BOUNDARY_TOLERANCE rows at 30 fps (0.1 s) for each detection's start and
end. NMS alone spans whole windows widened over the suppressed windows of its label (its edges
were measured 3-21 rows off); the subsequence-DTW refinement (core.signs.boundaries) puts them
on the sign's own rows: measured 0 rows off on every letter of the plain, re-timed and mirrored
queries.
"""

import time
from dataclasses import replace

import numpy as np
import pytest
from motion_tokens.core.capture.fit import fit_landmarks
from motion_tokens.core.errors import CorruptFileError, InputFileError, LayoutError, OptionError
from motion_tokens.core.formats.pose import read_pose_landmarks
from motion_tokens.core.signs.features import NUM_SIGN_FEATURES, SIGN_FPS, resampled_features, sign_features
from motion_tokens.core.signs.lexicon import LexiconEntry, lexicon_entries
from motion_tokens.core.signs.matching import build_lexicon, default_windowing, load_lexicon, save_lexicon, \
    window_confidences
from motion_tokens.core.signs.boundaries import refined_detections
from motion_tokens.core.signs.nms import nms_detections
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES

LETTERS = "fingerspelling"
WORD = "BALVY"
REST_ROWS = 8
BOUNDARY_TOLERANCE = 3


@pytest.fixture(scope="module")
def lexicon(data_dir):
    return build_lexicon(lexicon_entries(data_dir / "sign" / LETTERS))


def letter_fit(data_dir, letter):
    return fit_landmarks(read_pose_landmarks(data_dir / "sign" / LETTERS / f"{letter}.pose"))


def rest_rows(lexicon) -> np.ndarray:
    """Rows of a hand held open and low between signs: fingers at rest, the wrist below the
    letters' mean position."""
    rows = np.zeros((REST_ROWS, NUM_SIGN_FEATURES))
    rows[:, 45:] = np.concatenate(lexicon.features)[:, 45:].mean(axis=0) + np.array([0.0, -1.0, 0.0])
    return rows


def joined_query(lexicon, clips: dict[str, np.ndarray]):
    """(rows, [(label, start, end)]): the word's clips with rest rows before, between and after."""
    rest = rest_rows(lexicon)
    parts, truth, n = [], [], 0
    for letter in WORD:
        parts += [rest, clips[letter]]
        n += len(rest)
        truth.append((letter, n, n + len(clips[letter])))
        n += len(clips[letter])
    parts.append(rest)
    return np.concatenate(parts), truth


def detections_of(rows, lexicon):
    window, hop = default_windowing(lexicon)
    kept = nms_detections(window_confidences(rows, lexicon, window, hop), window, hop, 0.5, 0.5)
    return refined_detections(kept, rows, lexicon, window // 2)


def assert_recovered(detections, truth):
    assert [d.label for d in detections] == [t[0] for t in truth], detections
    for d, (_, start, end) in zip(detections, truth):
        assert abs(d.start - start) <= BOUNDARY_TOLERANCE and abs(d.end - end) <= BOUNDARY_TOLERANCE, (d, start, end)


def lexicon_clips(lexicon):
    return dict(zip(lexicon.labels, lexicon.features))


def test_features_are_rows_of_found_frames_at_30_fps(data_dir):
    fit = letter_fit(data_dir, "A")
    features = sign_features(fit)
    assert features.fps == SIGN_FPS and features.dominant == "right"
    assert features.values.shape == (features.num_found, NUM_SIGN_FEATURES)
    assert features.num_found == features.num_frames == 25  # 21 frames at 25 fps span 0.8 s: 25 at 30 fps
    assert np.isfinite(features.values).all()


def test_joined_letters_are_recovered_in_order(lexicon):
    rows, truth = joined_query(lexicon, lexicon_clips(lexicon))
    assert_recovered(detections_of(rows, lexicon), truth)


@pytest.mark.parametrize("speed", [0.75, 1.33])
def test_retimed_letters_are_recovered(lexicon, speed):
    clips = {k: resampled_features(v, speed) for k, v in lexicon_clips(lexicon).items()}
    rows, truth = joined_query(lexicon, clips)
    assert_recovered(detections_of(rows, lexicon), truth)


def mirrored_fit(fit):
    """The take's mirror image: left and right joints and hands swapped, each rotation reflected
    across the YZ plane ((w, x, y, z) -> (w, x, -y, -z))."""
    names = list(SMPLX_JOINT_NAMES)
    swap = [names.index(n.replace("left", "@").replace("right", "left").replace("@", "right")) for n in names]
    q = fit.motion.rotations[:, swap] * np.array([1.0, 1.0, -1.0, -1.0])
    components = dict(fit.components, left_hand=fit.components["right_hand"], right_hand=fit.components["left_hand"])
    return replace(fit, motion=replace(fit.motion, rotations=q), components=components)


def test_a_mirrored_signer_gives_the_right_handed_features(data_dir, lexicon):
    clips = {}
    for letter in WORD:
        fit = letter_fit(data_dir, letter)
        mirrored = sign_features(mirrored_fit(fit))
        assert mirrored.dominant == "left"
        # The SMPL-X rest skeleton is nearly, not exactly, left/right symmetric.
        np.testing.assert_allclose(mirrored.values, sign_features(fit).values, atol=0.05)
        clips[letter] = mirrored.values
    rows, truth = joined_query(lexicon, clips)
    assert_recovered(detections_of(rows, lexicon), truth)


def test_a_minute_of_query_takes_seconds(lexicon):
    rows, _ = joined_query(lexicon, lexicon_clips(lexicon))
    minute = np.concatenate([rows] * int(np.ceil(60 * SIGN_FPS / len(rows))))[: int(60 * SIGN_FPS)]
    started = time.perf_counter()
    window, hop = default_windowing(lexicon)
    confidences = window_confidences(minute, lexicon, window, hop)
    assert time.perf_counter() - started < 15.0  # about 1 s alone; CI shares the cores
    assert set(confidences) == set(WORD) | set(lexicon.labels)
    assert all(c.shape == confidences["A"].shape and np.all((c > 0) & (c <= 1)) for c in confidences.values())


def test_lexicon_npz_round_trips(lexicon, tmp_path):
    path = tmp_path / "letters.npz"
    save_lexicon(lexicon, path)
    loaded = load_lexicon(path)
    assert loaded.labels == lexicon.labels and loaded.scale == lexicon.scale
    for a, b in zip(loaded.features, lexicon.features):
        np.testing.assert_array_equal(a, b)


def test_other_lexicon_files_are_refused(tmp_path, lexicon):
    other = tmp_path / "other.npz"
    np.savez(other, poses=np.zeros((3, 165)))
    with pytest.raises(LayoutError, match="not a sign lexicon"):
        load_lexicon(other)
    path = tmp_path / "letters.npz"
    save_lexicon(lexicon, path)
    data = dict(np.load(path))
    data["version"] = np.int64(99)
    np.savez(other, **data)
    with pytest.raises(LayoutError, match="version 99"):
        load_lexicon(other)
    text = tmp_path / "text.npz"
    text.write_text("not a zip")
    with pytest.raises(CorruptFileError):
        load_lexicon(text)


def test_bad_lexicons_are_refused(data_dir, tmp_path):
    with pytest.raises(OptionError, match="empty"):
        build_lexicon([])
    other = data_dir / "sign" / "other-layout" / "reduced_holistic.pose"
    with pytest.raises(LayoutError, match="reduced_holistic.pose"):
        build_lexicon([LexiconEntry("X", other, "")])
    motion = tmp_path / "X.bvh"
    motion.write_text("HIERARCHY")
    with pytest.raises(InputFileError, match="X.bvh"):
        build_lexicon([LexiconEntry("X", motion, "")])
    text = tmp_path / "X.txt"
    text.write_text("A")
    with pytest.raises(LayoutError, match="X.txt: cannot take sign features from .txt"):
        build_lexicon([LexiconEntry("X", text, "")])
