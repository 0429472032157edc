"""The RQ-VAE codec model: a 1-D convolutional autoencoder over time with residual VQ.

Shapes: features are (B, T, F) normalised axis-angle of one part (features.py); the model
works on (B, C, T) inside. One latent per frame (no temporal downsampling), so a frame's
tokens are Q indices into Q codebooks of D entries: bits/frame = Q * log2(D).

    encoder: Conv1d(F -> H, k=3) . ResBlock(dilation d) for d in dilations . ReLU . Conv1d(H -> L, k=1)
    quantiser: vector_quantize_pytorch.ResidualVQ(dim=L, num_quantizers=Q, codebook_size=D),
        codebooks initialised by k-means on the first batch, updated by EMA, and codes whose
        EMA usage falls below `dead_code_threshold` vectors replaced by batch vectors (no
        dead codes)
    decoder: Conv1d(L -> H, k=3) . ResBlock(d) for d in dilations . ReLU . Conv1d(H -> F, k=3)
    ResBlock(d): x + Conv1d(H -> H, k=1)(ReLU(Conv1d(H -> H, k=3, dilation=d)(ReLU(x))))
Every convolution pads so that the length is kept, replicating the edge frames, so a
sequence of any length is coded in one pass. With dilations (1, 3, 9, 27) the decoder's
output at a frame depends on the tokens of 42 frames (1.4 s) either side: this temporal
context is what lets it reconstruct better than a per-frame codebook of the same size.
(Measured at 9 bits on the held-out body split, 1,500 steps: dilations (1, 3, 9) 8.5 cm,
(1, 3, 9, 27) 8.0 cm, (1, 3, 9, 27, 81) 8.4 cm; hidden 128 instead of 64 gave no gain.)

Entropy-guided option (`entropy_guided=True`): the quantiser assigns codes by cosine
similarity with Gumbel noise during training (ResidualVQ's `use_cosine_sim` and
`stochastic_sample_codes` with `sample_codebook_temp`); beside it, the soft assignment
p = softmax((cos(residual, codes) / temperature) + Gumbel noise) of every layer feeds an
exponential moving average of code usage, u <- 0.95 u + 0.05 mean_batch(p), and the loss
adds KL(u || uniform) = log D - H(u), pushing usage towards uniform (the batch term carries
the gradient, the past is a constant). The library's own `codebook_diversity_loss` is the
same entropy on the batch average alone, without the EMA, so it is not used. The EMA usage
is kept in the bundle (`usage_ema`), where it also serves to weight rare codes later.
Measured at 9 bits on the held-out body split (1,500 steps, dilations (1, 3, 9)): 9.1 cm
RMSE and 45.5% of the 512 token tuples used with it, 8.5 cm and 43.2% without; cosine
assignment drops the latents' magnitudes, which residual quantisation needs, so the shipped
bundles are trained without it.

`RQVAECodec` runs a bundle on this torch model (training, and the reference the numpy
inference of rqvae_numpy.py is tested against).

The configuration is a plain dict (`RQVAEConfig.to_dict`), saved in the manifest; the model
is rebuilt from it and its state_dict loaded from safetensors (never torch.load).

`core.nn.kinematics.PartPositions` is forward kinematics in torch for the loss: the `part_positions` of features.py
(positions of the points a part's pose moves), differentiable.

Version 2 (issue 14; `rotation` and `frames_per_latent` in the config, both absent from the
bundles made before, which load as before): `rotation="6d"` codes each joint's 6D rotation
(the matrix's first two columns) instead of its axis-angle, normalised per dimension
(`input_mean`, `input_std`), and decodes 6D made a rotation by Gram-Schmidt;
`frames_per_latent=4` (family `rqvae4`) codes one latent per 4 frames: the encoder halves
the rate twice with strided convolutions, the decoder doubles it twice (nearest-neighbour
upsampling and a convolution). The layers are base.layer_plan's, which the numpy inference
runs too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from .base import DownsampledFamily, ResidualCodec, layer_plan, model_width
from .bundle import Bundle

#: EMA factor of the entropy-guided code usage (the issue's alpha).
USAGE_EMA_ALPHA = 0.95


@dataclass(frozen=True)
class RQVAEConfig:
    """Everything needed to rebuild the model (saved in the manifest as `model_config`)."""

    part: str
    D: int
    Q: int
    hidden: int = 64
    latent: int = 16
    dilations: tuple[int, ...] = (1, 3, 9, 27)
    entropy_guided: bool = False
    rotation: str = "axis_angle"
    frames_per_latent: int = 1
    stage_dilations: tuple[int, ...] = (1, 3)
    gumbel_temperature: float = 0.1
    codebook_decay: float = 0.8
    dead_code_threshold: float = 2.0
    kmeans_iters: int = 10

    def __post_init__(self):
        if self.rotation not in ("axis_angle", "6d"):
            raise ValueError(f"rotation must be 'axis_angle' or '6d', got {self.rotation!r}")
        f = int(self.frames_per_latent)
        if f < 1 or f & (f - 1):
            raise ValueError(f"frames_per_latent must be a power of 2, got {self.frames_per_latent}")

    @property
    def num_features(self) -> int:
        """Width of the model's input and output frames (model_width)."""
        return model_width(self.part, self.rotation)

    @property
    def bits_per_frame(self) -> float:
        return self.Q * math.log2(self.D) / self.frames_per_latent

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dilations"] = list(self.dilations)
        d["stage_dilations"] = list(self.stage_dilations)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RQVAEConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown RQ-VAE config fields {sorted(unknown)}")
        d = dict(d)
        for key in ("dilations", "stage_dilations"):
            if key in d:
                d[key] = tuple(int(x) for x in d[key])
        return cls(**d)


class ResBlock(nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation, padding_mode="replicate")
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x):
        return x + self.mix(torch.relu(self.conv(torch.relu(x))))


def _layer(entry: tuple) -> nn.Module:
    kind = entry[0]
    if kind == "conv":
        _, c_in, c_out, k, stride, pad, d = entry
        return nn.Conv1d(c_in, c_out, k, stride=stride, padding=pad, dilation=d, padding_mode="replicate")
    if kind == "res":
        return ResBlock(entry[1], entry[2])
    if kind == "relu":
        return nn.ReLU()
    return nn.Upsample(scale_factor=2, mode="nearest")


def _stack(config: "RQVAEConfig", side: str) -> nn.Sequential:
    """The encoder or decoder of base.layer_plan."""
    return nn.Sequential(*[_layer(e) for e in layer_plan(config.to_dict(), side)])


def sixd_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt, as core.rotations.sixd_to_matrix (columns)."""
    a, b = d6[..., :3], d6[..., 3:]
    c0 = nn.functional.normalize(a, dim=-1, eps=1e-8)
    b = b - (c0 * b).sum(-1, keepdim=True) * c0
    c1 = nn.functional.normalize(b, dim=-1, eps=1e-8)
    return torch.stack([c0, c1, torch.cross(c0, c1, dim=-1)], dim=-1)


@dataclass
class ForwardResult:
    """What `RQVAE.forward` returns. recon (B, T, F); indices (B, T, Q) int64;
    commit_loss scalar; entropy_loss scalar (zero unless entropy-guided)."""

    recon: torch.Tensor
    indices: torch.Tensor
    commit_loss: torch.Tensor
    entropy_loss: torch.Tensor = field(default_factory=lambda: torch.zeros(()))


class RQVAE(nn.Module):
    def __init__(self, config: RQVAEConfig):
        from vector_quantize_pytorch import ResidualVQ

        super().__init__()
        self.config = config
        L = config.latent
        self.encoder = _stack(config, "encoder")
        self.decoder = _stack(config, "decoder")
        self.quantizer = ResidualVQ(
            dim=L,
            num_quantizers=config.Q,
            codebook_size=config.D,
            kmeans_init=True,
            kmeans_iters=config.kmeans_iters,
            threshold_ema_dead_code=config.dead_code_threshold,
            decay=config.codebook_decay,
            use_cosine_sim=config.entropy_guided,
            stochastic_sample_codes=config.entropy_guided,
            sample_codebook_temp=config.gumbel_temperature if config.entropy_guided else 1.0,
        )
        # EMA of the soft code usage (Q, D), entropy-guided training only; starts uniform.
        self.register_buffer("usage_ema", torch.full((config.Q, config.D), 1.0 / config.D))

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, W) normalised model frames, T a multiple of frames_per_latent -> (B, T / fpl, L)."""
        return self.encoder(x.transpose(1, 2)).transpose(1, 2)

    def decode_latent(self, z: torch.Tensor) -> torch.Tensor:
        """(B, N, L) quantised latents -> (B, N x fpl, W) normalised model frames."""
        return self.decoder(z.transpose(1, 2)).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> ForwardResult:
        z = self.encode_latent(x)
        zq, indices, commit = self.quantizer(z, return_all_codes=False)
        entropy = self._entropy_loss(z, indices) if (self.config.entropy_guided and self.training) else torch.zeros(())
        return ForwardResult(self.decode_latent(zq), indices, commit.sum(), entropy)

    @torch.no_grad()
    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, W) normalised model frames -> (B, T / fpl, Q) int64 tokens (eval mode: nearest codes)."""
        _, indices, _ = self.quantizer(self.encode_latent(x))
        return indices

    def decode_tokens(self, indices: torch.Tensor) -> torch.Tensor:
        """(B, N, Q) int64 tokens -> (B, N x fpl, W) normalised model frames."""
        return self.decode_latent(self.quantizer.get_output_from_indices(indices))

    def _entropy_loss(self, z: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """KL(EMA usage || uniform), summed over layers; updates `usage_ema`.

        Layer q's residual is z minus the codes chosen by the layers before it (the chosen
        codes as constants, so the gradient reaches the encoder through z).
        """
        codebooks = self.quantizer.codebooks.detach()  # (Q, D, L), unit vectors (cosine codebooks)
        chosen = torch.stack([codebooks[q][indices[..., q]] for q in range(self.config.Q)])  # (Q, B, T, L)
        residual = z.reshape(1, *z.shape) - torch.cumsum(torch.cat([torch.zeros_like(chosen[:1]), chosen[:-1]]), 0)
        cos = torch.einsum("qbtl,qdl->qbtd", nn.functional.normalize(residual, dim=-1), codebooks)
        gumbel = -torch.log(-torch.log(torch.rand_like(cos).clamp(1e-9, 1.0 - 1e-9)))
        p = torch.softmax(cos / self.config.gumbel_temperature + gumbel, dim=-1)  # (Q, B, T, D)
        usage = USAGE_EMA_ALPHA * self.usage_ema + (1.0 - USAGE_EMA_ALPHA) * p.mean(dim=(1, 2))
        self.usage_ema.copy_(usage.detach())
        entropy = -(usage * torch.log(usage.clamp_min(1e-12))).sum(dim=-1)
        return (math.log(self.config.D) - entropy).sum()


class RQVAECodec(ResidualCodec):
    """The RQ-VAE codec on the torch model: tokens (N, Q) in [0, D), as RQVAENumpyCodec.

    Raises ValueError for a model_config that disagrees with the manifest, RuntimeError for
    weights whose names or shapes do not fit the model.
    """

    def __init__(self, manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None):
        super().__init__(manifest, tensors, bundle)
        self.config = RQVAEConfig.from_dict(self.model_config)
        self.model = RQVAE(self.config)
        state = {k[len("model."):]: torch.from_numpy(np.array(v)) for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(state, strict=True)
        self.model.eval()

    def _tokens(self, normalised: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.model.tokens(torch.from_numpy(normalised)[None])[0].numpy().astype(np.int64)

    def _decode_normalised(self, tokens: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.model.decode_tokens(torch.from_numpy(tokens)[None])[0].numpy()


class RQVAE4Codec(DownsampledFamily, RQVAECodec):
    """The temporally downsampled RQ-VAE (one latent per 4 frames) on the torch model."""

