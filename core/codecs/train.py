"""Training the codecs into bundles: `train_codec(family, bits, part, data_dirs, out)`.

    python -m motion_tokens.core.codecs.train --family {kmeans,rqvae} --bits {6,9,10,12}
        --part {body,hands} --data DIR... --out models/NAME-PART [--seed 0] [--entropy-guided]

Data: the motion files under the folders (dataset.py), split by the fixed `split.json`; the
codec is fitted on the training takes only and evaluated on the held-out ones. Hands are
augmented with left/right mirrored copies of the training takes (never of held-out frames).

k-means: MiniBatchKMeans on the training frames. Features are centred and divided by ONE
pooled standard deviation (the root mean square of the per-dimension ones), not per
dimension: k-means clusters by Euclidean distance in that space, and per-dimension scaling
would give a joint that hardly moves (spine2, still in every Bandai take) as much weight as
the hips and knees; measured on the held-out body split it raised the RMSE by about 10% at
every k. The mean and std arrays (per dimension, all std entries equal) go in the bundle.
Where there are fewer than 2 training vectors per code (hands at k = 4096: 2,858 frames,
mirrored ones included), the training takes are resampled to 90 fps by slerp first, so the
codebook is fitted on in-between poses too: more distinct vectors than codes, but many codes
are near-duplicates and say nothing the data did not; the manifest says so.

RQ-VAE (rqvae.py): per-dimension normalisation; random windows of the training takes; loss =
MSE of the normalised features + FK_WEIGHT x mean squared joint-position error in cm^2 (the
`part_positions` points) + COMMIT_WEIGHT x commitment (+ ENTROPY_WEIGHT x the entropy loss
when entropy-guided); AdamW with a cosine learning-rate schedule; a fixed number of steps
(not a time limit) so that a seed gives the same bundle.

Evaluation (in the manifest): the position RMSE in cm of the part's `part_positions` points
(features.py: body joints 1-21 plus jaw and middle-finger bases, pelvis-relative; hands:
finger joints and tips, wrist-relative) on the held-out takes and, beside it, on the training
takes (in-sample: the quantisation error alone); code usage (% of codes used on the held-out
frames) and perplexity (exp of the entropy of the held-out token distribution), for k-means
over its k codes and for RQ-VAE per layer and over whole (T, Q) token tuples.

Determinism: torch.manual_seed, numpy Generator(seed), sklearn random_state=seed and
torch.use_deterministic_algorithms during training; the same seed and thread count give the
same weights.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MotionTokensError
from ..parts import get_part
from ..skeleton import SMPLX_JOINT_NAMES
from .bundle import Bundle, bits_per_frame, write_bundle
from .dataset import (
    PartDataset, Split, load_split, part_dataset, read_takes, split_takes, with_mirrored_hands,
)
from .features import (
    CODEC_FPS, Normalisation, num_features, part_positions,
)
from .kmeans import fit_kmeans, nearest_centroid
from .base import Codec, ResidualCodec
from .kmeans import KMeansCodec
from .registry import OFFERED_BITS, codec_from_arrays, codec_name

#: k-means fitting: below this many training vectors per code, fit on takes resampled to 90 fps.
MIN_VECTORS_PER_CODE = 2
UPSAMPLED_FPS = 90.0


@dataclass(frozen=True)
class RQVAETraining:
    """Optimisation settings of an RQ-VAE (saved in the manifest)."""

    steps: int
    batch: int = 32
    window: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup: int = 50
    fk_weight: float = 0.05
    commit_weight: float = 0.25
    entropy_weight: float = 0.1


#: Steps per part, sized so that all 16 bundles train in well under an hour on 2 CPU cores:
#: measured 37 minutes for the 16 (k-means 6, RQ-VAE 31) on 2 cores shared with other jobs,
#: an RQ-VAE taking 190-250 s (body) and 130 s (hands) when it has the cores to itself.
RQVAE_TRAINING = {"body": RQVAETraining(steps=3000), "hands": RQVAETraining(steps=1500)}


def _command(family, bits, part, data_dirs, out, seed, entropy_guided) -> str:
    args = ["python", "-m", "motion_tokens", "train-codec", "--family", family, "--bits", str(bits), "--part", part,
            "--data", *map(str, data_dirs), "--out", str(out), "--seed", str(seed)]
    if entropy_guided:
        args.append("--entropy-guided")
    return shlex.join(args)


def _usage_figures(tokens: np.ndarray, codes: int) -> dict:
    """Usage (% of `codes` used) and perplexity of (N,) tokens."""
    counts = np.bincount(tokens, minlength=codes).astype(np.float64)
    p = counts / max(counts.sum(), 1.0)
    nz = p[p > 0]
    return {"usage_percent": round(100.0 * np.count_nonzero(counts) / codes, 2),
            "perplexity": round(float(np.exp(-(nz * np.log(nz)).sum())), 2)}


def evaluate_codec(codec: Codec, data: PartDataset) -> dict:
    """Position RMSE (cm), per source too, code usage and perplexity of `codec` on `data`."""
    if data.num_takes == 0:
        return {"frames": 0}
    sq_sum, count = 0.0, 0
    per_source: dict[str, list[float]] = {}
    all_tokens = []
    for source, f in zip(data.sources, data.arrays):
        tokens = codec.encode(f)
        all_tokens.append(tokens)
        d = part_positions(f, codec.part) - part_positions(codec.decode(tokens), codec.part)
        s, n = float(np.sum(d * d)), d.shape[0] * d.shape[1]
        sq_sum += s
        count += n
        acc = per_source.setdefault(source, [0.0, 0])
        acc[0] += s
        acc[1] += n
    tokens = np.concatenate(all_tokens)
    out = {
        "frames": data.num_frames,
        "rmse_cm": round(math.sqrt(sq_sum / count) * 100.0, 3),
        "rmse_cm_by_source": {k: round(math.sqrt(s / n) * 100.0, 3) for k, (s, n) in sorted(per_source.items())},
    }
    # A frame's codes, one per codebook, read as one symbol of codebook_size ** codebooks.
    size, layers = codec.codebook_size, tokens.reshape(len(tokens), codec.codebooks)
    out.update(_usage_figures(np.ravel_multi_index(tuple(layers.T), (size,) * codec.codebooks), size**codec.codebooks))
    if codec.codebooks > 1:
        out["per_layer"] = [_usage_figures(layers[:, q], size) for q in range(codec.codebooks)]
    return out


def _input_description(part: str, normalisation: str) -> dict:
    spec = get_part(part)
    joints = spec.joints
    points = spec.points + tuple(f"tip beyond {SMPLX_JOINT_NAMES[j]}" for j in spec.tips_from)
    return {
        "joints": list(joints),
        "joint_names": [SMPLX_JOINT_NAMES[j] for j in joints],
        "rotation": "axis-angle (radians) local rotations, x y z per joint in the order of `joints`",
        "features": num_features(part),
        "normalisation": normalisation,
        "not_coded": "root orientation (joint 0) and root translation are carried through unchanged as side "
        "information (the global trajectory); bits per frame count the pose only",
        "error_points": [SMPLX_JOINT_NAMES[p] if isinstance(p, int) else p for p in points],
    }


def _data_notes(part: str, fit_fps: float, train_vectors: int, k_or_codes: int) -> list[str]:
    notes = []
    if part == "hands":
        notes.append(
            "Hands data is tiny: BEAT2 alone (one take of one speaker, 1,906 frames = 63.5 s), the Bandai BVH "
            "having no fingers. Training saw its first 75% plus the left/right mirror images of it; the held-out "
            "figures are on its last 25% (same speaker and session), so they are optimistic about other "
            "speakers and signing. Retrain when hand poses fitted from sign video and more data arrive."
        )
    else:
        notes.append(
            "Body data: Bandai dataset-1 and dataset-2 (retargeted from BVH; spine2 and the fingers are at rest "
            "in them) and BEAT2 (one speaker); about 22 minutes in all. The Bandai held-out takes are unseen "
            "styles of seen contents; the BEAT2 held-out block is within-take."
        )
    if fit_fps != CODEC_FPS:
        notes.append(
            f"Fewer than {MIN_VECTORS_PER_CODE} training frames per code at 30 fps, so the codebook was fitted "
            f"on the training takes resampled to {fit_fps:g} fps (slerp): {train_vectors} vectors for "
            f"{k_or_codes} codes. Many codes are near-duplicates (in-between poses of the same frames); the "
            "codebook is as large as its name says but holds no more information than the data."
        )
    return notes


def _normalisation_kmeans(vectors: np.ndarray) -> Normalisation:
    per_dim = Normalisation.fit(vectors)
    pooled = float(np.sqrt(np.mean(np.square(per_dim.std.astype(np.float64)))))
    return Normalisation(per_dim.mean, np.full_like(per_dim.std, pooled))


def _fit_kmeans(bits, part, train_takes, train, seed, progress):
    k = KMeansCodec.BITRATES[bits]["k"]
    fit_fps, fit_data = CODEC_FPS, train
    if train.num_frames < MIN_VECTORS_PER_CODE * k:
        fit_fps = UPSAMPLED_FPS
        fit_data = part_dataset(train_takes, part, fps=UPSAMPLED_FPS)
        if part == "hands":
            fit_data = with_mirrored_hands(fit_data)
        progress(f"  {train.num_frames} training frames for {k} codes: fitting on the takes at {fit_fps:g} fps "
                 f"({fit_data.num_frames} vectors)")
    vectors = fit_data.vectors()
    if len(vectors) < k:
        raise MotionTokensError(
            f"too little {part} data for k-means with k={k}: {len(vectors)} training vectors even at "
            f"{fit_fps:g} fps; give more motion files with {part} motion"
        )
    norm = _normalisation_kmeans(vectors)
    centroids = fit_kmeans(norm.normalise(vectors), k, seed=seed)
    usage = np.bincount(nearest_centroid(norm.normalise(train.vectors()), centroids), minlength=k)
    tensors = {"centroids": centroids, "mean": norm.mean, "std": norm.std,
               "usage": (usage / usage.sum()).astype(np.float32)}
    manifest = {"k": k}
    fitting = {"method": "scikit-learn MiniBatchKMeans, k-means++ initialisation", "fit_fps": fit_fps,
               "train_vectors": int(len(vectors))}
    normalisation = ("centred per dimension (`mean`), divided by one pooled standard deviation (`std`, all "
                     "entries equal: the RMS of the per-dimension ones) so Euclidean distances weigh joints as "
                     "the axis-angle does; `usage` = frequency of each code on the training frames")
    return manifest, tensors, fitting, normalisation, _data_notes(part, fit_fps, len(vectors), k)


def _window_sampler(arrays, targets, window: int, rng: np.random.Generator):
    """Draws (batch, window) index blocks from the concatenated takes; short takes repeat
    their last frame (masked out of the loss)."""
    lengths = np.array([len(a) for a in arrays])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    data = np.concatenate(arrays).astype(np.float32)
    target = np.concatenate(targets).astype(np.float32)
    p = lengths / lengths.sum()

    def sample(batch: int):
        take = rng.choice(len(arrays), size=batch, p=p)
        offset = (rng.random(batch) * np.maximum(lengths[take] - window + 1, 1)).astype(np.int64)
        steps = np.arange(window)
        mask = steps[None, :] < (lengths[take] - offset)[:, None]
        idx = starts[take, None] + np.minimum(offset[:, None] + steps[None, :], lengths[take, None] - 1)
        return data[idx], target[idx], mask.astype(np.float32)

    return sample


def _train_rqvae(bits, part, train, seed, entropy_guided, progress, settings: RQVAETraining):
    import torch

    from ..nn.kinematics import PartPositions
    from .rqvae import RQVAE, RQVAEConfig

    D, Q = (ResidualCodec.BITRATES[bits][key] for key in ResidualCodec.SIZE_FIELDS)
    config = RQVAEConfig(part=part, D=D, Q=Q, entropy_guided=entropy_guided)
    norm = Normalisation.fit(train.vectors())
    arrays = [norm.normalise(a) for a in train.arrays]
    targets = [part_positions(a, part) * 100.0 for a in train.arrays]  # cm
    rng = np.random.default_rng(seed)
    sample = _window_sampler(arrays, targets, settings.window, rng)
    torch.manual_seed(seed)
    model = RQVAE(config)
    fk = PartPositions(part)
    mean, std = torch.from_numpy(norm.mean), torch.from_numpy(norm.std)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)

    def lr_at(step):
        warm = min(1.0, (step + 1) / settings.warmup)
        return settings.lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / settings.steps))

    model.train()
    start, log_every = time.perf_counter(), max(1, settings.steps // 10)
    running = np.zeros(4)
    for step in range(settings.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        x, target, mask = (torch.from_numpy(a) for a in sample(settings.batch))
        out = model(x)
        m = mask[..., None]
        rec = ((out.recon - x) ** 2 * m).sum() / (m.sum() * x.shape[-1])
        pos = fk(out.recon * std + mean) * 100.0
        fk_loss = (((pos - target) ** 2).sum(-1) * mask[..., None]).sum() / (mask.sum() * pos.shape[-2])
        loss = rec + settings.fk_weight * fk_loss + settings.commit_weight * out.commit_loss
        if entropy_guided:
            loss = loss + settings.entropy_weight * out.entropy_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running += [rec.item(), math.sqrt(fk_loss.item()), out.commit_loss.item(), out.entropy_loss.item()]
        if (step + 1) % log_every == 0 or step + 1 == settings.steps:
            r = running / ((step % log_every) + 1)
            running[:] = 0
            progress(f"  step {step + 1}/{settings.steps}: feature mse {r[0]:.4f}, position rms {r[1]:.2f} cm, "
                     f"commit {r[2]:.4f}" + (f", entropy {r[3]:.4f}" if entropy_guided else "")
                     + f" ({time.perf_counter() - start:.0f} s)")
    model.eval()
    tensors = {f"model.{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    with torch.no_grad():
        tokens = np.concatenate([model.tokens(torch.from_numpy(a)[None])[0].numpy() for a in arrays])
    usage = np.stack([np.bincount(tokens[:, q], minlength=D) for q in range(Q)]).astype(np.float64)
    tensors.update(mean=norm.mean, std=norm.std, usage=(usage / usage.sum(axis=1, keepdims=True)).astype(np.float32))
    manifest = {"D": D, "Q": Q, "model_config": config.to_dict()}
    fitting = {"method": "RQ-VAE (core/codecs/rqvae.py), vector-quantize-pytorch ResidualVQ", "fit_fps": CODEC_FPS,
               "train_vectors": train.num_frames, "optimisation": settings.__dict__ | {"optimizer": "AdamW, cosine schedule"},
               "parameters": int(sum(p.numel() for p in model.parameters()))}
    normalisation = ("per dimension: (x - mean) / std with the training split's mean and standard deviation "
                     "(`mean`, `std`; std at least 1e-3); `usage` = frequency of each code per layer on the "
                     "training frames" + ("; `model.usage_ema` = the entropy-guided EMA of soft code usage"
                                          if entropy_guided else ""))
    return manifest, tensors, fitting, normalisation, _data_notes(part, CODEC_FPS, train.num_frames, D)


def train_codec(family: str, bits: int, part: str, data_dirs, out, seed: int = 0, entropy_guided: bool = False,
                progress=print, split: Split | None = None, rqvae_training: RQVAETraining | None = None) -> Bundle:
    """Train codec `family-bits` for `part` on the motion under `data_dirs`; write it to `out`.

    split: the held-out split (default: split.json). rqvae_training: optimisation settings
    (default RQVAE_TRAINING[part]). Returns the written, verified Bundle.
    """
    import torch

    name = codec_name(family, bits)
    get_part(part)
    if entropy_guided and family != "rqvae":
        raise ValueError("entropy-guided training is an option of the RQ-VAE codebooks, not of k-means")
    t0 = time.perf_counter()
    split = load_split() if split is None else split
    progress(f"{name}-{part}: reading {', '.join(map(str, data_dirs))}")
    train_takes, held_takes = split_takes(read_takes(data_dirs), split)
    train, held = part_dataset(train_takes, part), part_dataset(held_takes, part)
    if train.num_takes == 0:
        raise MotionTokensError(f"no training takes with {part} motion under {', '.join(map(str, data_dirs))}")
    train_fit = with_mirrored_hands(train) if part == "hands" else train
    progress(f"  training: {train.num_takes} takes, {train.num_frames} frames"
             + (f" (+ mirrored: {train_fit.num_frames})" if part == "hands" else "")
             + f"; held out: {held.num_takes} takes, {held.num_frames} frames")
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        if family == "kmeans":
            fitted = _fit_kmeans(bits, part, train_takes, train_fit, seed, progress)
        else:
            settings = rqvae_training or RQVAE_TRAINING[part]
            fitted = _train_rqvae(bits, part, train_fit, seed, entropy_guided, progress, settings)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    shape, tensors, fitting, normalisation, notes = fitted
    seconds = time.perf_counter() - t0
    manifest = {
        "format": 1, "name": name, "kind": "codec", "family": family, "part": part, **shape, "fps": CODEC_FPS,
        "input": _input_description(part, normalisation),
        "training": {
            "data": [str(d) for d in data_dirs],
            "split": split.describe(),
            "train": train.summary(),
            "held_out": held.summary(),
            "takes_without_this_part": len(train.skipped) + len(held.skipped),
            "mirrored_hands": part == "hands",
            **fitting,
            "entropy_guided": entropy_guided,
            "seconds": round(seconds, 1),
            "threads": torch.get_num_threads(),
        },
        "seed": seed,
        "command": _command(family, bits, part, data_dirs, out, seed, entropy_guided),
        "notes": notes,
    }
    manifest["bits_per_frame"] = bits_per_frame(manifest)
    codec = codec_from_arrays(manifest, tensors)
    progress("  evaluating")
    manifest["evaluation"] = {
        "points": "RMSE of the error_points positions (cm), part alone (rest elsewhere, root at the origin)",
        "held_out": evaluate_codec(codec, held),
        "train": evaluate_codec(codec, train),
    }
    bundle = write_bundle(out, manifest, tensors)
    ev = manifest["evaluation"]
    progress(f"{name}-{part}: held-out RMSE {ev['held_out'].get('rmse_cm')} cm, train {ev['train']['rmse_cm']} cm, "
             f"usage {ev['held_out'].get('usage_percent')}%, perplexity {ev['held_out'].get('perplexity')}; "
             f"{seconds:.0f} s -> {out}")
    return bundle


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motion_tokens.core.codecs.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=("kmeans", "rqvae"), required=True)
    parser.add_argument("--bits", type=int, choices=OFFERED_BITS, required=True)
    parser.add_argument("--part", choices=("body", "hands"), required=True)
    parser.add_argument("--data", nargs="+", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--entropy-guided", action="store_true")
    args = parser.parse_args(argv)
    try:
        train_codec(args.family, args.bits, args.part, args.data, args.out, seed=args.seed,
                    entropy_guided=args.entropy_guided, progress=lambda s: print(s, flush=True))
    except MotionTokensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
