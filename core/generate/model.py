"""The generator network in torch (training only; inference runs numpy_model.py).

A masked token transformer over the parts' token streams, conditioned on speech:

    x_p = sum_q E_pq[tokens_pq] + part_p + pos_t + audio_t     (per part p, frame t)
    audio_t = MLP((a_t - mean) / std)  for takes with audio, else the learned `no_audio` vector
    for each layer:  x_p += SelfAttn_p(LN(x_p))                  (over the window's frames)
                     x_p += CrossAttn_p(LN(x_p), LN(x_others))   (the other parts' frames of
                                                                 the same window: SpeechCAT)
                     x_p += FF_p(LN(x_p))
    logits_pq = Head_pq(LN(x_p))                                 (B, T, K_p) per level q

Attention is bidirectional within a window (masked decoding predicts every masked frame at
once). GELU is the tanh approximation so that numpy computes the same function without erf.
Shapes: tokens part -> (B, T, Q_p) int64 (MASK = vocab_p where unknown), audio (B, T, C)
float32 at token rate, has_audio (B,) bool; logits part -> (B, T, Q_p, K_p).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import GeneratorConfig


class Attention(nn.Module):
    """Multi-head attention with separate query and key/value inputs (self-attention when
    they are the same tensor). q: (B, Tq, d), kv: (B, Tk, d) -> (B, Tq, d)."""

    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)

    def forward(self, q_in: torch.Tensor, kv_in: torch.Tensor) -> torch.Tensor:
        B, Tq, d = q_in.shape
        h, dh = self.heads, d // self.heads
        q = self.q(q_in).view(B, Tq, h, dh).transpose(1, 2)
        k, v = self.kv(kv_in).view(B, kv_in.shape[1], 2, h, dh).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(B, Tq, d))


class PartLayer(nn.Module):
    """One part's self-attention, cross-attention to the other parts, and feed-forward."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        d = cfg.d_model
        self.ln_self = nn.LayerNorm(d)
        self.self_attn = Attention(d, cfg.heads)
        self.ln_cross = nn.LayerNorm(d)
        self.ln_others = nn.LayerNorm(d)
        self.cross_attn = Attention(d, cfg.heads)
        self.ln_ff = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, cfg.ff), nn.GELU(approximate="tanh"), nn.Linear(cfg.ff, d))


class GestureTransformer(nn.Module):
    """The generator network of `cfg` (module docstring)."""

    def __init__(self, cfg: GeneratorConfig, dropout: float = 0.1):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed = nn.ModuleDict({
            p: nn.ModuleList(nn.Embedding(k + 1, d) for _ in range(q))
            for p, k, q in zip(cfg.parts, cfg.vocab, cfg.levels)
        })
        self.part_embed = nn.Parameter(torch.randn(len(cfg.parts), d) * 0.02)
        self.pos = nn.Parameter(torch.randn(cfg.window, d) * 0.02)
        self.register_buffer("audio_mean", torch.zeros(cfg.audio_dims))
        self.register_buffer("audio_std", torch.ones(cfg.audio_dims))
        self.audio = nn.Sequential(nn.Linear(cfg.audio_dims, d), nn.GELU(approximate="tanh"), nn.Linear(d, d))
        self.no_audio = nn.Parameter(torch.zeros(d))
        self.blocks = nn.ModuleList(nn.ModuleDict({p: PartLayer(cfg) for p in cfg.parts}) for _ in range(cfg.layers))
        self.final_ln = nn.ModuleDict({p: nn.LayerNorm(d) for p in cfg.parts})
        self.heads = nn.ModuleDict({
            p: nn.ModuleList(nn.Linear(d, k) for _ in range(q)) for p, k, q in zip(cfg.parts, cfg.vocab, cfg.levels)
        })
        self.drop = nn.Dropout(dropout)
        for emb in self.embed.values():
            for e in emb:
                nn.init.normal_(e.weight, std=0.02)

    def audio_term(self, audio: torch.Tensor, has_audio: torch.Tensor) -> torch.Tensor:
        """(B, T, C), (B,) -> (B, T, d): the projected normalised audio, or `no_audio`."""
        projected = self.audio((audio - self.audio_mean) / self.audio_std)
        return torch.where(has_audio[:, None, None], projected, self.no_audio.expand_as(projected))

    def forward(self, tokens: dict[str, torch.Tensor], audio: torch.Tensor, has_audio: torch.Tensor,
                select: dict[str, torch.Tensor] | None = None):
        """The logits of every frame, or with `select` (part -> (B, T) bool) those of the
        selected frames only, part -> (N, Q, K): training needs the loss frames' alone, and the
        1024-way heads are a quarter of the model's work."""
        cfg = self.cfg
        T = audio.shape[1]
        shared = self.pos[:T][None] + self.audio_term(audio, has_audio)
        x = {}
        for i, p in enumerate(cfg.parts):
            emb = sum(e(tokens[p][..., q]) for q, e in enumerate(self.embed[p]))
            x[p] = self.drop(emb + self.part_embed[i] + shared)
        for block in self.blocks:
            for p in cfg.parts:
                layer = block[p]
                h = layer.ln_self(x[p])
                x[p] = x[p] + self.drop(layer.self_attn(h, h))
            if cfg.cross_attention and len(cfg.parts) > 1:
                normed = {p: block[p].ln_others(x[p]) for p in cfg.parts}
                x = {p: x[p] + self.drop(block[p].cross_attn(
                        block[p].ln_cross(x[p]), torch.cat([normed[o] for o in cfg.parts if o != p], dim=1)))
                     for p in cfg.parts}
            for p in cfg.parts:
                layer = block[p]
                x[p] = x[p] + self.drop(layer.ff(layer.ln_ff(x[p])))
        if select is not None:
            x = {p: x[p][select[p]] for p in cfg.parts}
        return {p: torch.stack([head(self.final_ln[p](x[p])) for head in self.heads[p]], dim=-2) for p in cfg.parts}


def state_arrays(model: GestureTransformer) -> dict:
    """The model's weights as float32 numpy arrays under their state_dict names (for the bundle)."""
    return {k: v.detach().cpu().float().numpy().copy() for k, v in model.state_dict().items()}


def model_from_arrays(cfg: GeneratorConfig, tensors: dict) -> GestureTransformer:
    """The torch model of `cfg` with the bundle's weights (the `model.`-free state_dict names);
    RuntimeError when names or shapes do not fit."""
    model = GestureTransformer(cfg)
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()}, strict=True)
    return model.eval()
