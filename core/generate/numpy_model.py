"""The generator network in numpy: model.py's forward pass, run without torch.

Inside Blender the extension cannot ship torch, so generation runs here from the bundle's
safetensors weights (the torch state_dict names) and its `model_config`, in eval mode (no
dropout). float32 throughout, like the torch model: the logits agree with torch's to about
1e-5 (tested within 1e-4), and float32 matrix products run about twice as fast as float64
on the 2-core machines this is measured on. Linear weights are torch's (out, in) layout;
they are transposed once on loading so every product is `x @ W`.
"""

from __future__ import annotations

import math

import numpy as np

from .config import GeneratorConfig

_LN_EPS = 1e-5  # torch.nn.LayerNorm's default
_GELU_C = math.sqrt(2.0 / math.pi)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """LayerNorm over the last axis (biased variance, eps 1e-5, as torch)."""
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(var + _LN_EPS) * weight + bias


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """torch's GELU(approximate='tanh')."""
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x * x * x)))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class NumpyGestureTransformer:
    """GestureTransformer (model.py) of `cfg` with `tensors` (state_dict names -> arrays).
    KeyError naming a missing weight, ValueError for a weight of the wrong shape."""

    def __init__(self, cfg: GeneratorConfig, tensors: dict[str, np.ndarray]):
        self.cfg = cfg
        self._w = {}
        expected = _expected_shapes(cfg)
        for name, shape in expected.items():
            if name not in tensors:
                raise KeyError(name)
            value = np.asarray(tensors[name], dtype=np.float32)
            if value.shape != shape:
                raise ValueError(f"weight {name} is {value.shape}, model_config gives {shape}")
            # Linear weights transposed once: x @ W.
            self._w[name] = np.ascontiguousarray(value.T) if name.endswith(".weight") and _is_linear(name) else value

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self._w[f"{name}.weight"] + self._w[f"{name}.bias"]

    def _ln(self, x: np.ndarray, name: str) -> np.ndarray:
        return layer_norm(x, self._w[f"{name}.weight"], self._w[f"{name}.bias"])

    def _attention(self, q_in: np.ndarray, kv_in: np.ndarray, name: str) -> np.ndarray:
        B, Tq, d = q_in.shape
        h = self.cfg.heads
        dh = d // h
        q = self._linear(q_in, f"{name}.q").reshape(B, Tq, h, dh).transpose(0, 2, 1, 3)
        kv = self._linear(kv_in, f"{name}.kv").reshape(B, kv_in.shape[1], 2, h, dh).transpose(2, 0, 3, 1, 4)
        weights = softmax(q @ kv[0].transpose(0, 1, 3, 2) / np.float32(math.sqrt(dh)))
        return self._linear((weights @ kv[1]).transpose(0, 2, 1, 3).reshape(B, Tq, d), f"{name}.out")

    def audio_term(self, audio: np.ndarray, has_audio: np.ndarray) -> np.ndarray:
        w = self._w
        a = (np.asarray(audio, dtype=np.float32) - w["audio_mean"]) / w["audio_std"]
        projected = self._linear(gelu_tanh(self._linear(a, "audio.0")), "audio.2")
        return np.where(np.asarray(has_audio, bool)[:, None, None], projected, w["no_audio"])

    def __call__(self, tokens: dict[str, np.ndarray], audio: np.ndarray, has_audio: np.ndarray) -> dict:
        """tokens part -> (B, T, Q_p) int (MASK = vocab_p), audio (B, T, C), has_audio (B,)
        -> logits part -> (B, T, Q_p, K_p) float32."""
        cfg, w = self.cfg, self._w
        T = audio.shape[1]
        shared = w["pos"][:T][None] + self.audio_term(audio, has_audio)
        x = {}
        for i, p in enumerate(cfg.parts):
            t = np.asarray(tokens[p])
            emb = sum(w[f"embed.{p}.{q}.weight"][t[..., q]] for q in range(cfg.levels[i]))
            x[p] = emb + w["part_embed"][i] + shared
        for layer in range(cfg.layers):
            for p in cfg.parts:
                h = self._ln(x[p], f"blocks.{layer}.{p}.ln_self")
                x[p] = x[p] + self._attention(h, h, f"blocks.{layer}.{p}.self_attn")
            if cfg.cross_attention and len(cfg.parts) > 1:
                normed = {p: self._ln(x[p], f"blocks.{layer}.{p}.ln_others") for p in cfg.parts}
                x = {p: x[p] + self._attention(
                        self._ln(x[p], f"blocks.{layer}.{p}.ln_cross"),
                        np.concatenate([normed[o] for o in cfg.parts if o != p], axis=1),
                        f"blocks.{layer}.{p}.cross_attn")
                     for p in cfg.parts}
            for p in cfg.parts:
                pre = f"blocks.{layer}.{p}"
                hidden = gelu_tanh(self._linear(self._ln(x[p], f"{pre}.ln_ff"), f"{pre}.ff.0"))
                x[p] = x[p] + self._linear(hidden, f"{pre}.ff.2")
        out = {}
        for i, p in enumerate(cfg.parts):
            h = self._ln(x[p], f"final_ln.{p}")
            out[p] = np.stack([self._linear(h, f"heads.{p}.{q}") for q in range(cfg.levels[i])], axis=2)
        return out


def _is_linear(name: str) -> bool:
    """Linear (transposed) rather than embedding or LayerNorm weights."""
    return not (name.startswith("embed.") or ".ln" in name or name.startswith("final_ln."))


def _expected_shapes(cfg: GeneratorConfig) -> dict[str, tuple[int, ...]]:
    """Every state_dict entry of GestureTransformer(cfg) with its shape."""
    d, C, ff = cfg.d_model, cfg.audio_dims, cfg.ff
    shapes: dict[str, tuple[int, ...]] = {
        "part_embed": (len(cfg.parts), d), "pos": (cfg.window, d), "audio_mean": (C,), "audio_std": (C,),
        "audio.0.weight": (d, C), "audio.0.bias": (d,), "audio.2.weight": (d, d), "audio.2.bias": (d,),
        "no_audio": (d,),
    }

    def linear(name, n_out, n_in):
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (n_out, n_in), (n_out,)

    def norm(name):
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (d,), (d,)

    for p, k, q in zip(cfg.parts, cfg.vocab, cfg.levels):
        for level in range(q):
            shapes[f"embed.{p}.{level}.weight"] = (k + 1, d)
            linear(f"heads.{p}.{level}", k, d)
        norm(f"final_ln.{p}")
        for layer in range(cfg.layers):
            pre = f"blocks.{layer}.{p}"
            for ln in ("ln_self", "ln_cross", "ln_others", "ln_ff"):
                norm(f"{pre}.{ln}")
            for attn in ("self_attn", "cross_attn"):
                linear(f"{pre}.{attn}.q", d, d)
                linear(f"{pre}.{attn}.kv", 2 * d, d)
                linear(f"{pre}.{attn}.out", d, d)
            linear(f"{pre}.ff.0", ff, d)
            linear(f"{pre}.ff.2", d, ff)
    return shapes
