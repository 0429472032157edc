"""Reading speech: the samples soundfile gives, mono mixing and resampling, and a clear error
naming the file for every unusable input."""

import sys

import numpy as np
import pytest
import soundfile
from motion_tokens.core.audio import MIN_SECONDS, SILENT_RMS, AudioContentError, Speech, read_speech
from motion_tokens.core.errors import CorruptFileError, MissingFileError, MotionTokensError

SR = 16000


def _voice(seconds: float, rate: int = SR) -> np.ndarray:
    """A speech-like test signal: a 150 Hz buzz with a 4 Hz syllable envelope, -20 dBFS-ish."""
    t = np.arange(int(seconds * rate)) / rate
    return (0.2 * np.sin(2 * np.pi * 150 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


@pytest.mark.parametrize("take", ["2_scott_0_1_1", "2_scott_0_2_2"])  # 32-bit float, 16-bit PCM
def test_reads_what_soundfile_reads(data_dir, take):
    path = data_dir / "beat2" / f"{take}.wav"
    speech = read_speech(path)
    expected, rate = soundfile.read(path, dtype="float32")
    assert rate == SR and speech.sample_rate == SR and speech.name == take and speech.path == str(path)
    assert speech.samples.dtype == np.float32 and speech.samples.shape == expected.shape
    np.testing.assert_array_equal(speech.samples, expected)


def test_stereo_is_mixed_and_other_rates_resampled(tmp_path):
    """22.05 kHz stereo of a 150 Hz buzz: mono is the channels' mean, resampled to 16 kHz, and
    keeps its frequency (zero crossings) and length."""
    voice = _voice(2.0, 22050)
    path = tmp_path / "stereo.flac"
    soundfile.write(path, np.stack([0.5 * voice, 1.5 * voice], axis=1), 22050)
    speech = read_speech(path)
    assert speech.sample_rate == SR and len(speech.samples) == 2 * SR
    np.testing.assert_allclose(speech.samples[1000:-1000], _voice(2.0)[1000:-1000], atol=2e-3)


def test_from_samples_scales_integers_and_checks():
    pcm = (_voice(1.0) * 32768).astype(np.int16)
    speech = Speech.from_samples(pcm, SR, "strip")
    np.testing.assert_allclose(speech.samples, pcm / 32768.0, atol=1e-7)
    unsigned = (pcm.astype(np.int32) // 256 + 128).astype(np.uint8)
    np.testing.assert_allclose(Speech.from_samples(unsigned, SR, "u8").samples, pcm / 32768.0, atol=1 / 128)
    with pytest.raises(AudioContentError, match="strip: audio samples must be"):
        Speech.from_samples(np.zeros((2, 2, 2)), SR, "strip")
    with pytest.raises(AudioContentError, match="sample rate must be"):
        Speech.from_samples(_voice(1.0), 0, "strip")
    with pytest.raises(AudioContentError, match=r"strip: 3 audio samples are NaN .*first at sample 10"):
        Speech.from_samples(np.where(np.isin(np.arange(SR), [10, 20, 30]), np.nan, _voice(1.0)), SR, "strip")


def _truncated_header(path):
    soundfile.write(path, _voice(1.0), SR)
    path.write_bytes(path.read_bytes()[:30])


def _random_bytes(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())


BAD = {
    "empty": (lambda p: p.write_bytes(b""), CorruptFileError, "the file is empty"),
    "truncated header": (_truncated_header, CorruptFileError, "not a readable audio file"),
    "random bytes": (_random_bytes, CorruptFileError, "not a readable audio file"),
    "0.1 s": (lambda p: soundfile.write(p, _voice(0.1), SR), AudioContentError, "0.100 s long; speech needs at least 0.5 s"),
    "zeros": (lambda p: soundfile.write(p, np.zeros(SR), SR), AudioContentError, "silent (digital silence"),
    "-90 dBFS": (lambda p: soundfile.write(p, _voice(1.0) * 10**-3.5, SR, subtype="FLOAT"), AudioContentError,
                 "silent (RMS -90"),
    "NaN": (lambda p: soundfile.write(p, np.where(np.arange(SR) == 5, np.nan, _voice(1.0)), SR, subtype="FLOAT"),
            AudioContentError, "1 audio samples are NaN or infinite (the first at sample 5)"),
    "no samples": (lambda p: soundfile.write(p, np.zeros(0), SR), CorruptFileError, "holds no audio samples"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_audio_files_name_the_file_and_problem(tmp_path, case):
    make, error, problem = BAD[case]
    path = tmp_path / "speech.wav"
    make(path)
    with pytest.raises(error) as caught:
        read_speech(path)
    assert str(caught.value).startswith(f"{path}: ") and problem in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="no such file"):
        read_speech(tmp_path / "nothing.wav")
    with pytest.raises(MissingFileError, match="is not a file"):
        read_speech(tmp_path)


def test_thresholds_are_the_documented_ones(tmp_path):
    """Just above MIN_SECONDS and SILENT_RMS is accepted; the limits are what the docs say."""
    assert (MIN_SECONDS, SILENT_RMS) == (0.5, 1e-4)
    path = tmp_path / "edge.wav"
    voice = _voice(0.51)
    soundfile.write(path, voice * (2 * SILENT_RMS / np.sqrt(np.mean(voice.astype(np.float64) ** 2))), SR, subtype="FLOAT")
    assert len(read_speech(path).samples) == int(0.51 * SR)


def test_without_soundfile_or_blender_says_so(tmp_path, monkeypatch):
    path = tmp_path / "speech.wav"
    soundfile.write(path, _voice(1.0), SR)
    monkeypatch.setitem(sys.modules, "soundfile", None)
    monkeypatch.setitem(sys.modules, "aud", None)
    with pytest.raises(MotionTokensError, match="no audio decoder: install the 'soundfile' package"):
        read_speech(path)
    with pytest.raises(MotionTokensError, match="unknown audio backend"):
        read_speech(path, backend="ffmpeg")
