"""The training job: one codec bundle for one part, trained on motion files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.errors import MotionTokensError
from ..core.limits import check_seed
from .outputs import refuse_output_onto_input


def _quiet(line: str) -> None:
    """No progress lines (the default)."""


@dataclass(frozen=True)
class TrainOptions:
    family: str  # kmeans or rqvae
    bits: int
    part: str
    data: tuple[Path, ...]
    out: str | os.PathLike
    seed: int = 0
    entropy_guided: bool = False  # RQ-VAE only

    def check(self) -> None:
        """OptionError for a seed outside core.limits (0 to 2**32 - 1)."""
        check_seed("seed (--seed)", self.seed)


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
    if options.entropy_guided and options.family != "rqvae":
        raise MotionTokensError("--entropy-guided is an option of the RQ-VAE codebooks; leave it out for k-means")
    refuse_output_onto_input(options.out, options.data)
    bundle = train(options.family, options.bits, options.part, list(options.data), options.out, seed=options.seed,
                   entropy_guided=options.entropy_guided, progress=progress or _quiet)
    return TrainResult(bundle, [f"{bundle.folder}: {bundle.name} {bundle.manifest['part']}, "
                                f"{bundle.bits_per_frame():g} bits/frame"])
