"""What the generator is trained on: windows of token streams, their corruption, the
re-weighted cross-entropy, and the held-out figures (torch).

- Code weights (EGGesture's inverse code usage): per part and codebook level, the training
  tokens' frequencies with add-one smoothing, p_k = (n_k + 1) / (N + K), weight w_k = 1 / p_k,
  scaled so that the mean weight over the training tokens is 1, clipped at MAX_WEIGHT (a code
  seen once would otherwise weigh thousands of times a common one and the loss would be the
  noise of a few frames), and scaled to mean 1 again.
- Corruption of a window (MaskGIT training, plus random replacement): per part, a mask ratio
  r = cos(pi/2 u), u ~ U(0, 1), the frames masked with probability r (at least one); of the
  frames left visible, a share `replace` gets random codes (training.TrainSettings: 0.1, which
  did better on held-out frames than the issue's "about 40%"). The loss is on the masked and the replaced frames (the model has to tell a wrong
  visible code from a right one, which is what iterative decoding asks of it).
- Loss: per level, sum(w[target] * CE) / sum(w[target]) over the loss frames of all parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .config import GeneratorConfig

MAX_WEIGHT = 10.0


def code_weights(takes, cfg: GeneratorConfig) -> dict[str, np.ndarray]:
    """part -> (Q, K) float32 weights of each code (module docstring), from the training takes."""
    out = {}
    for part, K, Q in zip(cfg.parts, cfg.vocab, cfg.levels):
        counts = np.zeros((Q, K))
        for t in takes:
            if t.tokens.get(part) is not None:
                for q in range(Q):
                    counts[q] += np.bincount(t.tokens[part][:, q], minlength=K)[:K]
        w = (counts.sum(1, keepdims=True) + K) / (counts + 1.0)
        for _ in range(2):
            w = w * counts.sum(1, keepdims=True) / np.maximum((counts * w).sum(1, keepdims=True), 1e-12)
            w = np.minimum(w, MAX_WEIGHT)
        out[part] = w.astype(np.float32)
    return out


@dataclass
class Batch:
    """tokens part -> (B, W, Q) int64 true codes; present part -> (B,) bool (the take has the
    part); audio (B, W, C) float32; has_audio (B,) bool."""

    tokens: dict
    present: dict
    audio: np.ndarray
    has_audio: np.ndarray


class WindowSampler:
    """Random windows of `window` token frames from `takes` (each take chosen with probability
    proportional to its frames; takes shorter than a window are left out), from a seeded
    numpy Generator. with_audio: use the takes' speech (paired takes only)."""

    def __init__(self, takes, cfg: GeneratorConfig, window: int, rng: np.random.Generator, with_audio: bool):
        self.takes = [t for t in takes if t.frames >= window and (t.audio is not None or not with_audio)]
        if not self.takes:
            raise ValueError(f"no take has {window} token frames{' with speech' if with_audio else ''}")
        frames = np.array([t.frames - window + 1 for t in self.takes], dtype=np.float64)
        self.p = frames / frames.sum()
        self.cfg, self.window, self.rng, self.with_audio = cfg, window, rng, with_audio

    def sample(self, batch: int) -> Batch:
        cfg, W = self.cfg, self.window
        picks = self.rng.choice(len(self.takes), size=batch, p=self.p)
        starts = [int(self.rng.integers(0, self.takes[i].frames - W + 1)) for i in picks]
        tokens = {p: np.zeros((batch, W, q), np.int64) for p, q in zip(cfg.parts, cfg.levels)}
        present = {p: np.zeros(batch, bool) for p in cfg.parts}
        audio = np.zeros((batch, W, cfg.audio_dims), np.float32)
        for b, (i, s) in enumerate(zip(picks, starts)):
            take = self.takes[i]
            for p in cfg.parts:
                if take.tokens.get(p) is not None:
                    tokens[p][b], present[p][b] = take.tokens[p][s : s + W], True
            if self.with_audio:
                audio[b] = take.audio[s : s + W]
        return Batch(tokens, present, audio, np.full(batch, self.with_audio))


def corrupt(batch: Batch, cfg: GeneratorConfig, rng: np.random.Generator, replace: float):
    """(input tokens part -> (B, W, Q), loss frames part -> (B, W) bool) of a batch (module docstring)."""
    inputs, loss_at = {}, {}
    for p, K in zip(cfg.parts, cfg.vocab):
        t = batch.tokens[p]
        B, W, Q = t.shape
        ratio = np.cos(np.pi / 2 * rng.random(B))[:, None]
        masked = rng.random((B, W)) < ratio
        masked[np.arange(B), rng.integers(0, W, B)] = True
        replaced = ~masked & (rng.random((B, W)) < replace)
        noisy = np.where(replaced[..., None], rng.integers(0, K, t.shape), t)
        absent = ~batch.present[p][:, None]
        inputs[p] = np.where((masked | absent)[..., None], cfg.mask_id(p), noisy)
        loss_at[p] = (masked | replaced) & ~absent
    return inputs, loss_at


def weighted_loss(logits: dict, targets: dict, loss_at: dict, weights: dict) -> torch.Tensor:
    """Weighted cross-entropy (module docstring); logits part -> (N, Q, K) torch at the loss
    frames (the model's `select`), targets part -> (B, W, Q), loss_at part -> (B, W) bool."""
    total, norm = 0.0, 0.0
    for p, chosen in logits.items():
        sel = torch.as_tensor(loss_at[p])
        if not bool(sel.any()):
            total = total + 0.0 * chosen.sum()  # keeps every parameter in the graph (DDP)
            continue
        target = torch.as_tensor(targets[p])[sel]  # (N, Q)
        w = torch.as_tensor(weights[p])
        for q in range(chosen.shape[1]):
            ce = F.cross_entropy(chosen[:, q], target[:, q], reduction="none")
            wq = w[q][target[:, q]]
            total = total + (wq * ce).sum()
            norm = norm + wq.sum()
    return total / max(float(norm), 1e-12) if norm else total


def held_out_figures(model, takes, cfg: GeneratorConfig, train_takes, window: int) -> dict:
    """Per part, on the held-out paired takes in consecutive windows: token cross-entropy
    (nats) and accuracy of the most likely code, every frame masked, with the speech and with
    'no audio'; and the unigram baseline (the training codes' add-one frequencies)."""
    paired = [t for t in takes if t.audio is not None and t.frames >= window]
    if not paired:
        return {"note": "no held-out speech with motion"}
    out = {}
    model.eval()
    with torch.no_grad():
        for p, K, Q in zip(cfg.parts, cfg.vocab, cfg.levels):
            truth, logits = {True: [], False: []}, {True: [], False: []}
            for t in paired:
                if t.tokens.get(p) is None:
                    continue
                n = t.frames // window
                tok = {o: torch.full((n, window, q), cfg.mask_id(o)) for o, q in zip(cfg.parts, cfg.levels)}
                audio = torch.from_numpy(t.audio[: n * window].reshape(n, window, -1))
                for with_audio in (True, False):
                    lg = model(tok, audio, torch.full((n,), with_audio))[p]
                    logits[with_audio].append(lg.reshape(-1, Q, K))
                    truth[with_audio].append(torch.from_numpy(t.tokens[p][: n * window]))
            if not truth[True]:
                continue
            y = torch.cat(truth[True])
            figures = {"frames": int(len(y))}
            for with_audio, label in ((True, "speech"), (False, "no_audio")):
                lg = torch.cat(logits[with_audio])
                ce = F.cross_entropy(lg.reshape(-1, K), y.reshape(-1)).item()
                acc = (lg.argmax(-1) == y).float().mean().item()
                figures[label] = {"cross_entropy": round(ce, 4), "accuracy": round(acc, 4)}
            counts = np.zeros((Q, K))
            for t in train_takes:
                if t.tokens.get(p) is not None:
                    for q in range(Q):
                        counts[q] += np.bincount(t.tokens[p][:, q], minlength=K)[:K]
            logp = np.log((counts + 1) / (counts.sum(1, keepdims=True) + K))
            yn = y.numpy()
            uni = -np.mean([logp[q][yn[:, q]] for q in range(Q)])
            figures["unigram"] = {"cross_entropy": round(float(uni), 4),
                                  "accuracy": round(float(np.mean(yn == logp.argmax(1)[None])), 4)}
            figures["uniform_cross_entropy"] = round(math.log(K), 4)
            out[p] = figures
    return out
