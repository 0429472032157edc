"""Seconds to compute the speech features of a long recording: our numpy `speech_features`
against librosa doing the same work, in one run.

    .venv/bin/python bench/audio_features.py [--seconds 600] [--repeats 3]

The input is the BEAT2 take (MOTION_TOKENS_DATA, default ../shared/data) repeated to
--seconds at 16 kHz (else 16 kHz noise with a syllable envelope). Ours: log-mel, onset and
energy at 30 fps (windows centred at round(t * 16000 / 30)). librosa: melspectrogram once,
onset_strength on its log-mel and rms, at the nearest whole hop (533), with the same n_fft,
bands and window. Best of --repeats after one warm-up call each; also the time to read the
take with soundfile. Prints the figures and the librosa / ours time ratio.
"""

from __future__ import annotations

import argparse
import time

import librosa
import numpy as np

from motion_tokens.core.audio import AudioFilters, read_speech, speech_features
from motion_tokens.core.machine import machine_line
from motion_tokens.core.paths import data_dir

SR = 16000
TAKE = "beat2/2_scott_0_1_1.wav"


def long_input(seconds: float) -> np.ndarray:
    path = data_dir() / TAKE
    if path.is_file():
        take = read_speech(path).samples
    else:
        t = np.arange(60 * SR) / SR
        take = (0.1 * np.random.default_rng(0).standard_normal(len(t)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)))
    reps = int(np.ceil(seconds * SR / len(take)))
    return np.tile(take.astype(np.float32), reps)[: int(seconds * SR)]


def with_librosa(samples: np.ndarray, filters: AudioFilters) -> np.ndarray:
    settings = dict(sr=SR, n_fft=filters.n_fft, hop_length=533, n_mels=filters.n_mels, fmin=filters.fmin,
                    fmax=filters.fmax, window="hann")
    mel = librosa.feature.melspectrogram(y=samples, **settings)
    onset = librosa.onset.onset_strength(S=librosa.power_to_db(mel), center=False)
    rms = librosa.feature.rms(y=samples, frame_length=filters.n_fft, hop_length=533)[0]
    return np.concatenate([librosa.power_to_db(mel, top_db=None), onset[None], 20 * np.log10(rms[None] + 1e-5)]).T


def best_of(repeats: int, job) -> tuple[float, object]:
    job()  # warm-up: imports, FFT plans, librosa's caches
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = job()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    filters = AudioFilters.default()
    samples = long_input(args.seconds)
    path = data_dir() / TAKE
    if path.is_file():
        read_s, speech = best_of(args.repeats, lambda: read_speech(path))
        print(f"read_speech {TAKE} ({speech.seconds:.1f} s): {read_s * 1000:.1f} ms")
    ours_s, ours = best_of(args.repeats, lambda: speech_features(samples, SR, 30.0, filters))
    theirs_s, theirs = best_of(args.repeats, lambda: with_librosa(samples, filters))
    print(machine_line())
    print(f"input: {args.seconds:g} s at {SR} Hz; features {ours.shape} (ours, 30 fps), {theirs.shape} (librosa, hop 533)")
    print(f"ours    {ours_s:.3f} s  ({args.seconds / ours_s:,.0f}x real time)")
    print(f"librosa {theirs_s:.3f} s  ({args.seconds / theirs_s:,.0f}x real time)")
    print(f"librosa / ours time ratio: {theirs_s / ours_s:.2f}")


if __name__ == "__main__":
    main()
