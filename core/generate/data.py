"""Training data for the generator: token streams per part, with the speech where a take has it.

Motion files are found as the codecs find them (core.codecs.training.dataset.motion_files:
`.bvh` and `.npz` under each folder, BVH retargeted onto SMPL-X), at 30 fps. A motion file is
*paired* with speech when a wav of the same stem lies beside it (`take.npz` + `take.wav`, the
shared data's layout) or in the `wave16k/` folder beside its own folder (`smplxflame_30/take.npz`
+ `wave16k/take.wav`, the full public BEAT2 layout); paired takes condition the audio, the rest
only the token prior. A part whose joints never move in a take (Bandai: no fingers, no face) has
no stream there; the model sees MASK tokens for it and is not trained on them.

The held-out split is the codecs' (core/codecs/split.json): whole takes, and the last fraction
of the BEAT2 take as one contiguous block, so the generator never trains on frames the codecs
held out either. With many paired takes none of which the split names (the full BEAT2), the
ceil(10%) of them whose names have the smallest sha256 are held out as well, so there is always
speech the generator was not trained on.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..codecs.base import Codec
from ..codecs.features import at_codec_rate, part_features
from ..codecs.training.dataset import load_split, motion_files
from ..retarget import read_smplx_motion
from .inference import pool_audio

_REST_TOLERANCE = 1e-6  # as the codecs' dataset: a part this still is not in the take
_MIN_PAIRED_FOR_HOLD_OUT = 10


@dataclass(frozen=True)
class TokenTake:
    """One take's token streams: name (`stem` or `stem[a:b]`), source folder, tokens part ->
    (T, Q) int64 at token rate or None where the part does not move, audio (T, C) float32 at
    token rate or None (unpaired), seconds of motion."""

    name: str
    source: str
    tokens: dict
    audio: np.ndarray | None
    seconds: float

    @property
    def frames(self) -> int:
        return next(len(t) for t in self.tokens.values() if t is not None)

    def segment(self, start: int, stop: int) -> "TokenTake":
        tokens = {p: None if t is None else t[start:stop] for p, t in self.tokens.items()}
        audio = None if self.audio is None else self.audio[start:stop]
        return replace(self, name=f"{self.name}[{start}:{stop}]", tokens=tokens, audio=audio,
                       seconds=self.seconds * (stop - start) / max(self.frames, 1))


def speech_file(motion_path: Path) -> Path | None:
    """The wav paired with a motion file (module docstring), or None."""
    for candidate in (motion_path.with_suffix(".wav"), motion_path.parent.parent / "wave16k" / f"{motion_path.stem}.wav"):
        if candidate.is_file():
            return candidate
    return None


def _speech_features(path: Path, filters) -> np.ndarray:
    from ..audio import read_speech, speech_features

    speech = read_speech(path)
    return speech_features(speech.samples, speech.sample_rate, 30.0, filters)


def token_take(path: Path, codecs: dict[str, Codec], filters, frames_per_token: int) -> TokenTake:
    """The take in `path` coded by `codecs` (part -> Codec), with its speech features pooled
    to token rate when paired. Paired motion and speech are cut to the shorter of the two."""
    motion = at_codec_rate(read_smplx_motion(path, 30.0))
    wav = speech_file(path)
    audio = _speech_features(wav, filters) if wav is not None else None
    frames = motion.num_frames if audio is None else min(motion.num_frames, len(audio))
    tokens = {}
    for part, codec in codecs.items():
        features = part_features(motion, part)[:frames]
        if len(features) == 0 or np.abs(features).max() <= _REST_TOLERANCE:
            tokens[part] = None
            continue
        t = np.asarray(codec.encode(features), dtype=np.int64)
        tokens[part] = t[:, None] if t.ndim == 1 else t
    if all(t is None for t in tokens.values()):
        tokens = {p: None for p in codecs}
    pooled = None if audio is None else pool_audio(audio[:frames], frames_per_token).astype(np.float32)
    return TokenTake(path.stem, path.parent.name, tokens, pooled, frames / 30.0)


def read_token_takes(data_dirs, codecs: dict[str, Codec], filters, frames_per_token: int = 1,
                     progress=None) -> list[TokenTake]:
    """Every motion file under `data_dirs` as a TokenTake (those in which no part moves are
    left out). progress(line) hears of each file."""
    takes = []
    files = motion_files(data_dirs)
    for i, path in enumerate(files):
        if progress is not None and (i % 25 == 0 or i == len(files) - 1):
            progress(f"coding motion {i + 1}/{len(files)}: {path.name}")
        take = token_take(path, codecs, filters, frames_per_token)
        if any(t is not None for t in take.tokens.values()):
            takes.append(take)
    return takes


def split_token_takes(takes: list[TokenTake], frames_per_token: int = 1) -> tuple[list[TokenTake], list[TokenTake]]:
    """(training, held-out) takes by the codecs' split (module docstring). A held-out tail is
    cut where the codecs cut it: at floor(T (1 - fraction)) motion frames."""
    split = load_split()
    train, held = [], []
    for take in takes:
        if take.name in split.held_out_takes:
            held.append(take)
        elif take.name in split.held_out_tails:
            motion_frames = round(take.seconds * 30.0)
            cut = math.floor(motion_frames * (1.0 - split.held_out_tails[take.name])) // frames_per_token
            train.append(take.segment(0, cut))
            held.append(take.segment(cut, take.frames))
        else:
            train.append(take)
    paired = [t for t in train if t.audio is not None]
    if len(paired) >= _MIN_PAIRED_FOR_HOLD_OUT and not any(t.audio is not None for t in held):
        count = math.ceil(0.1 * len(paired))
        chosen = set(sorted((t.name for t in paired), key=lambda n: hashlib.sha256(n.encode()).hexdigest())[:count])
        held += [t for t in train if t.name in chosen]
        train = [t for t in train if t.name not in chosen]
    return train, held


def data_summary(takes: list[TokenTake]) -> dict:
    """Takes, seconds, paired (speech) seconds and per-part token frames, per source."""
    sources: dict[str, dict] = {}
    for t in takes:
        s = sources.setdefault(t.source, {"takes": 0, "seconds": 0.0, "paired_seconds": 0.0})
        s["takes"] += 1
        s["seconds"] += t.seconds
        s["paired_seconds"] += t.seconds if t.audio is not None else 0.0
    parts = {p: int(sum(len(t.tokens[p]) for t in takes if t.tokens.get(p) is not None))
             for p in (takes[0].tokens if takes else {})}
    return {
        "takes": len(takes),
        "seconds": round(sum(t.seconds for t in takes), 1),
        "paired_seconds": round(sum(t.seconds for t in takes if t.audio is not None), 1),
        "token_frames": parts,
        "sources": {k: {kk: round(vv, 1) if isinstance(vv, float) else vv for kk, vv in v.items()}
                    for k, v in sorted(sources.items())},
    }
