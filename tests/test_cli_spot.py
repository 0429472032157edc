"""`python -m motion_tokens spot`, run as users run it (a new process): a query .pose made by
joining the ASL letter files B, A, L, V, Y (pose-format: body data and confidence concatenated
along frames) against the letters' folder, as JSON and SRT, and against the lexicon saved as
.npz; exit status 2 with one line naming the file for an empty lexicon, a lexicon clip of another
layout, a query with no hand found, an unknown output suffix.

Time tolerance: each detection's start and end within 0.2 s of its letter's (the refined
boundaries, core.signs.boundaries: measured at most 0.11 s off here; the letters are fitted as one
take, so the fit's smoothing runs across their joins).
"""

import json
import shutil

import numpy as np
from motion_tokens.core.signs.lexicon import lexicon_entries
from motion_tokens.core.signs.matching import build_lexicon, save_lexicon
from pose_format import Pose
from cli_runs import assert_bad_input, run_command
from sign_queries import TONE_RATE, TONE_S, TONES_HZ, WORD, joined_pose, letters, lexicon_with_words

TOLERANCE_S = 0.2


def run_cli(*args):
    return run_command("spot", *args)


def handless_pose(data_dir, path):
    """The letter A with both hands' confidence zero (no hand found in any frame)."""
    pose = Pose.read((letters(data_dir) / "A.pose").read_bytes())
    start = 0
    for component in pose.header.components:
        count = len(component.points)
        if component.name in ("LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"):
            pose.body.confidence[:, :, start:start + count] = 0.0
            pose.body.data[:, :, start:start + count] = 0.0
        start += count
    with open(path, "wb") as f:
        pose.write(f)


def assert_found(detections, truth):
    assert [d["label"] for d in detections] == [t[0] for t in truth], detections
    assert [d["start"] for d in detections] == sorted(d["start"] for d in detections)
    for d, (_, start, end) in zip(detections, truth):
        assert abs(d["start"] - start) <= TOLERANCE_S and abs(d["end"] - end) <= TOLERANCE_S, (d, start, end)
        assert 0.5 <= d["confidence"] <= 1.0


def test_joined_letters_are_spotted_as_json_and_srt(data_dir, tmp_path):
    query = tmp_path / "balvy.pose"
    truth = joined_pose(data_dir, query)
    out = tmp_path / "found.json"
    result = run_cli(query, "--lexicon", letters(data_dir), "--out", out)
    assert result.returncode == 0, result.stderr
    assert_found(json.loads(out.read_text()), truth)
    srt = tmp_path / "found.srt"
    assert run_cli(query, "--lexicon", letters(data_dir), "--out", srt).returncode == 0
    cues = srt.read_text().strip().split("\n\n")
    assert [c.splitlines()[2] for c in cues] == list(WORD)
    assert cues[0].splitlines()[0] == "1" and " --> " in cues[0].splitlines()[1]


def test_a_saved_lexicon_spots_a_letter_as_itself(data_dir, tmp_path):
    lexicon = tmp_path / "letters.npz"
    save_lexicon(build_lexicon(lexicon_entries(letters(data_dir))), lexicon)
    out = tmp_path / "v.json"
    result = run_cli(letters(data_dir) / "V.pose", "--lexicon", lexicon, "--out", out)
    assert result.returncode == 0, result.stderr
    detections = json.loads(out.read_text())
    assert detections and max(detections, key=lambda d: d["confidence"])["label"] == "V"


def test_bad_inputs_give_one_line_and_exit_2(data_dir, tmp_path):
    out = tmp_path / "x.json"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_bad_input(run_cli(letters(data_dir) / "A.pose", "--lexicon", empty, "--out", out), "empty")
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(data_dir / "sign" / "other-layout" / "reduced_holistic.pose", other / "X.pose")
    assert_bad_input(run_cli(letters(data_dir) / "A.pose", "--lexicon", other, "--out", out), "X.pose",
                     "POSE_LANDMARKS")
    handless = tmp_path / "handless.pose"
    handless_pose(data_dir, handless)
    assert_bad_input(run_cli(handless, "--lexicon", letters(data_dir), "--out", out), "handless.pose", "no hand")
    assert_bad_input(run_cli(tmp_path / "missing.pose", "--lexicon", letters(data_dir), "--out", out), "missing.pose")
    assert_bad_input(run_cli(letters(data_dir) / "A.pose", "--lexicon", letters(data_dir), "--out",
                             tmp_path / "x.txt"), "x.txt")
    assert not out.exists()


def pitch_at(samples, rate, start_s):
    """The strongest frequency of the TONE_S seconds from start_s."""
    first = int(round(start_s * rate))
    segment = samples[first:first + int(TONE_S * rate)]
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment))))
    return np.fft.rfftfreq(len(segment), 1.0 / rate)[np.argmax(spectrum)]


def test_the_recorded_words_are_placed_at_the_detected_times(data_dir, tmp_path):
    import soundfile

    lexicon = lexicon_with_words(data_dir, tmp_path / "lexicon")
    query = tmp_path / "balvy.pose"
    truth = joined_pose(data_dir, query)
    out, speech = tmp_path / "found.json", tmp_path / "speech.wav"
    result = run_cli(query, "--lexicon", lexicon, "--out", out, "--audio-out", speech)
    assert result.returncode == 0, result.stderr
    detections = json.loads(out.read_text())
    assert_found(detections, truth)
    samples, rate = soundfile.read(speech)
    assert rate == TONE_RATE and samples.ndim == 1
    assert len(samples) / rate >= truth[-1][2] - 0.05  # the query's whole duration
    for d in detections:
        assert abs(pitch_at(samples, rate, d["start"]) - TONES_HZ[d["label"]]) < 5.0, d
    gaps = [(a["start"] + TONE_S, b["start"]) for a, b in zip(detections, detections[1:])
            if b["start"] - a["start"] > TONE_S + 0.01]
    assert gaps  # the letters last longer than their words
    for end, start in gaps:  # silent between one word's end and the next detection
        assert np.max(np.abs(samples[int(end * rate) + 2:int(start * rate) - 2])) == 0.0
    assert "5 recorded words" in result.stdout


def test_a_lexicon_built_once_gives_the_same_detections(data_dir, tmp_path):
    folder = lexicon_with_words(data_dir, tmp_path / "lexicon")
    lexicon = tmp_path / "letters.npz"
    built = run_command("spot-lexicon", folder, "--out", lexicon)
    assert built.returncode == 0, built.stderr
    count = len(list(folder.glob("*.pose")))
    assert f"{count} clips of {count} signs (5 with a recorded word)" in built.stdout
    with np.load(lexicon) as data:
        audio = dict(zip(data["labels"].tolist(), data["audio"].tolist()))
    assert audio["B"] == str(folder / "B.wav") and audio["C"] == ""
    query = tmp_path / "balvy.pose"
    joined_pose(data_dir, query)
    from_folder, from_file = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli(query, "--lexicon", folder, "--out", from_folder).returncode == 0
    assert run_cli(query, "--lexicon", lexicon, "--out", from_file).returncode == 0
    assert json.loads(from_folder.read_text()) == json.loads(from_file.read_text())
    assert_bad_input(run_command("spot-lexicon", folder, "--out", tmp_path / "x.json"), "x.json", ".npz")
    assert_bad_input(run_command("spot-lexicon", tmp_path / "none", "--out", lexicon), "none")
    assert_bad_input(run_cli(query, "--lexicon", folder, "--out", out := tmp_path / "c.json", "--audio-out",
                             tmp_path / "s.mp3"), "s.mp3", ".wav")
    assert_bad_input(run_cli(query, "--lexicon", folder, "--out", query), "balvy.pose")
    word = (folder / "B.wav").read_bytes()
    assert_bad_input(run_cli(query, "--lexicon", folder, "--out", out, "--audio-out", folder / "B.wav"),
                     "B.wav", "is the input")
    assert (folder / "B.wav").read_bytes() == word
    assert_bad_input(run_cli(query, "--lexicon", folder, "--out", out, "--threshold", "2"), "--threshold")
    assert not out.exists()
