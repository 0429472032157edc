"""RQ-VAE inference in numpy: the trained model of rqvae.py run without torch.

Inside Blender the extension cannot ship torch (a 192 MB wheel), so an RQ-VAE bundle is run
here from its safetensors weights and the manifest's `model_config`, with the same maths as
the torch model in eval mode (rqvae.py and vector_quantize_pytorch's ResidualVQ):

    encoder and decoder: the layers of base.layer_plan (what rqvae.py builds), e.g. per frame
    encoder: Conv1d(W -> H, k=3) . ResBlock(d) for d in dilations . ReLU . Conv1d(H -> L, k=1)
    decoder: Conv1d(L -> H, k=3) . ResBlock(d) for d in dilations . ReLU . Conv1d(H -> W, k=3)
    ResBlock(d): x + Conv1d(k=1)(ReLU(Conv1d(k=3, dilation=d)(ReLU(x))))
    downsampled (rqvae4): strided Conv1d(k=4, stride 2, padding 1) stages in the encoder,
    nearest-neighbour upsampling by 2 then Conv1d(k=3) stages in the decoder.

Every convolution pads by replicating the edge frames (torch's padding_mode="replicate");
here a convolution is one tensordot over sliding windows of the padded sequence (every
stride-th window), vectorised over frames. Weights are PyTorch's (C_out, C_in, K) layout.

Residual quantisation, layer q = 0..Q-1 over the codebooks (Q, D, L), residual r = latent:
- Euclidean codebooks: token = the code nearest to r;
- cosine codebooks (entropy-guided training): token = argmax of (r / max(|r|, 1e-6)) . code,
  the codes being stored unit-length;
then r <- r - code[token]. Decoding sums the Q chosen codes and runs the decoder.

Computed in float64 (the weights are float32): the decoded features agree with the torch
model's float32 output to about 1e-6, and the tokens are the same except where two codes are
equally near to within float32 rounding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import DownsampledFamily, ResidualCodec, layer_plan, model_width
from .bundle import Bundle

_MODEL = "model."
_CODEBOOK = "model.quantizer.layers.{q}._codebook.embed"
_LAYER = re.compile(r"^model\.quantizer\.layers\.(\d+)\.")
# F.normalize's eps in vector_quantize_pytorch's l2norm (cosine codebooks).
_L2NORM_EPS = 1e-6


def conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int = 1, stride: int = 1,
           padding: int | None = None) -> np.ndarray:
    """1-D convolution with replicated edges, as torch's Conv1d with padding_mode="replicate".

    x (T, C_in); weight (C_out, C_in, K); bias (C_out,); padding frames each side (default
    dilation * (K - 1) / 2, which keeps the length for odd K). Returns
    (floor((T + 2 padding - dilation (K - 1) - 1) / stride) + 1, C_out).
    """
    K = weight.shape[2]
    pad = dilation * (K - 1) // 2 if padding is None else padding
    if K == 1 and pad == 0:
        return x[::stride] @ weight[:, :, 0].T + bias
    padded = np.pad(x, ((pad, pad), (0, 0)), mode="edge") if pad else x
    # (T', C_in, span) windows, every `dilation`-th frame of each: (T', C_in, K).
    windows = sliding_window_view(padded, dilation * (K - 1) + 1, axis=0)[::stride, :, ::dilation]
    return np.tensordot(windows, weight, axes=([1, 2], [1, 2])) + bias


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


class _Stack:
    """One of rqvae.py's `_stack`s (the layers of base.layer_plan), its weights float64.

    tensors: the bundle's weights; prefix: 'model.encoder' or 'model.decoder' (the entries
    `{prefix}.{i}.*`, i the nn.Sequential index). KeyError for a missing entry.
    """

    def __init__(self, tensors: dict[str, np.ndarray], prefix: str, plan: list[tuple]):
        def w(name: str) -> np.ndarray:
            return np.asarray(tensors[f"{prefix}.{name}"], dtype=np.float64)

        self.layers = []
        for i, entry in enumerate(plan):
            if entry[0] == "conv":
                self.layers.append(("conv", w(f"{i}.weight"), w(f"{i}.bias"), entry[4], entry[5], entry[6]))
            elif entry[0] == "res":
                self.layers.append(("res", entry[2], w(f"{i}.conv.weight"), w(f"{i}.conv.bias"),
                                    w(f"{i}.mix.weight"), w(f"{i}.mix.bias")))
            else:
                self.layers.append((entry[0],))
        self.first = self.layers[0][1:3]
        self.last = self.layers[-1][1:3]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h = x
        for layer in self.layers:
            kind = layer[0]
            if kind == "conv":
                _, cw, cb, stride, pad, dilation = layer
                h = conv1d(h, cw, cb, dilation, stride, pad)
            elif kind == "res":
                _, dilation, cw, cb, mw, mb = layer
                h = h + conv1d(_relu(conv1d(_relu(h), cw, cb, dilation)), mw, mb)
            elif kind == "relu":
                h = _relu(h)
            else:  # "up": nearest-neighbour upsampling by 2
                h = np.repeat(h, 2, axis=0)
        return h


class RQVAENumpy:
    """The RQ-VAE of a bundle's weights, in numpy. Shapes: model frames (T, W) normalised,
    latents (T / fpl, L), tokens (T / fpl, Q) int64 in [0, D).

    config: the manifest's `model_config` (part, D, Q, dilations, entropy_guided, rotation,
    frames_per_latent, stage_dilations, hidden, latent; the old configs lack the last five and
    get their defaults: axis-angle, per frame, hidden 64, latent 16);
    tensors: the bundle's weights (`model.*` entries, as rqvae.py's state_dict).
    Raises ValueError when the weights do not fit the config.
    """

    def __init__(self, config: dict, tensors: dict[str, np.ndarray]):
        try:
            self.D, self.Q = int(config["D"]), int(config["Q"])
            self.part = config["part"]
            plans = layer_plan(config, "encoder"), layer_plan(config, "decoder")
            F = model_width(self.part, config.get("rotation", "axis_angle"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"model_config lacks or garbles {exc}") from None
        self.cosine = bool(config.get("entropy_guided", False))
        try:
            self.encoder = _Stack(tensors, _MODEL + "encoder", plans[0])
            self.decoder = _Stack(tensors, _MODEL + "decoder", plans[1])
            codebooks = [np.asarray(tensors[_CODEBOOK.format(q=q)], dtype=np.float64) for q in range(self.Q)]
        except KeyError as exc:
            raise ValueError(f"the weights lack {exc.args[0]}") from None
        # Weights with more codebook layers than Q are another bundle's (rqvae-9's in rqvae-6).
        layers = {int(m.group(1)) for key in tensors if (m := _LAYER.match(key))}
        if layers != set(range(self.Q)):
            raise ValueError(f"the weights hold {len(layers)} codebook layers, model_config Q={self.Q}")
        self.codebooks = np.stack([c.reshape(c.shape[-2:]) for c in codebooks])  # (Q, D, L)
        L = self.codebooks.shape[2]
        if self.codebooks.shape[1] != self.D:
            raise ValueError(f"codebooks {self.codebooks.shape} do not hold D={self.D} codes")
        if self.encoder.first[0].shape[1] != F or self.decoder.last[0].shape[0] != F:
            raise ValueError(f"the encoder or decoder is not {F} features wide (part {self.part})")
        if self.encoder.last[0].shape[0] != L or self.decoder.first[0].shape[1] != L:
            raise ValueError(f"the latent width of the encoder or decoder is not the codebooks' {L}")
        self._code_sq = np.einsum("qdl,qdl->qd", self.codebooks, self.codebooks)  # (Q, D)

    def encode_latent(self, x: np.ndarray) -> np.ndarray:
        """(T, W) normalised model frames -> (T / fpl, L) continuous latents."""
        return self.encoder(np.asarray(x, dtype=np.float64))

    def quantise(self, z: np.ndarray) -> np.ndarray:
        """(T, L) latents -> (T, Q) int64 tokens by residual quantisation (module docstring)."""
        residual = np.array(z, dtype=np.float64)
        tokens = np.empty((len(residual), self.Q), dtype=np.int64)
        for q in range(self.Q):
            codes = self.codebooks[q]
            if self.cosine:
                unit = residual / np.maximum(np.linalg.norm(residual, axis=1, keepdims=True), _L2NORM_EPS)
                tokens[:, q] = np.argmax(unit @ codes.T, axis=1)
            else:  # |r - c|^2 without the |r|^2 term, which does not change the argmin
                tokens[:, q] = np.argmin(self._code_sq[q][None, :] - 2.0 * residual @ codes.T, axis=1)
            residual = residual - codes[tokens[:, q]]
        return tokens

    def tokens(self, x: np.ndarray) -> np.ndarray:
        """(T, W) normalised model frames -> (T / fpl, Q) int64 tokens."""
        return self.quantise(self.encode_latent(x))

    def codes(self, tokens: np.ndarray) -> np.ndarray:
        """(T, Q) tokens -> (T, L) quantised latents: the sum of the chosen codes."""
        return self.codebooks[np.arange(self.Q)[None, :], tokens].sum(axis=1)

    def decode_tokens(self, tokens: np.ndarray) -> np.ndarray:
        """(N, Q) tokens in [0, D) -> (N x fpl, W) normalised model frames (float64)."""
        return self.decoder(self.codes(tokens))


class RQVAENumpyCodec(ResidualCodec):
    """The RQ-VAE codec run in numpy (no torch): tokens (N, Q) in [0, D), as RQVAECodec.
    Raises ValueError when the weights do not fit the model_config."""

    def __init__(self, manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None):
        super().__init__(manifest, tensors, bundle)
        self.model = RQVAENumpy(self.model_config, tensors)

    def _tokens(self, normalised: np.ndarray) -> np.ndarray:
        return self.model.tokens(normalised)

    def _decode_normalised(self, tokens: np.ndarray) -> np.ndarray:
        return self.model.decode_tokens(tokens)


class RQVAE4NumpyCodec(DownsampledFamily, RQVAENumpyCodec):
    """The temporally downsampled RQ-VAE (one latent per 4 frames) run in numpy."""

