"""Speech audio in: a file (or samples a caller decoded) becomes checked 16 kHz mono float32.

Decoding: `soundfile` (libsndfile) headless; inside Blender, where soundfile is not importable,
Blender's own `aud` module (imported inside the function, never bpy), which reads the same files
its sound strips play. Other rates are resampled to `SAMPLE_RATE` with scipy's polyphase
`resample_poly` where scipy is importable, else with aud's resampler at quality 2 of 0-3.
Several channels are mixed to mono by their mean (what librosa.to_mono does).

Refused, with an `AudioContentError` naming the file: shorter than `MIN_SECONDS`, silent
(whole-signal RMS below `SILENT_RMS`) or holding NaN/inf samples. Missing, empty and
undecodable files give `MissingFileError` / `CorruptFileError`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, InputFileError, MotionTokensError, require_file

#: The rate every feature is computed at (Hz): BEAT2's wave16k and the usual speech rate.
SAMPLE_RATE = 16000
#: Shortest speech accepted, in seconds: under half a second there are fewer than 15 motion
#: frames at 30 fps, too few for a gesture or for the generator's context.
MIN_SECONDS = 0.5
#: Whole-signal RMS below which a recording counts as silent: 1e-4 of full scale is -80 dBFS,
#: under any usable speech recording (typically -35..-15 dBFS) and above 16-bit dither
#: (about -95 dBFS).
SILENT_RMS = 1e-4
#: aud's resampler quality (0 fastest .. 3 best). Measured on the BEAT2 take at 44.1 kHz stereo
#: against the 16 kHz original: 2 gives the log-mel bands below 7 kHz within 0.036 dB at the
#: 99th percentile (3: the same) in 1.0 s for 64 s (3: 5.2 s; 1: 0.084 dB; 0: 8 dB).
_AUD_QUALITY = 2


class AudioContentError(InputFileError):
    """The audio decodes but cannot be used as speech: too short, silent, or non-finite."""


@dataclass(frozen=True)
class Speech:
    """Checked speech: `samples` float32 (N,) mono in [-1, 1]-ish, at `sample_rate` (16000) Hz;
    `name` is what messages and outputs call it (the file's stem), `path` the file ('' if none)."""

    samples: np.ndarray
    sample_rate: int
    name: str
    path: str = ""

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate

    @classmethod
    def from_samples(cls, samples, sample_rate: float, name: str, path: str = "") -> "Speech":
        """Speech from samples a caller decoded: (N,) or (N, channels) of any float or int
        dtype, at `sample_rate` Hz; mixed to mono, resampled to SAMPLE_RATE and checked
        (errors name `path` or else `name`)."""
        where = path or name
        array = np.asarray(samples)
        if array.ndim not in (1, 2) or array.dtype.kind not in "fiu":
            raise AudioContentError(where, f"audio samples must be a (N,) or (N, channels) array of numbers, "
                                    f"got shape {array.shape} of {array.dtype}")
        rate = float(sample_rate) if not isinstance(sample_rate, bool) else math.nan
        if not (math.isfinite(rate) and 1000 <= rate <= 768000):
            raise AudioContentError(where, f"sample rate must be 1000-768000 Hz, got {sample_rate!r}")
        mono = _to_mono(_as_float(array))
        _check_finite(mono, where)
        mono = resample(mono, rate, SAMPLE_RATE)
        _check_usable(mono, where)
        return cls(np.ascontiguousarray(mono, dtype=np.float32), SAMPLE_RATE, name, os.fspath(path))


def read_speech(path: str | os.PathLike, backend: str | None = None) -> Speech:
    """The speech in the audio file at `path` (any format libsndfile or Blender reads:
    wav, flac, ogg, ...), as checked 16 kHz mono float32 samples.

    `backend`: "soundfile", "aud" (Blender's), or None for soundfile where it is importable
    and aud otherwise."""
    path = require_file(path)
    if backend is None:
        backend = "soundfile" if _importable("soundfile") else "aud"
    if backend == "soundfile":
        samples, rate = _decode_soundfile(path)
    elif backend == "aud":
        samples, rate = _decode_aud(path)
    else:
        raise MotionTokensError(f"unknown audio backend {backend!r}: use 'soundfile' or 'aud'")
    if samples.size == 0:
        raise CorruptFileError(path, "the file holds no audio samples")
    return Speech.from_samples(samples, rate, Path(path).stem, path)


def read_mono_audio(path: str | os.PathLike, backend: str | None = None) -> tuple[np.ndarray, float]:
    """(samples (N,) float32 mono, rate Hz) of an audio file as it is (no length, level or rate
    checks: a recorded word, not speech to analyse); aud gives SAMPLE_RATE. Missing, empty and
    undecodable files give MissingFileError / CorruptFileError naming the file."""
    path = require_file(path)
    if backend is None:
        backend = "soundfile" if _importable("soundfile") else "aud"
    samples, rate = _decode_soundfile(path) if backend == "soundfile" else _decode_aud(path)
    if samples.size == 0:
        raise CorruptFileError(path, "the file holds no audio samples")
    mono = _to_mono(_as_float(np.asarray(samples)))
    _check_finite(mono, path)
    return mono, rate


def _decode_soundfile(path: str) -> tuple[np.ndarray, float]:
    """(samples (N, channels) float32, rate) through libsndfile."""
    import soundfile

    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError, TypeError) as error:
        raise CorruptFileError(path, f"not a readable audio file ({error})") from None
    return samples, float(rate)


def _decode_aud(path: str) -> tuple[np.ndarray, float]:
    """(samples (N, channels) float32, rate) through Blender's aud, already at SAMPLE_RATE."""
    try:
        import aud
    except ImportError:
        raise MotionTokensError(
            f"{path}: no audio decoder: install the 'soundfile' package, or run inside Blender") from None
    try:
        sound = aud.Sound(path)
        rate, _channels = sound.specs
        if rate != SAMPLE_RATE:
            sound = sound.resample(SAMPLE_RATE, _AUD_QUALITY)
        samples = sound.data()
    except aud.error as error:
        raise CorruptFileError(path, f"not a readable audio file ({error})") from None
    return np.asarray(samples, dtype=np.float32), float(SAMPLE_RATE)


def resample(samples: np.ndarray, rate: float, target: int = SAMPLE_RATE) -> np.ndarray:
    """Mono `samples` (N,) float at `rate` Hz resampled to `target` Hz (polyphase, anti-aliased);
    the same array when the rates agree. Length: round(N * target / rate)."""
    if rate == target:
        return samples
    try:
        from scipy.signal import resample_poly
    except ImportError:
        return _resample_aud(samples, rate, target)
    up, down = _ratio(rate, target)
    out = resample_poly(samples.astype(np.float64), up, down)
    return out[: round(len(samples) * target / rate)].astype(np.float32)


def _ratio(rate: float, target: int) -> tuple[int, int]:
    """Integer up/down factors with up/down == target/rate (rates are whole Hz, or close)."""
    whole = round(rate)
    if abs(whole - rate) > 1e-6:
        from fractions import Fraction

        fraction = Fraction(target / rate).limit_denominator(1000)
        return fraction.numerator, fraction.denominator
    g = math.gcd(int(target), whole)
    return int(target) // g, whole // g


def _resample_aud(samples: np.ndarray, rate: float, target: int) -> np.ndarray:
    """Resampling where scipy is absent (inside Blender): aud's resampler."""
    try:
        import aud
    except ImportError:
        raise MotionTokensError(f"resampling {rate:g} Hz audio to {target} Hz needs scipy or Blender's aud") from None
    sound = aud.Sound.buffer(np.ascontiguousarray(samples, dtype=np.float32)[:, None], float(rate))
    return np.asarray(sound.resample(float(target), _AUD_QUALITY).data(), dtype=np.float32)[:, 0]


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def _as_float(array: np.ndarray) -> np.ndarray:
    """Integer PCM scaled to [-1, 1) as soundfile scales it (int16 / 32768; unsigned bytes
    centred on 128); floats as float32."""
    if array.dtype.kind == "i":
        return (array / (float(np.iinfo(array.dtype).max) + 1.0)).astype(np.float32)
    if array.dtype.kind == "u":
        half = (float(np.iinfo(array.dtype).max) + 1.0) / 2
        return ((array - half) / half).astype(np.float32)
    return array.astype(np.float32, copy=False)


def _to_mono(array: np.ndarray) -> np.ndarray:
    return array if array.ndim == 1 else array.mean(axis=1, dtype=np.float64).astype(np.float32)


def _check_finite(samples: np.ndarray, where: str) -> None:
    bad = np.flatnonzero(~np.isfinite(samples))
    if bad.size:
        raise AudioContentError(where, f"{bad.size} audio samples are NaN or infinite (the first at sample {bad[0]})")


def _check_usable(samples: np.ndarray, where: str) -> None:
    seconds = len(samples) / SAMPLE_RATE
    if seconds < MIN_SECONDS:
        raise AudioContentError(where, f"the audio is {seconds:.3f} s long; speech needs at least {MIN_SECONDS} s")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms < SILENT_RMS:
        level = "digital silence" if rms == 0 else f"RMS {20 * math.log10(rms):.1f} dBFS"
        raise AudioContentError(where, f"the audio is silent ({level}; speech needs at least "
                                f"{20 * math.log10(SILENT_RMS):.0f} dBFS)")
