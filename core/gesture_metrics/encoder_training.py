"""Training the motion feature encoder (encoder.py) with torch: a reconstruction
autoencoder over 32-frame windows of 6D rotations, deterministic for a seed.

Data: the training takes of the codec split (core/codecs/split.json: whole held-out takes
and BEAT2's last 25% never seen): Bandai body takes (their hands sit at rest: Bandai has no
fingers) windowed every BANDAI_STRIDE frames, and the BEAT2 training part (speech gestures
with fingers, the motion FGD is about) every SPEECH_STRIDE frames, so that the minute of
speech is not drowned by 20 minutes of Bandai actions. Loss: mean squared error of the
normalised window plus the same of its frame-to-frame differences (so the latent keeps
timing, not only poses). Adam, fixed epochs, batches drawn by a numpy generator of the seed;
torch runs single-threaded with deterministic algorithms, so a seed gives the same weights.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from ..errors import MotionTokensError
from .encoder import LAYERS, NUM_INPUTS, WINDOW, windows

HIDDEN = 64
LATENT = 32
EPOCHS = 40
BATCH = 64
LEARNING_RATE = 1e-3
BANDAI_STRIDE = 8
SPEECH_STRIDE = 2
_MIN_STD = 1e-2


def build_autoencoder(hidden: int = HIDDEN, latent: int = LATENT):
    """(encoder, decoder) torch modules; the encoder's layers are named as LAYERS says."""
    import torch
    from torch import nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            widths = (NUM_INPUTS, hidden, hidden, latent)
            for i, (name, k, stride, padding, _act) in enumerate(LAYERS):
                setattr(self, name, nn.Conv1d(widths[i], widths[i + 1], k, stride, padding))

        def forward(self, x):  # (N, F, W) -> (N, L, W // 4)
            for name, _k, _s, _p, act in LAYERS:
                x = getattr(self, name)(x)
                x = torch.nn.functional.leaky_relu(x, 0.2) if act else x
            return x

    decoder = nn.Sequential(
        nn.ConvTranspose1d(latent, hidden, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.ConvTranspose1d(hidden, hidden, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv1d(hidden, NUM_INPUTS, 3, 1, 1),
    )
    return Encoder(), decoder


def training_windows(arrays, strides) -> np.ndarray:
    """(N, WINDOW, F) float32 windows of the (T_i, F) arrays, each cut every strides[i] frames."""
    cut = [windows(a, WINDOW, s) for a, s in zip(arrays, strides)]
    cut = [w for w in cut if len(w)]
    if not cut:
        raise MotionTokensError(f"no take is {WINDOW} frames long: nothing to train the motion encoder on")
    return np.concatenate(cut, axis=0).astype(np.float32)


def normalisation(arrays) -> tuple[np.ndarray, np.ndarray]:
    """Per-value (mean, std) float32 over all frames; std floored at 0.01 (values that never
    move, e.g. Bandai's resting fingers, must not blow up)."""
    frames = np.concatenate(arrays, axis=0).astype(np.float64)
    return frames.mean(axis=0).astype(np.float32), np.maximum(frames.std(axis=0), _MIN_STD).astype(np.float32)


def _loss(recon, x):
    import torch

    d_recon, d_x = recon[..., 1:] - recon[..., :-1], x[..., 1:] - x[..., :-1]
    return torch.mean((recon - x) ** 2) + torch.mean((d_recon - d_x) ** 2)


def train_encoder(arrays, strides, seed: int = 0, epochs: int = EPOCHS,
                  progress: Callable[[str], None] | None = None, held_out=()) -> tuple[dict[str, np.ndarray], dict]:
    """Fit the autoencoder on (T_i, F) encoder-input arrays; (the encoder's tensors for the
    bundle, a training log: windows, epochs, final loss, the loss on `held_out` arrays'
    non-overlapping windows (None without any), seconds)."""
    import torch

    started = time.perf_counter()
    mean, std = normalisation(arrays)
    data = (training_windows(arrays, strides) - mean) / std  # (N, W, F)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        torch.manual_seed(seed)
        encoder, decoder = build_autoencoder()
        params = list(encoder.parameters()) + list(decoder.parameters())
        optimiser = torch.optim.Adam(params, lr=LEARNING_RATE)
        rng = np.random.default_rng(seed)
        x_all = torch.from_numpy(np.ascontiguousarray(data.transpose(0, 2, 1)))
        loss_value = float("nan")
        for epoch in range(epochs):
            order = rng.permutation(len(data))
            total = 0.0
            for start in range(0, len(order), BATCH):
                x = x_all[torch.from_numpy(order[start : start + BATCH])]
                loss = _loss(decoder(encoder(x)), x)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * len(x)
            loss_value = total / len(data)
            if progress is not None:
                progress(f"epoch {epoch + 1}/{epochs}: loss {loss_value:.4f}")
        held_loss = _held_out(encoder, decoder, held_out, mean, std)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)
    tensors = {k: v.detach().numpy().astype(np.float32) for k, v in encoder.state_dict().items()}
    tensors.update(mean=mean, std=std)
    log = {"windows": int(len(data)), "epochs": epochs, "batch": BATCH, "learning_rate": LEARNING_RATE,
           "final_loss": round(loss_value, 5), "held_out_loss": held_loss, "seconds": round(time.perf_counter() - started, 1)}
    return tensors, log


def _held_out(encoder, decoder, arrays, mean, std) -> float | None:
    import torch

    cut = [windows(a, WINDOW, WINDOW) for a in arrays]
    cut = [w for w in cut if len(w)]
    if not cut:
        return None
    x = torch.from_numpy(np.ascontiguousarray(((np.concatenate(cut) - mean) / std).transpose(0, 2, 1)))
    with torch.no_grad():
        return round(float(_loss(decoder(encoder(x)), x)), 5)


def torch_encode(tensors: dict[str, np.ndarray], batch) -> np.ndarray:
    """The torch encoder with `tensors` loaded, on (N, WINDOW, F) raw frames -> (N, W/4, L):
    the reference the numpy path is tested against."""
    import torch

    hidden, latent = tensors["conv1.weight"].shape[0], tensors["conv3.weight"].shape[0]
    encoder, _ = build_autoencoder(hidden, latent)
    encoder.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items() if k.startswith("conv")})
    x = (np.asarray(batch, np.float32) - tensors["mean"]) / tensors["std"]
    with torch.no_grad():
        out = encoder(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 2, 1))))
    return out.numpy().transpose(0, 2, 1)
