"""Training the codecs into bundles: `train_codec(family, bits, part, data_dirs, out)`.

The command line is `python -m motion_tokens train-codec` (tools/train_codecs.py, `make codecs`, trains
the shipped bundles with it).

Data: the motion files under the folders (dataset.py), split by the fixed `split.json`; the
codec is fitted on the training takes only and evaluated on the held-out ones. Parts
`mirrored_in_training` (the hands) are augmented with left/right mirrored copies of the
training takes (never of held-out frames). Each family has its trainer (`TRAINERS`):
kmeans_fit.py and rqvae_fit.py say how they fit.

Evaluation (in the manifest, fitted.evaluate_codec): the position RMSE in cm of the part's
`part_positions` points (body joints 1-21 plus jaw and middle-finger bases, pelvis-relative;
hands: finger joints and tips, wrist-relative) on the held-out takes and, beside it, on the
training takes (in-sample: the quantisation error alone), for the parts mirrored in training
each with its mirror images (dataset.evaluation_dataset: the codec serves either hand
leading); code usage (% of codes used on the
held-out frames) and perplexity (exp of the entropy of the held-out token distribution), for
k-means over its k codes and for RQ-VAE per layer and over whole (T, Q) token tuples.

Determinism: torch.manual_seed, numpy Generator(seed), sklearn random_state=seed and
torch.use_deterministic_algorithms during training; the same seed and thread count give the
same weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ...errors import MotionTokensError
from ...parts import get_part
from ..base import ResidualCodec
from ..bundle import Bundle, bits_per_frame, bits_per_second, write_bundle
from ..features import CODEC_FPS
from ..registry import FAMILY_CLASSES, codec_from_arrays, codec_name
from .dataset import (
    PartDataset,
    Split,
    evaluation_dataset,
    load_split,
    part_dataset,
    read_takes,
    split_takes,
    training_dataset,
)
from .fitted import FitJob, Fitted, command_line, evaluate_codec, input_description
from .kmeans_fit import fit_kmeans_codec
from .rqvae_fit import RQVAETraining, train_rqvae_codec


@dataclass(frozen=True)
class Trainer:
    """A family's trainer: fit(job) -> Fitted; entropy_guided: whether it has that option."""

    fit: Callable[[FitJob], Fitted]
    entropy_guided: bool = False


def _rqvae_trainer(family: str) -> Trainer:
    cls = FAMILY_CLASSES[family]
    assert issubclass(cls, ResidualCodec)
    return Trainer(lambda job: train_rqvae_codec(job, cls), entropy_guided=True)


#: family -> its trainer.
TRAINERS = {"kmeans": Trainer(fit_kmeans_codec), "rqvae": _rqvae_trainer("rqvae"), "rqvae4": _rqvae_trainer("rqvae4")}


def _fit_deterministically(fit: Callable[[FitJob], Fitted], job: FitJob) -> Fitted:
    """fit(job) with torch's deterministic algorithms on, the setting restored afterwards."""
    import torch

    deterministic = torch.are_deterministic_algorithms_enabled()
    # On a GPU a few kernels have no deterministic version: warn there rather than fail.
    torch.use_deterministic_algorithms(True, warn_only=torch.cuda.is_available())
    try:
        return fit(job)
    finally:
        torch.use_deterministic_algorithms(deterministic)


def manifest_evaluation(codec, train: PartDataset, held: PartDataset) -> dict:
    """The manifest's `evaluation` block of `codec` on the held-out and training takes, each
    with its mirror images where the part is mirrored in training (dataset.evaluation_dataset)."""
    mirrored = get_part(codec.part).mirrored_in_training
    return {
        "points": "RMSE of the error_points positions (cm), part alone (rest elsewhere, root at the origin)",
        "takes": "the takes and their left/right mirror images" if mirrored else "the takes as they are",
        "held_out": evaluate_codec(codec, evaluation_dataset(held)),
        "train": evaluate_codec(codec, evaluation_dataset(train)),
    }


def _training_block(data_dirs, split: Split, train: PartDataset, held: PartDataset, fitted: Fitted,
                    entropy_guided: bool, seconds: float) -> dict:
    """The manifest's `training` block: data, split, frames, how it was fitted and how long."""
    import torch

    return {
        "data": [str(d) for d in data_dirs],
        "split": split.describe(),
        "train": train.summary(),
        "held_out": held.summary(),
        "takes_without_this_part": len(train.skipped) + len(held.skipped),
        # The manifest schema's name for the mirror augmentation (any part mirrored_in_training).
        "mirrored_hands": get_part(train.part).mirrored_in_training,
        **fitted.fitting,
        "entropy_guided": entropy_guided,
        "seconds": round(seconds, 1),
        "threads": torch.get_num_threads(),
    }


def train_codec(family: str, bits: int, part: str, data_dirs, out, seed: int = 0, entropy_guided: bool = False,
                progress=print, split: Split | None = None, rqvae_training: RQVAETraining | None = None,
                checkpoint_dir=None, checkpoint_every: int = 500, resume: bool = False) -> Bundle:
    """Train codec `family-bits` for `part` on the motion under `data_dirs`; write it to `out`.

    split: the held-out split (default: split.json). rqvae_training: optimisation settings
    (default rqvae_fit.default_training). checkpoint_dir: RQ-VAE training writes a checkpoint
    there every checkpoint_every steps; resume: continue from it (the same weights as a run
    never interrupted). Returns the written, verified Bundle.
    """
    name = codec_name(family, bits)
    get_part(part)
    if entropy_guided and not TRAINERS[family].entropy_guided:
        raise ValueError("entropy-guided training is an option of the RQ-VAE codebooks, not of k-means")
    t0 = time.perf_counter()
    split = load_split() if split is None else split
    progress(f"{name}-{part}: reading {', '.join(map(str, data_dirs))}")
    train_takes, held_takes = split_takes(read_takes(data_dirs), split)
    train, held = part_dataset(train_takes, part), part_dataset(held_takes, part)
    if train.num_takes == 0:
        raise MotionTokensError(f"no training takes with {part} motion under {', '.join(map(str, data_dirs))}")
    train_fit = training_dataset(train)
    progress(f"  training: {train.num_takes} takes, {train.num_frames} frames"
             + (f" (+ mirrored: {train_fit.num_frames})" if train_fit.mirrored else "")
             + f"; held out: {held.num_takes} takes, {held.num_frames} frames")
    job = FitJob(bits, part, train_takes, train_fit, seed, entropy_guided, progress, rqvae_training, family,
                 checkpoint_dir, checkpoint_every, resume)
    fitted = _fit_deterministically(TRAINERS[family].fit, job)
    # A resumed run's time includes the steps its checkpoint was written after.
    seconds = time.perf_counter() - t0 + fitted.fitting.get("seconds_before_resume", 0.0)
    manifest = {
        "format": 1, "name": name, "kind": "codec", "family": family, "part": part, **fitted.shape, "fps": CODEC_FPS,
        "input": input_description(part, fitted.normalisation),
        "training": _training_block(data_dirs, split, train, held, fitted, entropy_guided, seconds),
        "seed": seed,
        "command": command_line(family, bits, part, data_dirs, out, seed, entropy_guided),
        "notes": fitted.notes,
    }
    manifest.setdefault("frames_per_latent", 1)
    manifest["bits_per_frame"] = bits_per_frame(manifest)
    manifest["bits_per_second"] = bits_per_second(manifest)
    codec = codec_from_arrays(manifest, fitted.tensors)
    progress("  evaluating")
    manifest["evaluation"] = manifest_evaluation(codec, train, held)
    bundle = write_bundle(Path(out), manifest, fitted.tensors)
    held_out = manifest["evaluation"]["held_out"]
    # An RQ-VAE's whole tokens cover a sliver of D^Q: its codebooks' usage is the figure to see.
    levels = [layer["usage_percent"] for layer in held_out.get("per_layer", [])]
    usage = (f"code usage per level {'/'.join(f'{u:.0f}' for u in levels)}%" if levels
             else f"code usage {held_out.get('usage_percent')}%")
    progress(f"{name}-{part}: held-out RMSE {held_out.get('rmse_cm')} cm, train {manifest['evaluation']['train']['rmse_cm']} "
             f"cm, {usage}, perplexity {held_out.get('perplexity')}; {seconds:.0f} s -> {out}")
    return bundle
