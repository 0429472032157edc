"""Training an RQ-VAE codec (core/codecs/rqvae.py) on a part's training takes.

Per-dimension normalisation; random windows of the training takes; loss = MSE of the
normalised features + fk_weight x mean squared position error in cm^2 of the part's
`part_positions` points (`core.nn.kinematics.PartPositions`, the differentiable copy) +
commit_weight x commitment (+ entropy_weight x the entropy loss when entropy-guided); AdamW with
a cosine learning-rate schedule; a fixed number of steps (not a time limit) so that a seed
gives the same bundle.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..base import ResidualCodec
from ..features import CODEC_FPS, Normalisation, part_positions
from .fitted import FitJob, Fitted, data_notes


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


def _window_sampler(arrays, targets, window: int, rng: np.random.Generator):
    """sample(batch) -> (batch, window, F) features, (batch, window, P, 3) targets and
    (batch, window) mask, drawn from the concatenated takes; short takes repeat their last
    frame (masked out of the loss)."""
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


def _losses(model, fk, norm: Normalisation, batch, settings: RQVAETraining, entropy_guided: bool):
    """(total loss, [feature mse, position rms cm, commitment, entropy]) of one batch."""
    import torch

    x, target, mask = (torch.from_numpy(a) for a in batch)
    out = model(x)
    m = mask[..., None]
    rec = ((out.recon - x) ** 2 * m).sum() / (m.sum() * x.shape[-1])
    pos = fk(out.recon * torch.from_numpy(norm.std) + torch.from_numpy(norm.mean)) * 100.0
    fk_loss = (((pos - target) ** 2).sum(-1) * mask[..., None]).sum() / (mask.sum() * pos.shape[-2])
    loss = rec + settings.fk_weight * fk_loss + settings.commit_weight * out.commit_loss
    if entropy_guided:
        loss = loss + settings.entropy_weight * out.entropy_loss
    return loss, [rec.item(), math.sqrt(fk_loss.item()), out.commit_loss.item(), out.entropy_loss.item()]


def _optimise(model, fk, norm: Normalisation, sample, job: FitJob, settings: RQVAETraining) -> None:
    """settings.steps AdamW steps (linear warm-up, cosine decay), a progress line every tenth."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    model.train()
    start, log_every = time.perf_counter(), max(1, settings.steps // 10)
    running = np.zeros(4)
    for step in range(settings.steps):
        warm = min(1.0, (step + 1) / settings.warmup)
        for g in opt.param_groups:
            g["lr"] = settings.lr * warm * 0.5 * (1.0 + math.cos(math.pi * step / settings.steps))
        loss, figures = _losses(model, fk, norm, sample(settings.batch), settings, job.entropy_guided)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running += figures
        if (step + 1) % log_every == 0 or step + 1 == settings.steps:
            r = running / ((step % log_every) + 1)
            running[:] = 0
            job.progress(f"  step {step + 1}/{settings.steps}: feature mse {r[0]:.4f}, position rms {r[1]:.2f} cm, "
                         f"commit {r[2]:.4f}" + (f", entropy {r[3]:.4f}" if job.entropy_guided else "")
                         + f" ({time.perf_counter() - start:.0f} s)")
    model.eval()


def _tensors(model, norm: Normalisation, arrays, D: int, Q: int) -> dict[str, np.ndarray]:
    """The weights file's arrays: the model's state, the normalisation, and (Q, D) code
    frequencies per layer on the (normalised) training takes."""
    import torch

    tensors = {f"model.{k}": v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    with torch.no_grad():
        tokens = np.concatenate([model.tokens(torch.from_numpy(a)[None])[0].numpy() for a in arrays])
    usage = np.stack([np.bincount(tokens[:, q], minlength=D) for q in range(Q)]).astype(np.float64)
    tensors.update(mean=norm.mean, std=norm.std, usage=(usage / usage.sum(axis=1, keepdims=True)).astype(np.float32))
    return tensors


def train_rqvae_codec(job: FitJob) -> Fitted:
    """An RQ-VAE of D^Q = 2^bits whole tokens for the job's part, trained for the settings'
    steps (job.rqvae, default RQVAE_TRAINING[part])."""
    import torch

    from ...nn.kinematics import PartPositions
    from ..rqvae import RQVAE, RQVAEConfig

    settings = job.rqvae or RQVAE_TRAINING[job.part]
    D, Q = (ResidualCodec.BITRATES[job.bits][key] for key in ResidualCodec.SIZE_FIELDS)
    config = RQVAEConfig(part=job.part, D=D, Q=Q, entropy_guided=job.entropy_guided)
    train = job.data
    norm = Normalisation.fit(train.vectors())
    arrays = [norm.normalise(a) for a in train.arrays]
    targets = [part_positions(a, job.part) * 100.0 for a in train.arrays]  # cm
    sample = _window_sampler(arrays, targets, settings.window, np.random.default_rng(job.seed))
    torch.manual_seed(job.seed)
    model = RQVAE(config)
    _optimise(model, PartPositions(job.part), norm, sample, job, settings)
    fitting = {"method": "RQ-VAE (core/codecs/rqvae.py), vector-quantize-pytorch ResidualVQ", "fit_fps": CODEC_FPS,
               "train_vectors": train.num_frames, "optimisation": settings.__dict__ | {"optimizer": "AdamW, cosine schedule"},
               "parameters": int(sum(p.numel() for p in model.parameters()))}
    normalisation = ("per dimension: (x - mean) / std with the training split's mean and standard deviation "
                     "(`mean`, `std`; std at least 1e-3); `usage` = frequency of each code per layer on the "
                     "training frames" + ("; `model.usage_ema` = the entropy-guided EMA of soft code usage"
                                          if job.entropy_guided else ""))
    return Fitted({"D": D, "Q": Q, "model_config": config.to_dict()}, _tensors(model, norm, arrays, D, Q), fitting,
                  normalisation, data_notes(job.part, CODEC_FPS, train.num_frames, D))
