"""The generator network in numpy: model.py's forward pass, run without torch.

Inside Blender the extension cannot ship torch, so generation runs here from the bundle's
safetensors weights (the torch state_dict names) and its `model_config`, in eval mode (no
dropout). float32 throughout, like the torch model: the logits agree with torch's to about
1e-5 (tested within 1e-4), and float32 matrix products run about twice as fast as float64
on the 2-core machines this is measured on. Linear weights are torch's (out, in) layout;
they are transposed once on loading so every product is `x @ W`.

Masked decoding needs the logits of the still-masked frames only: `bind(audio, has_audio)`
gives the network of one batch of windows with its audio term computed once, run as
f(tokens, select), whose last layer after its self-attention (cross-attention queries,
feed-forward, heads) works on the selected frames alone; the numbers are those of the full
pass (tests/test_generate_speed.py).
"""

from __future__ import annotations

import math

import numpy as np

from .config import GeneratorConfig

_LN_EPS = 1e-5  # torch.nn.LayerNorm's default
_GELU_C = math.sqrt(2.0 / math.pi)


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """LayerNorm over the last axis (biased variance, eps 1e-5, as torch)."""
    centred = x - x.mean(axis=-1, keepdims=True)
    var = np.mean(np.square(centred), axis=-1, keepdims=True)
    centred /= np.sqrt(var + _LN_EPS)
    centred *= weight
    centred += bias
    return centred


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """torch's GELU(approximate='tanh')."""
    inner = x * 0.044715  # the same products in the same order as torch's formula
    inner *= x
    inner *= x
    inner += x
    inner *= _GELU_C
    np.tanh(inner, out=inner)
    inner += 1.0
    inner *= x
    inner *= 0.5
    return inner


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax over `axis`, computed in x's own memory (x is overwritten: the attention
    scores are the largest arrays of a pass, and fresh ones cost page faults)."""
    x -= x.max(axis=axis, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(axis=axis, keepdims=True)
    return x


class NumpyGestureTransformer:
    """GestureTransformer (model.py) of `cfg` with `tensors` (state_dict names -> arrays).
    KeyError naming a missing weight, ValueError for a weight of the wrong shape."""

    runtime = "numpy"

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
        for name in [n[: -len(".q.weight")] for n in expected if n.endswith("self_attn.q.weight")]:
            for kind in ("weight", "bias"):  # one (d, 3d) product gives self-attention's q, k and v
                self._w[f"{name}.qkv.{kind}"] = np.ascontiguousarray(
                    np.concatenate([self._w[f"{name}.q.{kind}"], self._w[f"{name}.kv.{kind}"]], axis=-1))

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        """x (..., in) -> (..., out), as one (rows, in) product: numpy runs (B, T, in) @ W as B
        small products, a quarter slower, for the same numbers."""
        out = x.reshape(-1, x.shape[-1]) @ self._w[f"{name}.weight"]
        out += self._w[f"{name}.bias"]
        return out.reshape(*x.shape[:-1], out.shape[-1])

    def _ln(self, x: np.ndarray, name: str) -> np.ndarray:
        return layer_norm(x, self._w[f"{name}.weight"], self._w[f"{name}.bias"])

    def _attention(self, q_in: np.ndarray, kv_in: np.ndarray, name: str) -> np.ndarray:
        """q_in (B, Tq, d) attending to kv_in (B, Tk, d) -> (B, Tq, d)."""
        B, Tq, d = q_in.shape
        h = self.cfg.heads
        q = self._linear(q_in, f"{name}.q").reshape(B, Tq, h, d // h).transpose(0, 2, 1, 3)
        kv = self._linear(kv_in, f"{name}.kv").reshape(B, kv_in.shape[1], 2, h, d // h).transpose(2, 0, 3, 1, 4)
        return self._attend(q, kv[0], kv[1], name)

    def _self_attention(self, x: np.ndarray, name: str) -> np.ndarray:
        """Self-attention of x (B, T, d) with q and kv from one product (the weights joined on loading)."""
        B, T, d = x.shape
        h = self.cfg.heads
        qkv = self._linear(x, f"{name}.qkv").reshape(B, T, 3, h, d // h).transpose(2, 0, 3, 1, 4)
        return self._attend(qkv[0], qkv[1], qkv[2], name)

    def _attend(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, name: str) -> np.ndarray:
        """q (B, h, Tq, dh), k and v (B, h, Tk, dh) -> the output projection (B, Tq, d)."""
        B, h, Tq, dh = q.shape
        scores = q @ k.transpose(0, 1, 3, 2)
        scores /= np.float32(math.sqrt(dh))
        weights = softmax(scores)
        return self._linear((weights @ v).transpose(0, 2, 1, 3).reshape(B, Tq, h * dh), f"{name}.out")

    def audio_term(self, audio: np.ndarray, has_audio: np.ndarray) -> np.ndarray:
        w = self._w
        a = (np.asarray(audio, dtype=np.float32) - w["audio_mean"]) / w["audio_std"]
        projected = self._linear(gelu_tanh(self._linear(a, "audio.0")), "audio.2")
        return np.where(np.asarray(has_audio, bool)[:, None, None], projected, w["no_audio"])

    def bind(self, audio: np.ndarray, has_audio: np.ndarray):
        """The network for one batch of windows, its audio term computed once for every decode
        step: f(tokens, select) -> logits part -> (N_p, Q_p, K_p) of the frames select[p]
        ((B, T) bool) marks, in row-major order (= full_logits[p][select[p]])."""
        T = audio.shape[1]
        shared = self._w["pos"][:T][None] + self.audio_term(audio, has_audio)
        return lambda tokens, select: self._run(tokens, shared, select)

    def __call__(self, tokens: dict[str, np.ndarray], audio: np.ndarray, has_audio: np.ndarray) -> dict:
        """tokens part -> (B, T, Q_p) int (MASK = vocab_p), audio (B, T, C), has_audio (B,)
        -> logits part -> (B, T, Q_p, K_p) float32."""
        B, T = audio.shape[:2]
        every = {p: np.ones((B, T), bool) for p in self.cfg.parts}
        out = self.bind(audio, has_audio)(tokens, every)
        return {p: v.reshape(B, T, *v.shape[1:]) for p, v in out.items()}

    def _run(self, tokens: dict, shared: np.ndarray, select: dict) -> dict:
        """Embeddings, every layer but the last in full, then the last layer's cross-attention
        queries, feed-forward and heads on the selected frames only: nothing after the last
        self-attention feeds another frame, and masked decoding needs the masked frames' logits alone."""
        cfg, w = self.cfg, self._w
        x = {}
        for i, p in enumerate(cfg.parts):
            t = np.asarray(tokens[p])
            emb = sum(w[f"embed.{p}.{q}.weight"][t[..., q]] for q in range(cfg.levels[i]))
            emb += w["part_embed"][i]
            emb += shared
            x[p] = emb
        last = cfg.layers - 1
        for layer in range(cfg.layers):
            for p in cfg.parts:
                pre = f"blocks.{layer}.{p}"
                x[p] += self._self_attention(self._ln(x[p], f"{pre}.ln_self"), f"{pre}.self_attn")
            rows = {p: _gather(x[p], select[p]) for p in cfg.parts} if layer == last else None
            if cfg.cross_attention and len(cfg.parts) > 1:
                normed = {p: self._ln(x[p], f"blocks.{layer}.{p}.ln_others") for p in cfg.parts}
                queries = x if rows is None else {p: rows[p][0] for p in cfg.parts}
                x = {p: queries[p] + self._attention(
                        self._ln(queries[p], f"blocks.{layer}.{p}.ln_cross"),
                        np.concatenate([normed[o] for o in cfg.parts if o != p], axis=1),
                        f"blocks.{layer}.{p}.cross_attn")
                     for p in cfg.parts}
            elif rows is not None:
                x = {p: rows[p][0] for p in cfg.parts}
            for p in cfg.parts:
                pre = f"blocks.{layer}.{p}"
                hidden = gelu_tanh(self._linear(self._ln(x[p], f"{pre}.ln_ff"), f"{pre}.ff.0"))
                x[p] += self._linear(hidden, f"{pre}.ff.2")
        out = {}
        for i, p in enumerate(cfg.parts):
            h = self._ln(x[p][rows[p][1]], f"final_ln.{p}")  # (N, d): the selected frames
            out[p] = np.stack([self._linear(h, f"heads.{p}.{q}") for q in range(cfg.levels[i])], axis=1)
        return out


def _gather(x: np.ndarray, select: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (B, T, d) and select (B, T) bool -> (rows (B, n, d): each window's selected frames in
    order, padded to the most any window has, n = that most; valid (B, n) bool)."""
    counts = select.sum(axis=1)
    n = int(counts.max()) if counts.size else 0
    if n == select.shape[1]:
        return x, select
    order = np.argsort(~select, axis=1, kind="stable")[:, :n]
    return np.take_along_axis(x, order[..., None], axis=1), np.arange(n)[None] < counts[:, None]


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
