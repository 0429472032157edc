"""The fixed filters of the speech features, made once with librosa and stored in bundles.

`AudioFilters.default()` builds them with librosa (training time, headless); inside Blender they
come back from a generator bundle through `from_tensors`, so inference needs only numpy.
Settings (why): 16 kHz input; `n_fft` 1024 (64 ms, about two motion frames, 15.6 Hz bins, so
the lowest Slaney mel filters are not empty); 64 mel bands, Slaney scale and area norm
(librosa's default) from 0 Hz to Nyquist (8 kHz); a periodic Hann window; log-power floor
`amin` 1e-10 (-100 dB); onsets as librosa computes them (lag 1 frame, log-mel clipped
`top_db` 80 dB below the input's loudest bin, mean over bands).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import LayoutError, MotionTokensError
from .reading import SAMPLE_RATE

#: Tensor names (in a bundle's weights file) start with this, beside the model's own tensors.
PREFIX = "audio."
_INTS = ("sample_rate", "n_fft", "n_mels", "onset_lag")
_FLOATS = ("fmin", "fmax", "amin", "top_db")


@dataclass(frozen=True)
class AudioFilters:
    """`mel_basis` (n_mels, n_fft // 2 + 1) float32 maps a power spectrum to mel bands;
    `window` (n_fft,) float32 is applied to each frame before its FFT."""

    sample_rate: int
    n_fft: int
    n_mels: int
    fmin: float
    fmax: float
    amin: float
    top_db: float
    onset_lag: int
    mel_basis: np.ndarray
    window: np.ndarray

    @property
    def num_channels(self) -> int:
        """Feature columns: n_mels log-mel bands, then onset strength, then log RMS energy."""
        return self.n_mels + 2

    @classmethod
    def default(cls, n_mels: int = 64, n_fft: int = 1024, fmin: float = 0.0, fmax: float | None = None) -> "AudioFilters":
        """The filters made with librosa (needs librosa: training time, headless)."""
        try:
            import librosa
        except ImportError:
            raise MotionTokensError(
                "making audio filters needs librosa; inside Blender they come from the generator bundle") from None
        fmax = SAMPLE_RATE / 2 if fmax is None else float(fmax)
        basis = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
        window = librosa.filters.get_window("hann", n_fft, fftbins=True)
        filters = cls(SAMPLE_RATE, n_fft, n_mels, float(fmin), fmax, 1e-10, 80.0, 1,
                      basis.astype(np.float32), window.astype(np.float32))
        filters.check("librosa")
        return filters

    def to_tensors(self) -> dict[str, np.ndarray]:
        """Flat arrays for a safetensors file: the two float32 filters and each setting as a
        one-element array (int64 for the whole numbers, float64 for the rest), names PREFIX + field."""
        out = {PREFIX + "mel_basis": self.mel_basis, PREFIX + "window": self.window}
        out.update({PREFIX + k: np.array([getattr(self, k)], dtype=np.int64) for k in _INTS})
        out.update({PREFIX + k: np.array([getattr(self, k)], dtype=np.float64) for k in _FLOATS})
        return out

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray], path: str = "audio filters") -> "AudioFilters":
        """The filters stored by `to_tensors` (other keys in `tensors` are ignored); checked,
        with a LayoutError naming `path` (the bundle's weights file) when anything is off."""
        missing = [PREFIX + k for k in (*_INTS, *_FLOATS, "mel_basis", "window") if PREFIX + k not in tensors]
        if missing:
            raise LayoutError(path, f"the audio filters lack {', '.join(missing)}")
        settings = {k: _scalar(tensors[PREFIX + k], PREFIX + k, path, whole=k in _INTS) for k in (*_INTS, *_FLOATS)}
        arrays = {k: np.asarray(tensors[PREFIX + k]) for k in ("mel_basis", "window")}
        for name, array in arrays.items():
            if array.dtype != np.float32:
                raise LayoutError(path, f"{PREFIX}{name} must be float32, got {array.dtype}")
        filters = cls(**settings, **arrays)
        filters.check(path)
        return filters

    def check(self, path: str) -> None:
        """LayoutError naming `path` unless the settings and arrays agree and are usable."""
        problems = []
        if self.sample_rate != SAMPLE_RATE:
            problems.append(f"sample_rate is {self.sample_rate}, features are made at {SAMPLE_RATE} Hz")
        if not 64 <= self.n_fft <= 16384:
            problems.append(f"n_fft is {self.n_fft}, must be 64-16384")
        if not 1 <= self.n_mels <= 512 or self.onset_lag < 1:
            problems.append(f"n_mels {self.n_mels} must be 1-512 and onset_lag {self.onset_lag} at least 1")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            problems.append(f"fmin {self.fmin} and fmax {self.fmax} must satisfy 0 <= fmin < fmax <= Nyquist")
        if not (0 < self.amin < 1 and 0 < self.top_db <= 200):
            problems.append(f"amin {self.amin} must be in (0, 1) and top_db {self.top_db} in (0, 200]")
        if self.mel_basis.shape != (self.n_mels, self.n_fft // 2 + 1) or self.window.shape != (self.n_fft,):
            problems.append(f"mel_basis {self.mel_basis.shape} and window {self.window.shape} must be "
                            f"{(self.n_mels, self.n_fft // 2 + 1)} and {(self.n_fft,)}")
        elif not (np.isfinite(self.mel_basis).all() and np.isfinite(self.window).all()):
            problems.append("mel_basis or window holds NaN or infinite values")
        elif (self.mel_basis < 0).any() or not self.mel_basis.any(axis=1).all():
            problems.append("mel_basis has negative weights or an empty band")
        if problems:
            raise LayoutError(path, "bad audio filters: " + "; ".join(problems))


def _scalar(array, name: str, path: str, whole: bool):
    """The one number in a one-element array, as int (whole) or float."""
    array = np.asarray(array)
    if array.size != 1 or array.dtype.kind not in ("iu" if whole else "fiu"):
        raise LayoutError(path, f"{name} must be one {'whole ' if whole else ''}number, got {array.dtype} {array.shape}")
    value = array.reshape(()).item()
    if not whole and not math.isfinite(value):
        raise LayoutError(path, f"{name} must be finite, got {value}")
    return int(value) if whole else float(value)
