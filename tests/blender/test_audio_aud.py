"""Reading speech with Blender's own `aud` (the decoder inside the extension, where soundfile
is absent) gives the samples and features soundfile gives headless.

Measured on bpy 4.5: the 32-bit float take decodes to identical samples; 16-bit PCM differs
by aud's scale (int / 32767 against soundfile's int / 32768), at most 2.8e-5, which moves the
log-mel by 0.0003 dB (0.0015 in the quietest float32 bands; asserted within 0.005, the
tolerance the numpy features are held to against librosa). 44.1 kHz stereo resampled by aud (quality 2) matches scipy's
polyphase resampling to the bands' 99th percentile of 0.04 dB.
"""

import sys

import numpy as np
import pytest
import soundfile
from motion_tokens.core.audio import AudioFilters, Speech, read_speech, speech_features
from motion_tokens.core.errors import CorruptFileError
from scipy.signal import resample_poly

pytest.importorskip("bpy")
aud = pytest.importorskip("aud", reason="this bpy build has no aud module (the bpy 4.2 wheel lacks it)")

SR = 16000


@pytest.fixture(scope="module")
def filters():
    return AudioFilters.default()


@pytest.mark.parametrize("take, atol", [("2_scott_0_1_1", 0.0), ("2_scott_0_2_2", 1 / 32767)])
def test_aud_reads_what_soundfile_reads(data_dir, filters, take, atol):
    path = data_dir / "beat2" / f"{take}.wav"
    ours, theirs = read_speech(path, backend="aud"), read_speech(path, backend="soundfile")
    assert ours.sample_rate == SR and ours.samples.dtype == np.float32 and ours.samples.shape == theirs.samples.shape
    np.testing.assert_allclose(ours.samples, theirs.samples, atol=atol, rtol=0)
    np.testing.assert_allclose(speech_features(ours.samples, SR, 30.0, filters),
                               speech_features(theirs.samples, SR, 30.0, filters), atol=0.005, rtol=0)


def test_aud_is_the_fallback_without_soundfile(data_dir, monkeypatch):
    path = data_dir / "beat2" / "2_scott_0_1_1.wav"
    expected = soundfile.read(path, dtype="float32")[0]
    monkeypatch.setitem(sys.modules, "soundfile", None)
    np.testing.assert_array_equal(read_speech(path).samples, expected)


def _stereo_44k(data_dir, tmp_path):
    speech = read_speech(data_dir / "beat2" / "2_scott_0_1_1.wav")
    up = resample_poly(speech.samples.astype(np.float64), 441, 160)
    path = tmp_path / "stereo44k.wav"
    soundfile.write(path, np.stack([0.8 * up, 1.2 * up], axis=1), 44100, subtype="FLOAT")
    return speech, path, up


def test_aud_resamples_like_scipy(data_dir, filters, tmp_path, monkeypatch):
    speech, path, up = _stereo_44k(data_dir, tmp_path)
    by_scipy = read_speech(path, backend="soundfile")
    by_aud = read_speech(path, backend="aud")
    assert len(by_aud.samples) == len(by_scipy.samples)
    ours = speech_features(by_aud.samples, SR, 30.0, filters)
    reference = speech_features(speech.samples, SR, 30.0, filters)
    diff = np.abs(ours[:, :58] - reference[:, :58])  # bands below 7 kHz
    assert np.median(diff) < 0.02 and np.percentile(diff, 99) < 0.1
    # Samples a caller decoded are resampled by aud where scipy is absent (inside Blender).
    monkeypatch.setitem(sys.modules, "scipy.signal", None)
    buffered = Speech.from_samples(np.stack([0.8 * up, 1.2 * up], axis=1), 44100, "strip")
    np.testing.assert_allclose(buffered.samples, by_aud.samples, atol=1e-6)


def test_aud_refuses_what_is_not_audio(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptFileError, match=f"{path}: not a readable audio file"):
        read_speech(path, backend="aud")
