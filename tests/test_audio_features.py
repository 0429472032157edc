"""The numpy speech features against librosa (the reference), synthetic signals with known
answers, the frame count, and the filters' tensor round trip.

Tolerances (measured on the BEAT2 take, stated here and asserted below): log-mel and energy
within 0.005 dB of librosa's, onset strength within 1e-4 (its unit is dB per band); the
largest differences are float32 rounding in the quietest bands near the -100 dB floor.
"""

import librosa
import numpy as np
import pytest
import safetensors.numpy
import soundfile
from motion_tokens.core.audio import (
    AudioFilters,
    frame_centres,
    num_feature_frames,
    read_speech,
    speech_features,
)
from motion_tokens.core.errors import LayoutError, MotionTokensError, OptionError
from scipy.signal import resample_poly

SR = 16000
DB_TOL = 0.005
ONSET_TOL = 1e-4


@pytest.fixture(scope="module")
def filters():
    return AudioFilters.default()


@pytest.fixture(scope="module")
def speech(data_dir):
    return read_speech(data_dir / "beat2" / "2_scott_0_1_1.wav")


def _librosa_settings(filters, hop):
    return dict(sr=SR, n_fft=filters.n_fft, hop_length=hop, n_mels=filters.n_mels, fmin=filters.fmin,
                fmax=filters.fmax, window="hann")


def test_matches_librosa_where_the_hop_is_whole(speech, filters):
    """At 25 fps the hop is 640 samples: our frames are librosa's frames, end to end."""
    ours = speech_features(speech.samples, SR, 25.0, filters)
    settings = _librosa_settings(filters, 640)
    mel = librosa.feature.melspectrogram(y=speech.samples, **settings)
    onset = librosa.onset.onset_strength(y=speech.samples, **settings)
    rms = librosa.feature.rms(y=speech.samples, frame_length=filters.n_fft, hop_length=640)[0]
    t = len(ours)
    assert t == num_feature_frames(len(speech.samples), SR, 25.0) and mel.shape[1] in (t, t + 1)
    np.testing.assert_allclose(ours[:, :64], librosa.power_to_db(mel, top_db=None).T[:t], atol=DB_TOL, rtol=0)
    # librosa clips onsets against the loudest of its frames; that frame is one of ours here.
    assert np.argmax(mel.max(axis=0)) < t
    np.testing.assert_allclose(ours[:, 64], onset[:t], atol=ONSET_TOL, rtol=0)
    np.testing.assert_allclose(ours[:, 65], 20 * np.log10(np.maximum(rms[:t], 1e-5)), atol=DB_TOL, rtol=0)
    assert ours[:, 64].max() > 5  # speech has onsets: not a trivially zero column


def _librosa_at_centres(samples, filters, centres):
    """librosa's mel power and rms of n_fft windows centred at `centres` (the signal padded by
    n_fft / 2 as center=True does), from un-centred librosa runs at a whole hop per phase."""
    half = filters.n_fft // 2
    padded = np.pad(samples, (half, half))
    mel = np.empty((filters.n_mels, len(centres)))
    rms = np.empty(len(centres))
    step = centres[3] - centres[0]  # 1600: every third frame repeats the phase at 30 fps
    for phase in range(3):
        settings = _librosa_settings(filters, step) | {"center": False}
        tail = padded[centres[phase]:]
        m = librosa.feature.melspectrogram(y=tail, **settings)
        r = librosa.feature.rms(y=tail, frame_length=filters.n_fft, hop_length=step, center=False)[0]
        count = len(centres[phase::3])
        mel[:, phase::3], rms[phase::3] = m[:, :count], r[:count]
    return mel, rms


def test_matches_librosa_at_30_fps(speech, filters):
    """At 30 fps (hop 533.3) every frame equals librosa's window centred at round(t * sr / fps)."""
    ours = speech_features(speech.samples, SR, 30.0, filters)
    centres = frame_centres(len(ours), SR, 30.0)
    np.testing.assert_array_equal(centres[:4], [0, 533, 1067, 1600])
    mel, rms = _librosa_at_centres(speech.samples, filters, centres)
    log_mel = librosa.power_to_db(mel, top_db=None)
    np.testing.assert_allclose(ours[:, :64], log_mel.T, atol=DB_TOL, rtol=0)
    onset = librosa.onset.onset_strength(S=librosa.power_to_db(mel), center=False)
    np.testing.assert_allclose(ours[:, 64], onset, atol=ONSET_TOL, rtol=0)
    np.testing.assert_allclose(ours[:, 65], 20 * np.log10(np.maximum(rms, 1e-5)), atol=DB_TOL, rtol=0)


@pytest.mark.parametrize("band", [5, 20, 40, 60])
def test_a_tone_peaks_in_its_mel_band(filters, band):
    """A tone at the centre frequency of mel band k (librosa.mel_to_hz of the k-th of the evenly
    spaced mel points) peaks in band k; its energy is that of a sine, 20 log10(a / sqrt 2)."""
    mel_points = np.linspace(librosa.hz_to_mel(filters.fmin), librosa.hz_to_mel(filters.fmax), filters.n_mels + 2)
    hz = float(librosa.mel_to_hz(mel_points[band + 1]))
    assert int(np.argmin(np.abs(mel_points[1:-1] - librosa.hz_to_mel(hz)))) == band
    amplitude = 0.5
    t = np.arange(2 * SR) / SR
    feats = speech_features((amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32), SR, 30.0, filters)
    inner = feats[2:-2]  # frames whose window lies wholly inside the tone
    assert (np.argmax(inner[:, :64], axis=1) == band).all()
    # A 64 ms window holds a non-whole number of periods: its mean square is off by at most
    # sr / (4 pi f n_fft) relative (0.6 % at 200 Hz, 0.03 dB), hence 0.1 dB.
    np.testing.assert_allclose(inner[:, 65], 20 * np.log10(amplitude / np.sqrt(2)), atol=0.1)
    # A steady tone has no onsets past its start (only the window-phase ripple, < 0.1 dB).
    assert inner[1:, 64].max() < 0.1


def test_a_click_train_has_onsets_at_the_clicks(filters):
    """Clicks every 0.4 s over faint noise: each click's onset peak is within one frame of
    the frame nearest it, and towers over the onset strength between clicks."""
    rng = np.random.default_rng(0)
    samples = (1e-4 * rng.standard_normal(4 * SR)).astype(np.float32)
    clicks = np.arange(int(0.3 * SR), len(samples) - SR // 10, int(0.4 * SR))
    samples[clicks] = 0.9
    onset = speech_features(samples, SR, 30.0, filters)[:, 64]
    click_frames = np.round(clicks / SR * 30).astype(int)
    for frame in click_frames:
        near = onset[frame - 5 : frame + 6]
        assert abs(int(np.argmax(near)) - 5) <= 1
    quiet = np.ones(len(onset), bool)
    for frame in click_frames:
        quiet[frame - 3 : frame + 4] = False
    assert onset[click_frames].min() > 10 * np.percentile(onset[quiet], 99)


def test_frame_count(filters):
    """63.5 s at 30 fps is 1905 frames (hand-worked: 63.5 * 30), whatever the hop's fraction."""
    assert num_feature_frames(int(63.5 * SR), SR, 30.0) == 1905
    assert num_feature_frames(SR // 2, SR, 30.0) == 15 and num_feature_frames(8160, SR, 30.0) == 15  # 15.3
    noise = np.random.default_rng(1).standard_normal(int(63.5 * SR)).astype(np.float32) * 0.1
    feats = speech_features(noise, SR, 30.0, filters)
    assert feats.shape == (1905, 66) and feats.dtype == np.float32 and np.isfinite(feats).all()


def test_filters_round_trip_through_a_tensor_file(filters, tmp_path):
    samples = np.random.default_rng(2).standard_normal(SR).astype(np.float32) * 0.1
    path = tmp_path / "weights.safetensors"
    safetensors.numpy.save_file(filters.to_tensors() | {"model.w": np.zeros(3, np.float32)}, str(path))
    back = AudioFilters.from_tensors(safetensors.numpy.load_file(str(path)), str(path))
    np.testing.assert_array_equal(back.mel_basis, filters.mel_basis)
    np.testing.assert_array_equal(back.window, filters.window)
    assert (back.n_fft, back.n_mels, back.fmin, back.fmax, back.top_db) == (1024, 64, 0.0, 8000.0, 80.0)
    np.testing.assert_array_equal(speech_features(samples, SR, 30.0, back), speech_features(samples, SR, 30.0, filters))
    # The stored basis is librosa's own, not a copy of our making.
    np.testing.assert_allclose(back.mel_basis, librosa.filters.mel(sr=SR, n_fft=1024, n_mels=64), rtol=1e-6)


@pytest.mark.parametrize("damage, problem", [
    (lambda d: d.pop("audio.window"), "lack audio.window"),
    (lambda d: d.update({"audio.mel_basis": d["audio.mel_basis"][:, :100]}), "mel_basis (64, 100)"),
    (lambda d: d.update({"audio.window": d["audio.window"].astype(np.float64)}), "must be float32"),
    (lambda d: d["audio.mel_basis"].__setitem__((3, 7), np.nan), "NaN"),
    (lambda d: d.update({"audio.mel_basis": np.zeros((64, 513), np.float32)}), "empty band"),
    (lambda d: d.update({"audio.sample_rate": np.array([22050])}), "sample_rate is 22050"),
    (lambda d: d.update({"audio.n_fft": np.array([1024.0])}), "audio.n_fft must be one whole number"),
    (lambda d: d.update({"audio.fmax": np.array([9000.0])}), "fmax 9000.0"),
])
def test_damaged_filters_are_refused(filters, damage, problem):
    tensors = {k: v.copy() for k, v in filters.to_tensors().items()}
    damage(tensors)
    with pytest.raises(LayoutError, match="gen-x/weights.safetensors") as caught:
        AudioFilters.from_tensors(tensors, "gen-x/weights.safetensors")
    assert problem in str(caught.value)


def test_resampled_stereo_gives_the_same_features(speech, filters, tmp_path):
    """The take at 44.1 kHz in stereo (channels 0.8x and 1.2x, mean 1x) reads back to features
    close to the 16 kHz mono ones. Measured: bands below 7 kHz differ by 0.02 dB typically
    (the polyphase filter's pass-band ripple), the top three bands by up to 4 dB and the energy
    of frames with fricatives by up to 0.4 dB (the anti-aliasing filter cuts what lies near 8 kHz)."""
    up = resample_poly(speech.samples.astype(np.float64), 441, 160)
    path = tmp_path / "stereo44k.wav"
    soundfile.write(path, np.stack([0.8 * up, 1.2 * up], axis=1), 44100, subtype="FLOAT")
    again = read_speech(path)
    assert again.sample_rate == SR and abs(len(again.samples) - len(speech.samples)) <= 1
    ours = speech_features(speech.samples, SR, 30.0, filters)
    theirs = speech_features(again.samples, SR, 30.0, filters)
    assert theirs.shape == ours.shape
    loud = ours[:, :64] > ours[:, :64].max() - 60  # bands within 60 dB of the loudest
    below_7k = librosa.mel_frequencies(66, fmax=8000)[1:-1] < 7000
    diff = np.abs(theirs[:, :64] - ours[:, :64])
    assert np.median(diff[loud & below_7k]) < 0.05 and np.percentile(diff[loud & below_7k], 99) < 0.1
    assert diff[loud & below_7k].max() < 1.0
    energy = np.abs(theirs[:, 65] - ours[:, 65])
    assert np.median(energy) < 0.05 and energy.max() < 1.0
    assert np.corrcoef(theirs[:, 64], ours[:, 64])[0, 1] > 0.99


def test_bad_arguments(filters):
    good = np.zeros(SR, np.float32)
    with pytest.raises(MotionTokensError, match="made at 16000 Hz, got 44100"):
        speech_features(good, 44100, 30.0, filters)
    with pytest.raises(MotionTokensError, match="mono float samples"):
        speech_features(np.zeros((SR, 2), np.float32), SR, 30.0, filters)
    with pytest.raises(MotionTokensError, match="NaN"):
        speech_features(np.full(SR, np.nan, np.float32), SR, 30.0, filters)
    with pytest.raises(OptionError, match="fps"):
        speech_features(good, SR, 0.0, filters)
    with pytest.raises(MotionTokensError, match="too short for one frame"):
        speech_features(good[:100], SR, 30.0, filters)
