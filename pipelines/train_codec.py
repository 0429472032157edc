"""The training job: one codec bundle for one part, trained on motion files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.errors import MotionTokensError
from ..core.limits import OptionError, check_seed
from .outputs import refuse_output_onto_input


def _quiet(line: str) -> None:
    """No progress lines (the default)."""


@dataclass(frozen=True)
class TrainOptions:
    family: str  # kmeans, rqvae or rqvae4
    bits: int
    part: str
    data: tuple[Path, ...]
    out: str | os.PathLike
    seed: int = 0
    entropy_guided: bool = False  # RQ-VAE only
    checkpoint_dir: str | os.PathLike | None = None  # RQ-VAE only: where checkpoints go
    checkpoint_every: int = 500
    resume: bool = False  # continue from the checkpoint in checkpoint_dir

    def check(self) -> None:
        """OptionError for a seed outside core.limits (0 to 2**32 - 1)."""
        check_seed("seed (--seed)", self.seed)
        if self.checkpoint_every < 1:
            raise OptionError(f"checkpoint interval (--checkpoint-every) must be at least 1 step, got {self.checkpoint_every}")
        if self.resume and self.checkpoint_dir is None:
            raise OptionError("--resume needs the checkpoint folder (--checkpoint-dir) to resume from")


@dataclass
class TrainResult:
    bundle: object  # the written, verified core Bundle
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def train_codec(options: TrainOptions, progress: Callable[[str], None] | None = None) -> TrainResult:
    """Train and write the bundle (core.codecs.training.train.train_codec), reporting to `progress`;
    the bundle and a line naming it. MotionTokensError for --entropy-guided with k-means,
    OutputError for a bundle folder that is one of the data folders."""
    from ..core.codecs.training.train import (
        train_codec as train,  # torch: imported only to train
    )

    options.check()
    if options.entropy_guided and options.family == "kmeans":
        raise MotionTokensError("--entropy-guided is an option of the RQ-VAE codebooks; leave it out for k-means")
    refuse_output_onto_input(options.out, options.data)
    bundle = train(options.family, options.bits, options.part, list(options.data), options.out, seed=options.seed,
                   entropy_guided=options.entropy_guided, progress=progress or _quiet,
                   checkpoint_dir=options.checkpoint_dir, checkpoint_every=options.checkpoint_every, resume=options.resume)
    return TrainResult(bundle, [f"{bundle.folder}: {bundle.name} {bundle.manifest['part']}, "
                                f"{bundle.bits_per_frame():g} bits/frame, {bundle.bits_per_second():g} bits/s"])
