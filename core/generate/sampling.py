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


def _floor32(x: np.ndarray) -> np.ndarray:
    """The largest float32 <= each float64 of x: for a float32 c, c <= x exactly when
    c <= _floor32(x), so the comparison runs in float32 without changing its answer."""
    down = x.astype(np.float32)
    return np.where(down > x, np.nextafter(down, np.float32(-np.inf)), down)


def sample_tokens(logits: np.ndarray, u: np.ndarray, temperature: float, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) logits and (N,) uniforms -> (tokens (N,) int64, their log probabilities (N,) float32).

    With 0 < top_k < K only the top_k codes of each row are worked on (np.argpartition, then
    those codes in index order, so the cumulative sums are the ones over all K with the rest 0)."""
    logits = np.asarray(logits, dtype=np.float32)
    N, K = logits.shape
    codes = None
    if 0 < top_k < K:
        codes = np.sort(np.argpartition(logits, K - top_k, axis=-1)[:, K - top_k :], axis=-1)
        kept = np.take_along_axis(logits, codes, axis=-1)
        # ties with the k-th largest are kept too, as np.where(logits < kth, -inf, ...) keeps them
        kth = kept.min(axis=-1, keepdims=True)
        if (np.count_nonzero(logits >= kth, axis=-1) > top_k).any():
            return _sample_masked(logits, kth, u, temperature)
        logits = kept
    tokens, log_p = _sample_rows(logits, u, temperature)
    if codes is not None:
        tokens = codes[np.arange(N), tokens]
    return tokens, log_p


def _sample_masked(logits: np.ndarray, kth: np.ndarray, u: np.ndarray, temperature: float):
    """The top-k sampling over all K codes, the codes under each row's kth set to -inf."""
    return _sample_rows(np.where(logits < kth, np.float32(-np.inf), logits), u, temperature)


def _sample_rows(logits: np.ndarray, u: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-CDF sampling of each row (module docstring): (tokens (N,) int64, log p (N,))."""
    K = logits.shape[-1]
    scaled = logits / np.float32(temperature) if temperature != 0 else logits.copy()
    scaled -= scaled.max(axis=-1, keepdims=True)
    shifted = scaled
    p = np.exp(shifted)
    total = p.sum(axis=-1)
    if temperature == 0:
        tokens = np.argmax(logits, axis=-1)
    else:
        cdf = np.cumsum(p, axis=-1, out=p)
        threshold = _floor32(np.asarray(u, np.float64) * cdf[:, -1])
        tokens = np.minimum(np.count_nonzero(cdf <= threshold[:, None], axis=-1), K - 1)
    rows = np.arange(len(tokens))
    return tokens.astype(np.int64), shifted[rows, tokens] - np.log(total)


def _remask_count(unknown0: np.ndarray, step: int, steps: int) -> np.ndarray:
    """(B,) how many frames stay masked after `step` of `steps`, of `unknown0` at the start."""
    return np.floor(unknown0 * math.cos(math.pi / 2 * (step + 1) / steps)).astype(np.int64)


def bound_forward(forward: Forward, audio: np.ndarray, has_audio: np.ndarray):
    """f(tokens, select) -> part -> (N, Q, K) logits of the selected frames: the forward's own
    `bind` (numpy_model: the audio term once, the last layer on the selected frames only), else
    the full logits indexed (any Forward, e.g. the torch model's in the tests)."""
    bind = getattr(forward, "bind", None)
    if bind is not None:
        return bind(audio, has_audio)
    return lambda tokens, select: {p: v[select[p]] for p, v in forward(tokens, audio, has_audio).items()}


def masked_decode(forward: Forward, parts, mask_ids, tokens: dict, known: dict, audio: np.ndarray,
                  has_audio: np.ndarray, rngs: list, steps: int, temperature: float, top_k: int) -> dict:
    """Fill the unknown frames of a batch of windows.

    tokens: part -> (B, T, Q) int64 (anything where unknown); known: part -> (B, T) bool;
    audio (B, T, C); has_audio (B,); rngs: B numpy Generators, one per window; mask_ids:
    part -> its MASK token. Returns part -> (B, T, Q) int64 with every frame filled and the
    known frames as given. The network is run for the frames still masked only (bound_forward).
    """
    tokens = {p: np.where(known[p][..., None], tokens[p], mask_ids[p]).astype(np.int64) for p in parts}
    unknown = {p: ~known[p] for p in parts}
    unknown0 = {p: unknown[p].sum(axis=1) for p in parts}
    net = bound_forward(forward, audio, has_audio)
    for step in range(steps):
        if not any(unknown[p].any() for p in parts):
            break
        logits = net(tokens, unknown)
        for p in parts:
            B, T, Q = tokens[p].shape
            u = np.stack([g.random((T, Q)) for g in rngs])  # every frame: the stream must not depend on the mask
            todo = unknown[p]
            picked, log_p = sample_tokens(logits[p].reshape(-1, logits[p].shape[-1]), u[todo].reshape(-1),
                                          temperature, top_k)
            keep = _remask_count(unknown0[p], step, steps)
            if not keep.any():  # the last step (or nothing left to re-mask): every sampled token stays
                tokens[p][todo] = picked.reshape(-1, Q)
                unknown[p] = np.zeros_like(todo)
                continue
            confidence = np.full((B, T), np.inf, dtype=np.float32)
            confidence[todo] = log_p.reshape(-1, Q).sum(axis=-1)
            # the `keep` least confident frames of each window stay masked (stable: ties resolve the same way every run)
            order = np.argsort(confidence, axis=1, kind="stable")
            remask = np.zeros((B, T), bool)
            np.put_along_axis(remask, order, np.arange(T)[None] < keep[:, None], axis=1)
            remask &= todo
            accept = todo & ~remask
            tokens[p][accept] = picked.reshape(-1, Q)[accept[todo]]
            unknown[p] = remask
    return tokens
