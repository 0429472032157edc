"""Sampling tokens from logits, and the masked (MaskGIT-style) decoding of one batch of windows.

The same numpy code samples from the torch model's logits and from the numpy model's, so the
two paths give the same tokens for the same seed wherever their logits agree (the test).

Sampling a level's token from logits l (K,): temperature 0 takes argmax(l); otherwise
p = softmax(l / temperature) over the top_k largest logits (all when top_k = 0), and the token
is the number of codes whose cumulative probability is <= u * sum(p) (so a code of probability
0 is never drawn), u ~ U[0, 1) from the window's own numpy Generator. Every step draws u for
every frame of the window, masked or not, so the random stream does not depend on which frames
were masked, and each window has its own Generator (seeded by (seed, window index)), so the
tokens do not depend on how windows are batched.

Masked decoding of a window (Chang et al., MaskGIT, 2022): the unknown frames of each part
start as MASK; each of S steps predicts every unknown frame at once, samples its tokens, and
keeps all but the n_s least confident (confidence = the sampled tokens' summed log
probability over levels), n_s = floor(N * cos(pi/2 * (s+1)/S)) of the N frames that were
unknown at the start; after the last step none are masked. Known frames (pins, neighbouring
windows' overlap) are never changed.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

#: forward(tokens part -> (B, T, Q), audio (B, T, C), has_audio (B,)) -> logits part -> (B, T, Q, K).
Forward = Callable[[dict, np.ndarray, np.ndarray], dict]


def sample_tokens(logits: np.ndarray, u: np.ndarray, temperature: float, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) logits and (N,) uniforms -> (tokens (N,) int64, their log probabilities (N,) float32)."""
    logits = np.asarray(logits, dtype=np.float32)
    K = logits.shape[-1]
    if 0 < top_k < K:
        kth = np.partition(logits, K - top_k, axis=-1)[:, K - top_k : K - top_k + 1]
        logits = np.where(logits < kth, -np.inf, logits)
    scaled = logits / np.float32(temperature) if temperature != 0 else logits
    shifted = scaled - scaled.max(axis=-1, keepdims=True)
    p = np.exp(shifted)
    total = p.sum(axis=-1, keepdims=True)
    if temperature == 0:
        tokens = np.argmax(logits, axis=-1)
    else:
        cdf = np.cumsum(p, axis=-1)
        tokens = np.minimum((cdf <= u[:, None] * cdf[:, -1:]).sum(axis=-1), K - 1)
    rows = np.arange(len(tokens))
    return tokens.astype(np.int64), shifted[rows, tokens] - np.log(total[:, 0])


def _remask_count(unknown0: np.ndarray, step: int, steps: int) -> np.ndarray:
    """(B,) how many frames stay masked after `step` of `steps`, of `unknown0` at the start."""
    return np.floor(unknown0 * math.cos(math.pi / 2 * (step + 1) / steps)).astype(np.int64)


def masked_decode(forward: Forward, parts, mask_ids, tokens: dict, known: dict, audio: np.ndarray,
                  has_audio: np.ndarray, rngs: list, steps: int, temperature: float, top_k: int) -> dict:
    """Fill the unknown frames of a batch of windows.

    tokens: part -> (B, T, Q) int64 (anything where unknown); known: part -> (B, T) bool;
    audio (B, T, C); has_audio (B,); rngs: B numpy Generators, one per window; mask_ids:
    part -> its MASK token. Returns part -> (B, T, Q) int64 with every frame filled and the
    known frames as given.
    """
    tokens = {p: np.where(known[p][..., None], tokens[p], mask_ids[p]).astype(np.int64) for p in parts}
    unknown = {p: ~known[p] for p in parts}
    unknown0 = {p: unknown[p].sum(axis=1) for p in parts}
    for step in range(steps):
        logits = forward(tokens, audio, has_audio)
        for p in parts:
            B, T, Q = tokens[p].shape
            u = np.stack([g.random((T, Q)) for g in rngs])
            todo = unknown[p]  # sample only the frames still masked: the others are kept anyway
            picked, log_p = sample_tokens(logits[p][todo].reshape(-1, logits[p].shape[-1]), u[todo].reshape(-1),
                                          temperature, top_k)
            sampled = tokens[p].copy()
            sampled[todo] = picked.reshape(-1, Q)
            confidence = np.full((B, T), np.inf, dtype=np.float32)
            confidence[todo] = log_p.reshape(-1, Q).sum(axis=-1)
            # rank of each frame by confidence (stable, so ties resolve the same way every run)
            rank = np.argsort(np.argsort(confidence, axis=1, kind="stable"), axis=1, kind="stable")
            remask = unknown[p] & (rank < _remask_count(unknown0[p], step, steps)[:, None])
            accept = unknown[p] & ~remask
            tokens[p] = np.where(accept[..., None], sampled, tokens[p])
            unknown[p] = remask
    return tokens
