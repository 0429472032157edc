"""Signs to speech without text (issue #17): the lexicon's recorded words placed at the detected
signs' times and mixed into one mono track.

This speaks recorded words (each label's `LABEL.wav` in the lexicon, core.signs.lexicon), not
synthesised speech: no text is made or read on the way, the label only finds its recording.

Each detection's word starts at the detection's start. Words that overlap (a word longer than
its sign, signs close together) are summed, and the whole mix is scaled down by one factor only
where it would clip (peak above 1), so every word keeps its own level relative to the others.
Rate: the highest rate among the words used (the others resampled, core.audio.reading.resample).
Length: `duration` seconds (the query's) or up to the end of the last word, whichever is later.
A detection whose label has no recorded word, or whose recording is missing or unreadable, is
left silent, with a warning naming the label or the file.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.reading import read_mono_audio, resample
from ..errors import InputFileError, OutputError


@dataclass
class SpokenTrack:
    """samples: (N,) float32 mono in [-1, 1]; rate: Hz; placed: (label, start s, end s) of the
    words placed; warnings: what was left silent and why."""

    samples: np.ndarray
    rate: int
    placed: list[tuple[str, float, float]]
    warnings: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def spoken_track(detections, audio_of, duration: float, backend: str | None = None) -> SpokenTrack:
    """The track of `detections` (objects with label and start in seconds) whose words are the
    files `audio_of(label)` names ("" for none); module docstring for the mixing."""
    words, warnings, silent = {}, [], []
    for label in dict.fromkeys(d.label for d in detections):
        path = audio_of(label)
        if not path:
            silent.append(label)
            continue
        try:
            words[label] = read_mono_audio(path, backend)
        except InputFileError as exc:
            warnings.append(f"{exc}: its detections of {label!r} are silent")
    if silent:
        warnings.append(f"no recorded word for {', '.join(repr(s) for s in silent)} in the lexicon "
                        "(LABEL.wav beside its clips): those detections are silent")
    rate = int(max((r for _, r in words.values()), default=16000))
    words = {label: resample(samples, r, rate) for label, (samples, r) in words.items()}
    placed = [(d.label, float(d.start), float(d.start) + len(words[d.label]) / rate)
              for d in detections if d.label in words]
    end = max([duration] + [stop for _, _, stop in placed])
    mix = np.zeros(int(np.ceil(end * rate)) + 1, dtype=np.float64)
    for label, start, _ in placed:
        first = int(round(start * rate))
        word = words[label]
        mix[first:first + len(word)] += word[: len(mix) - first]
    peak = float(np.max(np.abs(mix))) if len(mix) else 0.0
    if peak > 1.0:
        mix /= peak
    return SpokenTrack(mix.astype(np.float32), rate, placed, warnings)


def write_wav(path: str | os.PathLike, track: SpokenTrack) -> Path:
    """Write the track as a 16-bit PCM mono WAV; OutputError naming the file when it cannot be."""
    path = Path(path)
    pcm = np.clip(np.round(track.samples * 32767.0), -32768, 32767).astype("<i2")
    try:
        with wave.open(os.fspath(path), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(track.rate)
            f.writeframes(pcm.tobytes())
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the spoken track ({exc.strerror or exc})") from None
    return path
