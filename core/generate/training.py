"""Training a generator (torch): the token prior on every token stream, then the speech
conditioning on the paired takes, data-parallel under torchrun.

    result = train_generator("kmeans-10", data_dirs, seed=0, steps=1500)

1. Token streams: every motion file coded by the codec's bundles (data.py), split by the
   codecs' split; the inverse-usage code weights from the training tokens (objectives.py).
2. Prior: `steps` steps on windows of every training take with the audio absent (the learned
   `no_audio` embedding), masked-token objective with random replacement.
3. Speech: `audio_steps` steps on windows of the paired training takes (BEAT2: 47.6 s), each
   batch half with speech and half prior windows without, so one minute of speech cannot make
   the model forget the prior; the speech MLP at the full learning rate with weight decay 0.05
   and 30% dropout of its input features, the rest at a tenth of it.
4. Held-out figures (objectives.held_out_figures) on the paired held-out block.

Ablations (`ABLATIONS`, for bench/speech_ablations.py and the speech report): "no-cross-attention"
trains the same network without the part cross-attention; "shared-codebook" models one token
stream, the codec's `whole` bundle (core.parts: body, hands and face in one codebook), instead
of one per part.

Deterministic for a seed on the CPU (torch's deterministic algorithms, numpy Generators seeded
by (seed, rank, stage)). On a GPU when torch sees one. Under `torchrun --nproc_per_node N`
(WORLD_SIZE > 1) each process samples its own windows and DistributedDataParallel averages the
gradients (gloo on the CPU, nccl on GPUs); rank 0 evaluates and writes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..codecs.registry import codec_folder, load_codec
from .config import ABLATIONS, GeneratorConfig
from .data import data_summary, read_token_takes, split_token_takes
from .model import GestureTransformer, state_arrays
from .objectives import WindowSampler, code_weights, corrupt, held_out_figures, weighted_loss


@dataclass(frozen=True)
class TrainSettings:
    """steps, audio_steps: prior and speech steps; batch: windows per step (per process);
    lr; replace: the share of visible input tokens replaced by random codes (0.1: at 300 + 100
    steps on the shared data, 0.1 gave held-out infilling cross-entropy 4.66 nats for the body
    against 5.12 with the issue's 0.4, and all-masked 5.59 against 5.83); audio_dropout:
    of the speech features, during the speech stage; d_model, layers: the network's size."""

    steps: int = 1500
    audio_steps: int = 500
    batch: int = 16
    lr: float = 1e-3
    replace: float = 0.1
    audio_dropout: float = 0.3
    d_model: int = 128
    layers: int = 2
    ablation: str | None = None  # None, or one of ABLATIONS



@dataclass
class Trained:
    config: GeneratorConfig
    arrays: dict
    codecs: dict  # part -> {"name", "family", "sha256"}
    token_fps: float
    data: dict
    training: dict
    evaluation: dict


def _distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); joins the process group torchrun set up, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if cuda else "cpu")
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if cuda else "gloo")
    return rank, world, device


def _codecs(codec: str, models_dir, ablation: str | None = None) -> dict:
    from ..parts import PARTS

    parts = ("whole",) if ablation == "shared-codebook" else PARTS
    found = {p: codec_folder(codec, p, models_dir) for p in parts}
    return {p: load_codec(f) for p, f in found.items() if f.is_dir()}


def _torch_batch(batch, inputs, device):
    tok = {p: torch.from_numpy(v).to(device) for p, v in inputs.items()}
    return tok, torch.from_numpy(batch.audio).to(device), torch.from_numpy(batch.has_audio).to(device)


def _optimise(model, stage, samplers, steps, optimiser, settings, cfg, weights, rng, device, progress):
    """`steps` steps of the samplers' windows (concatenated per step); the last losses."""
    losses = []
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + np.cos(np.pi * min(s / max(steps, 1), 1.0))))
    for step in range(steps):
        parts = [s.sample(n) for s, n in samplers]
        batch = parts[0] if len(parts) == 1 else _concat(parts)
        if stage == "speech":  # feature dropout: the speech MLP must not lean on any one band
            keep = rng.random(batch.audio.shape) >= settings.audio_dropout
            batch.audio = np.where(keep, batch.audio, 0.0).astype(np.float32)
        inputs, loss_at = corrupt(batch, cfg, rng, settings.replace)
        select = {p: torch.from_numpy(v).to(device) for p, v in loss_at.items()}
        logits = model(*_torch_batch(batch, inputs, device), select)
        loss = weighted_loss(logits, {p: torch.from_numpy(v).to(device) for p, v in batch.tokens.items()},
                             select, weights)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        losses.append(loss.item())
        if progress is not None and (step % 50 == 0 or step == steps - 1):
            progress(f"{stage} step {step + 1}/{steps}: loss {np.mean(losses[-50:]):.3f}")
    return losses


def _concat(batches):
    from .objectives import Batch

    return Batch({p: np.concatenate([b.tokens[p] for b in batches]) for p in batches[0].tokens},
                 {p: np.concatenate([b.present[p] for b in batches]) for p in batches[0].present},
                 np.concatenate([b.audio for b in batches]), np.concatenate([b.has_audio for b in batches]))


def _fit(cfg: GeneratorConfig, train, settings: TrainSettings, seed: int, where, say):
    """The two stages (module docstring) on this process's share; (model, prior losses, speech losses)."""
    rank, world, device = where
    torch.manual_seed(seed)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        model = GestureTransformer(cfg).to(device)
        paired_audio = np.concatenate([t.audio for t in train if t.audio is not None])
        model.audio_mean.copy_(torch.from_numpy(paired_audio.mean(0)))
        model.audio_std.copy_(torch.from_numpy(np.maximum(paired_audio.std(0), 1e-3)))
        net = model
        if world > 1:
            net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=not (cfg.cross_attention and len(cfg.parts) > 1))
        weights = {p: torch.from_numpy(w).to(device) for p, w in code_weights(train, cfg).items()}
        rng = np.random.default_rng([seed, rank, 0])
        prior = WindowSampler(train, cfg, cfg.window, rng, with_audio=False)
        speech = WindowSampler(train, cfg, cfg.window, rng, with_audio=True)
        optimiser = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.01)
        pre = _optimise(net, "prior", [(prior, settings.batch)], settings.steps, optimiser, settings, cfg,
                        weights, rng, device, say)
        audio_params = list(model.audio.parameters())
        ids = {id(q) for q in audio_params}
        optimiser = torch.optim.AdamW([
            {"params": audio_params, "lr": settings.lr, "weight_decay": 0.05},
            {"params": [q for q in model.parameters() if id(q) not in ids], "lr": settings.lr / 10,
             "weight_decay": 0.01}])
        half = settings.batch // 2
        fine = _optimise(net, "speech", [(speech, settings.batch - half), (prior, half)], settings.audio_steps,
                         optimiser, settings, cfg, weights, np.random.default_rng([seed, rank, 1]), device, say)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    return model, pre, fine


def train_generator(codec: str, data_dirs, seed: int = 0, settings: TrainSettings = TrainSettings(),
                    models_dir=None, progress=None) -> Trained | None:
    """Train the generator of codec `codec` (module docstring); the result on rank 0, None on
    the other ranks. Raises MotionTokensError for missing codecs or data without speech."""
    from ..audio import AudioFilters
    from ..errors import MotionTokensError

    rank, world, device = _distributed()
    say = progress if rank == 0 else None
    if settings.ablation not in (None, *ABLATIONS):
        raise MotionTokensError(f"unknown ablation {settings.ablation!r}; the ablations are {', '.join(ABLATIONS)}")
    codecs = _codecs(codec, models_dir, settings.ablation)
    if not codecs:
        part = "whole" if settings.ablation == "shared-codebook" else "PART"
        raise MotionTokensError(f"no codec bundle named {codec!r} is installed (models/{codec}-{part})")
    fpl = {int(getattr(c, "frames_per_latent", 1)) for c in codecs.values()}
    if len(fpl) != 1:
        raise MotionTokensError(f"the {codec} bundles code at different token rates ({sorted(fpl)} frames per token)")
    fpl = fpl.pop()
    filters = AudioFilters.default()
    started = time.time()
    takes = read_token_takes(data_dirs, codecs, filters, fpl, say)
    train, held = split_token_takes(takes, fpl)
    if not any(t.audio is not None for t in train):
        raise MotionTokensError("none of the data folders holds speech paired with motion (take.npz beside "
                                "take.wav, or smplxflame_30/ beside wave16k/): the speech stage has nothing to learn from")
    parts = tuple(codecs)
    cfg = GeneratorConfig(parts=parts, vocab=tuple(codecs[p].codebook_size for p in parts),
                          levels=tuple(codecs[p].codebooks for p in parts), audio_dims=filters.num_channels,
                          d_model=settings.d_model, layers=settings.layers, ff=2 * settings.d_model,
                          audio_frames_per_token=fpl, cross_attention=settings.ablation != "no-cross-attention")
    model, pre, fine = _fit(cfg, train, settings, seed, (rank, world, device), say)
    if rank != 0:
        return None
    model = model.cpu()
    evaluation = held_out_figures(model, held, cfg, train, cfg.window)
    seconds = time.time() - started
    training = {"seconds": round(seconds, 1), "processes": world, "device": str(device), "seed": seed,
                "settings": settings.__dict__, "prior_loss_last_50": round(float(np.mean(pre[-50:])), 4),
                "speech_loss_last_50": round(float(np.mean(fine[-50:])), 4) if fine else None,
                "code_weights": f"1/p with add-one smoothing, token-mean 1, clipped at 10 (objectives.py)"}
    entries = {p: {"name": f"{codec}-{p}", "family": c.family, "sha256": c.bundle.weights_sha256}
               for p, c in codecs.items()}
    token_fps = 30.0 / fpl
    return Trained(cfg, state_arrays(model), entries, token_fps,
                   {"train": data_summary(train), "held_out": data_summary(held)}, training, evaluation)
