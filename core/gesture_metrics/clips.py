"""Speech evaluation clips and the methods that fill them: the ground truth, its baselines,
and (plugged in by the caller) the generator.

A speech take is a motion file with its audio beside it (same stem, .wav), e.g. BEAT2's
`2_scott_0_1_1.npz` + `.wav`. The codec split (core/codecs/split.json) gives its blocks: for
a take in `held_out_tails` the last fraction (BEAT2: 25%, 477 frames, 15.9 s) is the
held-out block and the rest the in-sample block; a take in `held_out_takes` is held out
whole. Each block is cut into clips of CLIP_SECONDS every HOP_SECONDS (the held-out BEAT2
block: 6 overlapping 4 s clips, i.e. 16 s of distinct motion: weak statistics, said so in
the report).

A method maps (clip, seed) -> a Motion of the clip's frames at 30 fps (`Method`); the
evaluation calls a stochastic method once per seed. The generator is one more Method whose
function takes the clip's audio (`SpeechClip.samples` at `sample_rate`, or the take's
speech features sliced to the clip, `SpeechClip.features`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .. import rotations as rot
from ..motion import Motion

CLIP_SECONDS = 4.0
HOP_SECONDS = 2.0


@dataclass(frozen=True)
class SpeechClip:
    """One evaluation clip: `motion` the ground truth (30 fps SMPL-X, `start` frames into its
    block), `samples` (N,) float32 its audio at `sample_rate`, `features` (T, C) the take's
    speech features (core.audio) for its frames, `onset_column` the onset-strength column."""

    name: str
    block: str
    start: int
    motion: Motion
    samples: np.ndarray
    sample_rate: int
    features: np.ndarray
    onset_column: int

    @property
    def num_frames(self) -> int:
        return self.motion.num_frames


@dataclass(frozen=True)
class SpeechBlock:
    """A contiguous block of a speech take: its name ('held-out', 'in-sample'), the whole
    block's ground truth and its clips."""

    name: str
    take: str
    motion: Motion
    clips: tuple[SpeechClip, ...]


MethodFn = Callable[[SpeechClip, int], Motion]


@dataclass(frozen=True)
class Method:
    """name: the row label; make(clip, seed) -> Motion of clip.num_frames frames;
    stochastic: called once per seed (else once); note: what it is, for the report."""

    name: str
    make: MethodFn
    stochastic: bool = False
    note: str = ""


def clip_starts(num_frames: int, clip_frames: int, hop_frames: int) -> list[int]:
    """Starts of the clips of `clip_frames` every `hop_frames` inside `num_frames` (the last
    one ends at the block's end or before)."""
    return list(range(0, num_frames - clip_frames + 1, hop_frames)) if num_frames >= clip_frames else []


def make_block(name: str, take: str, motion: Motion, samples: np.ndarray, sample_rate: int, features: np.ndarray,
               onset_column: int, clip_seconds: float = CLIP_SECONDS, hop_seconds: float = HOP_SECONDS) -> SpeechBlock:
    """The block of `motion` (30 fps) with its audio `samples` and per-frame `features`
    (both covering the same time span), cut into clips."""
    fps = motion.fps
    clip_frames, hop = int(round(clip_seconds * fps)), int(round(hop_seconds * fps))
    clips = []
    for s in clip_starts(motion.num_frames, clip_frames, hop):
        a, b = int(round(s / fps * sample_rate)), int(round((s + clip_frames) / fps * sample_rate))
        m = replace(motion.frames(s, s + clip_frames), name=f"{take} {name} [{s}:{s + clip_frames}]")
        clips.append(SpeechClip(m.name, name, s, m, samples[a:b], sample_rate, features[s : s + clip_frames],
                                onset_column))
    return SpeechBlock(name, take, motion, tuple(clips))


def ground_truth() -> Method:
    return Method("ground truth", lambda clip, seed: clip.motion, note="the captured motion of the clip")


def shifted_ground_truth(block: SpeechBlock) -> Method:
    """The block's own motion from another time: a clip at `start` takes the frames at
    (start + half the block) modulo the clip starts the block allows (at least one clip
    length away in the BEAT2 blocks): real motion, not aligned with this audio."""
    T = block.motion.num_frames

    def make(clip: SpeechClip, seed: int) -> Motion:
        n = clip.num_frames
        src = (clip.start + T // 2) % max(T - n + 1, 1)
        return replace(block.motion.frames(src, src + n), name=f"{clip.name} shifted from {src}")

    return Method("shifted ground truth", make, note="the same block's motion from another time (half a block on)")


def random_training_clips(training: list[Motion]) -> Method:
    """A random window of the training speech motion per (clip, seed), drawn by a generator
    seeded with the seed and the clip's name (the same draw in every run)."""
    starts = [(i, s) for i, m in enumerate(training) for s in range(max(m.num_frames, 0))]

    def make(clip: SpeechClip, seed: int) -> Motion:
        n = clip.num_frames
        fits = [(i, s) for i, s in starts if s + n <= training[i].num_frames]
        digest = hashlib.sha256(f"{seed}:{clip.name}".encode()).digest()
        i, s = fits[np.random.default_rng(int.from_bytes(digest[:8], "little")).integers(len(fits))]
        return replace(training[i].frames(s, s + n), name=f"{clip.name} from training {s}")

    return Method("random training clips", make, stochastic=True,
                  note="a random window of the training speech motion (BEAT2's first 75%) per clip and seed")


def mean_pose(training: list[Motion]) -> Method:
    """Every frame the training speech motion's mean pose: per joint, the mean of its local
    rotations (quaternions sign-aligned to the first frame's, averaged, normalised), and
    the mean expressions; the clip's own root."""
    q = np.concatenate([m.rotations for m in training], axis=0)  # (N, J, 4)
    q = q * np.where(np.sum(q * q[:1], axis=-1, keepdims=True) < 0, -1.0, 1.0)
    mean_q = rot.quat_normalize(q.mean(axis=0))
    exprs = [m.expressions for m in training if m.expressions is not None]
    mean_e = np.concatenate(exprs, axis=0).mean(axis=0) if exprs else None

    def make(clip: SpeechClip, seed: int) -> Motion:
        n = clip.num_frames
        e = None if mean_e is None or clip.motion.expressions is None else np.broadcast_to(
            mean_e[: clip.motion.expressions.shape[1]], clip.motion.expressions.shape).copy()
        return replace(clip.motion, rotations=np.broadcast_to(mean_q, (n,) + mean_q.shape).copy(), expressions=e,
                       name=f"{clip.name} mean pose")

    return Method("mean pose", make, note="the training speech motion's mean pose, still")


def codec_reconstruction(codec: str, decoded: dict[str, Motion]) -> Method:
    """The ground truth coded and decoded by `codec` (every part it has bundles for):
    `decoded` maps a block name to its decoded block, from which each clip is cut; what a
    generator on this codec could reach at best."""

    def make(clip: SpeechClip, seed: int) -> Motion:
        m = decoded[clip.block]
        return replace(m.frames(clip.start, clip.start + clip.num_frames), name=f"{clip.name} via {codec}")

    return Method(f"ground truth via {codec}", make, note=f"the ground truth encoded and decoded by {codec}; a codec that holds a pose "
                  "for several frames and then jumps has zero-speed plateaus, not strict speed minima (BA 0, no "
                  "velocity alignment), and a high jerk")
