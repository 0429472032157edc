"""The speech-gesture evaluation jobs: train the motion feature encoder bundle FGD is measured
with, and evaluate methods (baselines, a codec's reconstruction, the generator) on held-out
and in-sample speech clips into a markdown report (core.gesture_metrics).

The seam for the generator: `evaluate_speech(options, extra_methods=(Method(...),))`; a
Method's `make(clip, seed)` gets a `SpeechClip` (its audio samples and speech features) and
returns the generated Motion for the clip (30 fps SMPL-X, the clip's frame count).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..core.errors import MissingFileError, MotionTokensError, OutputError
from ..core.limits import check_seed
from .generate import DEFAULT_DECODE_STEPS, DEFAULT_TEMPERATURE, DEFAULT_TOP_K
from .outputs import refuse_output_onto_input


def _quiet(line: str) -> None:
    """No progress lines (the default)."""


@dataclass(frozen=True)
class TrainEncoderOptions:
    """data: motion folders (the shared data: bandai, beat2); out: the bundle folder."""

    data: tuple[Path, ...]
    out: str | os.PathLike
    seed: int = 0
    epochs: int | None = None
    command: str | None = None


@dataclass(frozen=True)
class SpeechOptions:
    """data: folders (or files) with speech takes (motion + .wav of the same stem); out: the
    .md report; codec: a codec name whose reconstruction of the ground truth is a row (None:
    no such row); encoder: the encoder bundle folder (None: models/motion-encoder);
    generators: generator bundles (names or folders) each evaluated as a row, sampled with
    `temperature`, `top_k` and `decode_steps` (the generate job's sampling, its defaults
    too, so a row measures what `generate` makes), one sample per seed."""

    data: tuple[Path, ...]
    out: Path
    codec: str | None = None
    models_dir: str | os.PathLike | None = None
    encoder: str | os.PathLike | None = None
    seeds: int = 3
    command: str | None = None
    generators: tuple[str, ...] = ()
    temperature: float = DEFAULT_TEMPERATURE
    top_k: int = DEFAULT_TOP_K
    decode_steps: int | None = DEFAULT_DECODE_STEPS


@dataclass
class SpeechResult:
    figures: list  # core.gesture_metrics.evaluation.MethodFigures
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def train_motion_encoder(options: TrainEncoderOptions, progress: Callable[[str], None] | None = None) -> SpeechResult:
    """Train the encoder on the training takes under `options.data` and write its bundle."""
    from ..core.gesture_metrics.encoder_bundle import train_encoder_bundle

    check_seed("seed (--seed)", options.seed)
    refuse_output_onto_input(options.out, options.data)
    bundle = train_encoder_bundle(list(options.data), options.out, options.seed, options.epochs, options.command,
                                  progress or _quiet)
    log = bundle.manifest["training"]
    return SpeechResult([], [f"{bundle.folder}: {bundle.name}, {log['windows']} training windows, "
                             f"held-out reconstruction loss {bundle.manifest['evaluation']['held_out_loss']:.4f}"])


def _speech_files(data) -> dict[str, tuple[Path, Path]]:
    """{take name: (motion file, wav)} for the motion files under `data` with a .wav beside."""
    from ..core.codecs.training.dataset import motion_files

    found = {}
    for path in motion_files(data):
        wav = path.with_suffix(".wav")
        if wav.is_file():
            found[path.stem] = (path, wav)
    if not found:
        raise MissingFileError(Path(str(data[0])), "no speech take here: a motion file (.npz, .bvh) with a .wav of the "
                                                   "same name beside it")
    return found


def generator_method(generator: str, options: SpeechOptions):
    """A core.gesture_metrics Method generating each clip from its audio with `generator`
    through the generate job's own steps (features from the samples, tokens, decoding), so the
    row measures what a user gets; the motion is cut or held to the clip's frame count."""
    from ..core.audio import Speech
    from ..core.codecs.coding import load_codecs
    from ..core.generate import load_generator
    from ..core.gesture_metrics.clips import Method
    from ..core.steps import run_steps
    from .generate import GenerateOptions, codec_names, resolve_generator, speech_steps

    folder = resolve_generator(generator, options.models_dir)
    gen = load_generator(folder, options.models_dir)
    codecs = load_codecs(codec_names(gen), options.models_dir)

    def make(clip, seed: int):
        speech = Speech.from_samples(clip.samples, clip.sample_rate, clip.name)
        sampling = GenerateOptions((speech,), str(folder), seed, options.temperature, options.top_k,
                                   models_dir=options.models_dir, decode_steps=options.decode_steps)
        sampling.check()
        motion = run_steps(speech_steps(speech, gen, folder.name, codecs, sampling)).motion
        last = np.minimum(np.arange(clip.num_frames), motion.num_frames - 1)  # hold the last frame if short
        return _frames_at(motion, last)

    note = (f"{folder.name} ({gen.manifest.get('family', 'generator')}), temperature {options.temperature:g}, "
            f"top-k {options.top_k}, decode steps {options.decode_steps or 'of the bundle'}")
    return Method(folder.name, make, stochastic=True, note=note)


def _frames_at(motion, index):
    """`motion` at the given frame indices (a copy)."""
    from dataclasses import replace

    exp = None if motion.expressions is None else motion.expressions[index]
    return replace(motion, rotations=motion.rotations[index], trans=motion.trans[index], expressions=exp)


def evaluate_speech(options: SpeechOptions, extra_methods: Sequence = (),
                    progress: Callable[[str], None] | None = None) -> SpeechResult:
    """Evaluate the baselines (and `extra_methods`, core.gesture_metrics.clips.Method) on the
    speech takes' blocks and write the report; the figures and the report's summary lines."""
    from ..core.gesture_metrics.encoder import load_motion_encoder
    from ..core.gesture_metrics.report import render_report, summary_lines
    from ..core.gesture_metrics.speech_data import evaluate_takes, read_speech_takes

    if options.out.suffix.lower() != ".md":
        raise OutputError(f"{options.out}: the report is markdown; give it a .md suffix")
    if not 1 <= options.seeds <= 64:
        raise MotionTokensError(f"--seeds must be 1 to 64, got {options.seeds}")
    refuse_output_onto_input(options.out, options.data)
    progress = progress or _quiet
    files = _speech_files(list(options.data))
    encoder = load_motion_encoder(options.encoder)
    takes = read_speech_takes(files)
    methods = [generator_method(g, options) for g in options.generators] + list(extra_methods)
    figures = evaluate_takes(takes, options.codec, options.models_dir, methods, encoder, options.seeds,
                             progress)
    text = render_report(figures, takes, encoder, options.seeds, options.command)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(text, encoding="utf-8")
    return SpeechResult(figures, summary_lines(figures) + [f"wrote {options.out}"])
