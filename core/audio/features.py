"""Speech features in numpy: one feature frame per motion frame.

Frame scheme: frame t describes the audio around time t / fps; its window of `n_fft` samples
is centred on sample c_t = round(t * sr / fps) (half up) of the signal zero-padded by
n_fft // 2 on each side (librosa's `center=True, pad_mode="constant"`). At 16 kHz and 30 fps
the hop is 533.3 samples, not a whole number, so windows are placed at the rounded centres
rather than at a fixed hop; where sr / fps is whole (25 fps: 640) this is exactly librosa's
framing. Columns of the (T, C) float32 result, C = n_mels + 2:
- 0 .. n_mels-1: log-mel power, 10 log10(max(mel, amin)) dB (librosa's power_to_db with
  top_db=None) of mel_basis @ |rfft(window * frame)|^2 (librosa.feature.melspectrogram);
- n_mels: onset strength, librosa.onset.onset_strength's definition on these frames: the
  log-mel clipped to top_db below its loudest value over the whole input, its rise from
  frame t - lag to t, half-wave rectified, averaged over bands (0 for the first lag frames);
- n_mels + 1: energy, 10 log10(max(mean(frame^2), amin)) dB, i.e. librosa.feature.rms in dB.
"""

from __future__ import annotations

import numpy as np

from ..errors import MotionTokensError
from ..limits import check_fps
from .filters import AudioFilters

#: Frames per FFT block: bounds memory (about 8 MB a block at n_fft 1024) on long inputs.
_BLOCK = 2048


def num_feature_frames(num_samples: int, sample_rate: float, fps: float) -> int:
    """Feature (and motion) frames for `num_samples` audio samples: round(N / sr * fps)."""
    return int(round(num_samples / sample_rate * fps))


def frame_centres(num_frames: int, sample_rate: float, fps: float) -> np.ndarray:
    """(T,) int64 sample index each frame's window is centred on: round(t * sr / fps), half up."""
    return np.floor(np.arange(num_frames, dtype=np.float64) * sample_rate / fps + 0.5).astype(np.int64)


def speech_features(samples: np.ndarray, sample_rate: int, fps: float = 30.0,
                    filters: AudioFilters | None = None) -> np.ndarray:
    """(T, C) float32 features of mono `samples` (N,) at `sample_rate` (= filters.sample_rate)
    for T = num_feature_frames(N, sample_rate, fps) frames; columns as the module says.
    `filters` defaults to AudioFilters.default() (which needs librosa)."""
    filters = AudioFilters.default() if filters is None else filters
    check_fps("fps", fps)
    samples = np.asarray(samples)
    if samples.ndim != 1 or samples.dtype.kind != "f":
        raise MotionTokensError(f"speech features need mono float samples (N,), got {samples.dtype} {samples.shape}")
    if sample_rate != filters.sample_rate:
        raise MotionTokensError(f"speech features are made at {filters.sample_rate} Hz, got {sample_rate} Hz "
                                "samples: read them with read_speech or Speech.from_samples, which resample")
    if not np.isfinite(samples).all():
        raise MotionTokensError("speech samples hold NaN or infinite values")
    num_frames = num_feature_frames(len(samples), sample_rate, fps)
    if num_frames < 1:
        raise MotionTokensError(f"{len(samples)} samples are too short for one frame at {fps:g} fps")
    mel, energy = _mel_and_energy(samples.astype(np.float32, copy=False), frame_centres(num_frames, sample_rate, fps),
                                  filters)
    log_mel = 10.0 * np.log10(np.maximum(mel, filters.amin))
    out = np.empty((num_frames, filters.num_channels), dtype=np.float32)
    out[:, : filters.n_mels] = log_mel
    out[:, filters.n_mels] = onset_strength(log_mel, filters.top_db, filters.onset_lag)
    out[:, filters.n_mels + 1] = 10.0 * np.log10(np.maximum(energy, filters.amin))
    return out


def onset_strength(log_mel: np.ndarray, top_db: float, lag: int = 1) -> np.ndarray:
    """(T,) spectral flux of log-mel (T, n_mels) dB: clipped to top_db below its maximum, the
    rectified rise over `lag` frames, mean over bands; the first `lag` frames are 0."""
    clipped = np.maximum(log_mel, log_mel.max() - top_db)
    flux = np.zeros(len(log_mel), dtype=np.float64)
    if len(log_mel) > lag:
        flux[lag:] = np.maximum(clipped[lag:] - clipped[:-lag], 0.0).mean(axis=1, dtype=np.float64)
    return flux


def _mel_and_energy(samples: np.ndarray, centres: np.ndarray, filters: AudioFilters) -> tuple[np.ndarray, np.ndarray]:
    """Mel power (T, n_mels) float64 and mean-square frame energy (T,) float64 of the windows
    centred at `centres`, computed in blocks of _BLOCK frames (strided views, one rfft each)."""
    half = filters.n_fft // 2
    padded = np.pad(samples, (half, half))
    if len(padded) < filters.n_fft:
        padded = np.pad(padded, (0, filters.n_fft - len(padded)))
    views = np.lib.stride_tricks.sliding_window_view(padded, filters.n_fft)
    # Centres past the last full window (only when N < n_fft // 2) read zeros, like librosa.
    centres = np.minimum(centres, len(views) - 1)
    basis_t = filters.mel_basis.T.astype(np.float64)
    mel = np.empty((len(centres), filters.n_mels), dtype=np.float64)
    energy = np.empty(len(centres), dtype=np.float64)
    for start in range(0, len(centres), _BLOCK):
        frames = views[centres[start : start + _BLOCK]]
        energy[start : start + len(frames)] = np.mean(np.square(frames, dtype=np.float64), axis=1)
        spectrum = np.fft.rfft(frames * filters.window, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        mel[start : start + len(frames)] = power @ basis_t
    return mel, energy
