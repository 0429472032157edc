"""core.signs.spoken against hand-worked placements: words start at their detections' samples,
overlaps sum, the mix is scaled down only where it would clip, other rates are resampled, and a
missing word is a warning, not an error; the WAV round-trips through soundfile."""

from dataclasses import dataclass

import numpy as np
import soundfile
from motion_tokens.core.signs.spoken import spoken_track, write_wav


@dataclass
class D:
    label: str
    start: float


def word(path, samples, rate):
    soundfile.write(path, samples, rate, subtype="FLOAT")
    return str(path)


def test_words_start_at_their_detections_and_overlaps_sum(tmp_path):
    ones = word(tmp_path / "one.wav", np.full(100, 0.25), 1000)
    ramp = word(tmp_path / "ramp.wav", np.linspace(0.0, 0.5, 50), 1000)
    audio = {"one": ones, "ramp": ramp}
    track = spoken_track([D("one", 0.2), D("ramp", 0.25)], audio.get, duration=1.0)
    assert track.rate == 1000 and len(track.samples) == 1001
    expected = np.zeros(1001)
    expected[200:300] += 0.25
    expected[250:300] += np.linspace(0.0, 0.5, 50)
    np.testing.assert_allclose(track.samples, expected, atol=1e-7)
    assert [label for label, _, _ in track.placed] == ["one", "ramp"] and track.warnings == []
    np.testing.assert_allclose([t[1:] for t in track.placed], [(0.2, 0.3), (0.25, 0.3)])


def test_the_mix_is_scaled_only_where_it_would_clip(tmp_path):
    loud = word(tmp_path / "loud.wav", np.full(10, 0.8), 1000)
    track = spoken_track([D("x", 0.0), D("x", 0.005)], {"x": loud}.get, duration=0.0)
    assert len(track.samples) == 16  # to the end of the last word (0.015 s), the query being shorter
    np.testing.assert_allclose(track.samples[:15], np.r_[np.full(5, 0.5), np.full(5, 1.0), np.full(5, 0.5)],
                               atol=1e-6)  # peak 1.6 scaled to 1.0, the levels kept relative


def test_other_rates_are_resampled_to_the_highest(tmp_path):
    t8, t16 = np.arange(800) / 8000, np.arange(1600) / 16000
    low = word(tmp_path / "low.wav", 0.5 * np.sin(2 * np.pi * 200 * t8), 8000)
    high = word(tmp_path / "high.wav", 0.5 * np.sin(2 * np.pi * 400 * t16), 16000)
    track = spoken_track([D("low", 0.0), D("high", 0.5)], {"low": low, "high": high}.get, duration=1.0)
    assert track.rate == 16000
    resampled = track.samples[:1600]
    np.testing.assert_allclose(resampled[100:1500], 0.5 * np.sin(2 * np.pi * 200 * t16[100:1500]), atol=0.01)
    np.testing.assert_allclose(track.placed[1][1:], (0.5, 0.6))


def test_missing_words_are_warned_and_silent(tmp_path):
    track = spoken_track([D("A", 0.1), D("B", 0.2)], {"A": str(tmp_path / "gone.wav")}.get, duration=0.5)
    assert not track.samples.any() and track.placed == []
    assert any("gone.wav" in w and "'A'" in w for w in track.warnings)
    assert any("no recorded word for 'B'" in w for w in track.warnings)


def test_the_wav_round_trips(tmp_path):
    ones = word(tmp_path / "w.wav", np.linspace(-0.5, 0.5, 101), 1000)
    track = spoken_track([D("w", 0.0)], {"w": ones}.get, duration=0.2)
    out = write_wav(tmp_path / "speech.wav", track)
    samples, rate = soundfile.read(out)
    assert rate == 1000 and soundfile.info(out).subtype == "PCM_16"
    np.testing.assert_allclose(samples, track.samples, atol=1.0 / 32767)
