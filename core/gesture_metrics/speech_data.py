"""The speech takes an evaluation reads: motion with its audio and speech features, cut into
the codec split's blocks (clips.py), and the methods each block is evaluated with."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

from ..audio import AudioFilters, read_speech, speech_features
from ..codecs.coding import encode_parts
from ..codecs.features import at_codec_rate
from ..codecs.registry import installed_parts
from ..codecs.training.dataset import Split, load_split
from ..errors import MotionTokensError
from ..motion import Motion
from ..retarget import read_smplx_motion
from .clips import (
    Method,
    SpeechBlock,
    codec_reconstruction,
    ground_truth,
    make_block,
    mean_pose,
    random_training_clips,
    shifted_ground_truth,
)
from .encoder import MotionEncoder
from .evaluation import MethodFigures, evaluate_block, reference_speeds
from .poses import METRIC_FPS

HELD_OUT, IN_SAMPLE = "held-out", "in-sample"


@dataclass(frozen=True)
class SpeechTake:
    """A speech take: its 30 fps motion (cut to its audio's length), the audio file, the
    blocks (with their first frame in the take) and its training part (None when held out whole)."""

    name: str
    motion: Motion
    wav: Path
    blocks: tuple[tuple[SpeechBlock, int], ...]
    training: Motion | None


def _blocks(name: str, num_frames: int, split: Split) -> list[tuple[str, int, int]]:
    """(block name, start, stop) frames of a take by the split (as split_takes cuts it)."""
    if name in split.held_out_takes:
        return [(HELD_OUT, 0, num_frames)]
    if name in split.held_out_tails:
        cut = int(math.floor(num_frames * (1.0 - split.held_out_tails[name])))
        return [(HELD_OUT, cut, num_frames), (IN_SAMPLE, 0, cut)]
    return [(IN_SAMPLE, 0, num_frames)]


def read_speech_take(name: str, motion_path: Path, wav: Path, filters: AudioFilters, split: Split) -> SpeechTake:
    """One take: motion (resampled to 30 fps), audio, features, blocks."""
    motion = at_codec_rate(read_smplx_motion(motion_path, METRIC_FPS))
    speech = read_speech(wav)
    features = speech_features(speech.samples, speech.sample_rate, METRIC_FPS, filters)
    T = min(motion.num_frames, len(features))
    motion = replace(motion.frames(0, T), name=name)
    onset = filters.n_mels  # core.audio's column order: log-mel, onset strength, energy
    blocks, training = [], None
    for block_name, a, b in _blocks(name, T, split):
        lo, hi = int(round(a / METRIC_FPS * speech.sample_rate)), int(round(b / METRIC_FPS * speech.sample_rate))
        block = make_block(block_name, name, motion.frames(a, b), speech.samples[lo:hi], speech.sample_rate,
                           features[a:b], onset)
        blocks.append((block, a))
        if block_name == IN_SAMPLE:
            training = motion.frames(a, b)
    return SpeechTake(name, motion, Path(wav), tuple(blocks), training)


def read_speech_takes(files: dict[str, tuple[Path, Path]], split: Split | None = None) -> list[SpeechTake]:
    """The takes of {name: (motion file, wav)}, sorted by name; MotionTokensError when none
    has training motion (the random-clip and mean-pose baselines need some)."""
    split = load_split() if split is None else split
    filters = AudioFilters.default()
    takes = [read_speech_take(n, m, w, filters, split) for n, (m, w) in sorted(files.items())]
    if not any(t.training is not None for t in takes):
        raise MotionTokensError(f"the speech takes ({', '.join(files)}) are all held out: the baselines need "
                                "training speech motion")
    return takes


def _decoded_blocks(take: SpeechTake, codec: str, models_dir) -> dict[str, Motion]:
    parts = installed_parts(codec, models_dir)
    decoded = encode_parts(take.motion, {p: codec for p in parts}, models_dir).decoded
    return {block.name: decoded.frames(start, start + block.motion.num_frames) for block, start in take.blocks}


def evaluate_takes(takes: list[SpeechTake], codec: str | None, models_dir, extra_methods: list[Method],
                   encoder: MotionEncoder, seeds: int, progress) -> list[MethodFigures]:
    """Every block of every take with the baselines, the codec reconstruction (when `codec`
    is given) and `extra_methods`, in that order."""
    training = [t.training for t in takes if t.training is not None]
    speeds = reference_speeds(training)
    shared = [random_training_clips(training), mean_pose(training)]
    figures = []
    for take in takes:
        decoded = _decoded_blocks(take, codec, models_dir) if codec else None
        for block, _start in take.blocks:
            methods = [ground_truth(), shifted_ground_truth(block), *shared]
            methods += [codec_reconstruction(codec, decoded)] if codec else []
            figures += evaluate_block(block, methods + list(extra_methods), encoder, speeds, seeds, progress)
    return figures


def block_summary(takes: list[SpeechTake]) -> list[tuple[str, str, int, int, float]]:
    """(take, block, first frame, frames, clips) of every block, for the report."""
    return [(t.name, b.name, s, b.motion.num_frames, len(b.clips)) for t in takes for b, s in t.blocks]


def clip_counts(takes: list[SpeechTake]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in takes:
        for b, _s in t.blocks:
            counts[b.name] = counts.get(b.name, 0) + len(b.clips)
    return counts
