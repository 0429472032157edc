"""The training job of a speech-to-gesture generator: one bundle `gen-<codec>` trained on the
token streams of the motion under the data folders and the speech paired with it.

Runs alone or as one process of `torchrun --nproc_per_node N python -m motion_tokens
train-generator ...` (data-parallel; rank 0 writes the bundle). torch is imported only here,
to train."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..core.errors import OptionError
from ..core.generate.config import ABLATIONS
from ..core.limits import check_seed
from .outputs import refuse_output_onto_input


@dataclass(frozen=True)
class GeneratorTrainOptions:
    codec: str  # codec name: kmeans-10, rqvae-10, ...
    data: tuple[Path, ...]
    out: str | os.PathLike
    seed: int = 0
    steps: int = 1500
    audio_steps: int | None = None  # default: a third of steps
    replace: float = 0.1  # share of visible input tokens replaced by random codes in training
    models_dir: str | os.PathLike | None = None
    ablation: str | None = None  # core.generate.training.ABLATIONS: a bundle for the speech report only

    @property
    def name(self) -> str:
        """The bundle's name: gen-<codec>, with the ablation after it."""
        return f"gen-{self.codec}" + (f"-{self.ablation}" if self.ablation else "")

    def check(self) -> None:
        """OptionError for a seed outside core.limits or a step count below 1."""
        check_seed("seed (--seed)", self.seed)
        for name, value in (("steps (--steps)", self.steps), ("audio steps (--audio-steps)", self.audio_steps)):
            if value is not None and (not isinstance(value, int) or not 1 <= value <= 10_000_000):
                raise OptionError(f"{name} must be a whole number from 1 to 10000000, got {value!r}")
        if self.ablation is not None and self.ablation not in ABLATIONS:
            raise OptionError(f"ablation (--ablation) must be one of {', '.join(ABLATIONS)}, got {self.ablation!r}")
        if not (isinstance(self.replace, (int, float)) and 0 <= self.replace < 1):
            raise OptionError(f"replace (--replace) must be a share from 0 to below 1, got {self.replace!r}")


@dataclass
class GeneratorTrainResult:
    bundle: object  # the written, verified core Bundle (None on ranks other than 0)
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def command_line(options: GeneratorTrainOptions) -> str:
    """The command that makes the bundle, for its manifest."""
    args = ["python", "-m", "motion_tokens", "train-generator", "--codec", options.codec,
            "--data", *map(str, options.data), "--out", str(options.out), "--seed", str(options.seed),
            "--steps", str(options.steps)]
    if options.audio_steps is not None:
        args += ["--audio-steps", str(options.audio_steps)]
    if options.replace != 0.1:
        args += ["--replace", f"{options.replace:g}"]
    if options.ablation:
        args += ["--ablation", options.ablation]
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return ("torchrun --nproc_per_node %d " % world if world > 1 else "") + shlex.join(args)


def _notes(trained) -> list[str]:
    paired = trained.data["train"]["paired_seconds"]
    held = trained.data["held_out"]["paired_seconds"]
    return [
        f"Very little paired data: the speech conditioning was trained on {paired:g} s of speech with motion "
        f"(one speaker) and is evaluated on {held:g} s held out from the same take (within-take: optimistic). "
        "The full BEAT2 has about 60 hours; expect the audio to steer rhythm and energy at best, and compare "
        "the held-out figures with the unigram and no-audio baselines beside them before reading more into them.",
        f"The token prior was pretrained on {trained.data['train']['seconds']:g} s of motion token streams "
        "(every take of every part the data folders give), without audio.",
    ]


def train_generator(options: GeneratorTrainOptions, progress: Callable[[str], None] | None = None):
    """Train and write the bundle; a GeneratorTrainResult. MotionTokensError for missing
    codecs, data without speech or bad options; OutputError for an output onto the data."""
    from ..core.generate.bundle import write_generator_bundle
    from ..core.generate.training import TrainSettings
    from ..core.generate.training import train_generator as train  # torch: imported only to train

    options.check()
    refuse_output_onto_input(options.out, options.data)
    audio_steps = options.audio_steps if options.audio_steps is not None else max(1, options.steps // 3)
    settings = TrainSettings(steps=options.steps, audio_steps=audio_steps, replace=float(options.replace),
                             ablation=options.ablation)
    trained = train(options.codec, list(options.data), options.seed, settings, options.models_dir, progress)
    if trained is None:
        return GeneratorTrainResult(None, [])
    from ..core.audio import AudioFilters

    filters = AudioFilters.default()
    manifest = {
        "name": options.name, "codec": options.codec, "codecs": trained.codecs,
        "token_fps": trained.token_fps, "fps": 30.0, "model_config": trained.config.to_dict(),
        "audio": {"sample_rate": filters.sample_rate, "fps": 30.0, "features": filters.num_channels},
        "data": trained.data, "training": trained.training, "evaluation": trained.evaluation,
        "seed": options.seed, "command": command_line(options), "notes": _notes(trained),
    }
    from ..core.codecs.bundle import load_bundle
    from ..core.generate.onnx_export import add_network

    write_generator_bundle(options.out, manifest, trained.arrays, filters.to_tensors())
    add_network(options.out)  # the network for onnxruntime, checked against torch's logits
    bundle = load_bundle(options.out)
    return GeneratorTrainResult(bundle, [f"{bundle.folder}: {bundle.name}, parts {', '.join(trained.config.parts)}, "
                                         f"trained in {trained.training['seconds']:g} s"])
