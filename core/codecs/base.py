"""What every codec is: `Codec`, the loaded codec of one part, and `ResidualCodec`, the base of
the RQ-VAE backends (numpy for inference, torch for training).

A codec codes one part's features (features.py: (T, F) axis-angle at 30 fps) into tokens:
(T,) for a single codebook (k-means), (T, Q) for Q residual codebooks (RQ-VAE). What callers
need to know of a family without branching on its name is a class attribute or property here:
`token_shape`, `codebook_size`, `codebooks`, `size_fields` / `size_label`, `check_tokens`, and
`BITRATES`, the bits per frame offered and the manifest's size fields that give them.

Rates: a codec codes `frames_per_latent` frames (1, or 4 for the temporally downsampled
RQ-VAE) into one latent, whose tokens are (Q,) or one integer; bits per frame = bits per latent
/ frames_per_latent, bits per second = bits per frame x fps, tokens per second `token_fps` =
fps / frames_per_latent. `encode` of T frames gives ceil(T / frames_per_latent) latents'
tokens; `decode(tokens, num_frames)` gives num_frames frames (default all the latents cover).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from .. import rotations as rot
from ..errors import MotionTokensError
from ..parts import get_part
from .bundle import Bundle, bits_per_frame, frames_per_latent
from .codebook_sizes import DOWNSAMPLED_BITRATES, DOWNSAMPLED_PART_BITRATES, RQVAE_BITRATES
from .features import Normalisation, num_features


def size_label(fields: dict[str, int]) -> str:
    """'k=512' or 'D=8 x Q=3': a codebook's size for listings and reports."""
    return " x ".join(f"{key}={value}" for key, value in fields.items())


def _shape_text(shape: tuple) -> str:
    """(150,) -> '(150,)', ('T', 3) -> '(T, 3)'."""
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


class Codec(ABC):
    """A loaded codec for one part. Subclasses implement `encode`, `decode`, `codebook_size`,
    `codebooks` and `token_shape`.

    manifest: the bundle's (name 'kmeans-9', 'rqvae-12', ...; part 'body' or 'hands');
    tensors: its weights, `mean` and `std` (F,) the features' normalisation;
    bundle: the verified Bundle it was loaded from (None for one built in memory).
    """

    family: ClassVar[str] = ""
    #: The family's name for the user ('k-means').
    family_label: ClassVar[str] = ""
    #: One line on how the family codes, for tooltips.
    family_description: ClassVar[str] = ""
    #: The manifest fields that size the codebooks, in the order they are shown.
    SIZE_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: Bits per frame offered -> the size fields that give them ({9: {'k': 512}}).
    BITRATES: ClassVar[dict[int, dict[str, int]]] = {}
    #: Part -> bits per frame -> size fields, where a part's data call for other codebooks
    #: than BITRATES' at the same bits.
    PART_BITRATES: ClassVar[dict[str, dict[int, dict[str, int]]]] = {}

    @classmethod
    def sizes_at(cls, bits: int, part: str) -> dict[str, int]:
        """The size fields of the family's `part` codec at `bits` per frame (PART_BITRATES, else
        BITRATES); KeyError for bits the family does not offer."""
        return cls.PART_BITRATES.get(part, {}).get(bits) or cls.BITRATES[bits]

    def __init__(self, manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None):
        self.manifest = manifest
        self.name = manifest["name"]
        self.part = manifest["part"]
        self.normalisation = Normalisation(tensors["mean"], tensors["std"])
        self.bundle = bundle

    @classmethod
    def size_fields_of(cls, manifest: dict) -> dict[str, int]:
        """The manifest's size fields ({'k': 512} or {'D': 8, 'Q': 3}); KeyError if one lacks."""
        return {key: int(manifest[key]) for key in cls.SIZE_FIELDS}

    @property
    def size_fields(self) -> dict[str, int]:
        return self.size_fields_of(self.manifest)

    @property
    def size_label(self) -> str:
        return size_label(self.size_fields)

    @property
    def bits_per_frame(self) -> float:
        return bits_per_frame(self.manifest)

    @property
    def frames_per_latent(self) -> int:
        """Frames coded into one latent (one row of tokens): 1, or 4 when downsampled."""
        return frames_per_latent(self.manifest)

    @property
    def token_fps(self) -> float:
        """Rows of tokens per second: fps / frames_per_latent."""
        return self.fps / self.frames_per_latent

    def num_latents(self, frames: int) -> int:
        """Rows of tokens that code `frames` frames: ceil(frames / frames_per_latent)."""
        return -(-int(frames) // self.frames_per_latent)

    @property
    def context_frames(self) -> tuple[int, int]:
        """(encoding, decoding): how many frames either side a frame's tokens, and its
        decoded features, depend on; (0, 0) for a codec that codes each frame alone."""
        return (0, 0)

    @property
    def fps(self) -> float:
        return float(self.manifest.get("fps", 30))

    @property
    def bits_per_second(self) -> float:
        return self.bits_per_frame * self.fps

    @property
    def num_features(self) -> int:
        return num_features(self.part)

    @property
    @abstractmethod
    def codebook_size(self) -> int:
        """Entries of each codebook: tokens lie in [0, codebook_size) (k, or D)."""

    @property
    @abstractmethod
    def codebooks(self) -> int:
        """Codebooks a frame's token indexes: 1 (k-means) or Q (residual)."""

    @abstractmethod
    def token_shape(self, frames: int) -> tuple[int, ...]:
        """The shape of the tokens of `frames` frames: (frames,) or (frames, Q)."""

    def check_tokens(self, tokens, frames: int | None = None, frames_in: str = "") -> np.ndarray:
        """`tokens` as int64, checked to be integers of `token_shape(frames)` (any number of
        frames when None) in [0, codebook_size). Raises ValueError saying what is wrong,
        phrased to follow the array's name ('has shape (9,), expected (10,) (...)');
        frames_in names where the frame count comes from ('`poses`')."""
        t = np.asarray(tokens)
        if t.dtype.kind not in "iu":
            raise ValueError(f"holds {t.dtype} values; tokens are integers")
        what = f"{self.family_label} codec {self.name}: {', '.join(f'{k}={v}' for k, v in self.size_fields.items())}"
        if frames is None:
            expected = self.token_shape(t.shape[0] if t.ndim else 0)
            shown = ("T", *expected[1:])
        else:
            expected = shown = self.token_shape(frames)
            what += f"; {frames} frames" + (f" in {frames_in}" if frames_in else "")
        if t.shape != expected:
            raise ValueError(f"has shape {t.shape}, expected {_shape_text(shown)} ({what})")
        if t.size and (t.min() < 0 or t.max() >= self.codebook_size):
            raise ValueError(f"holds tokens in [{t.min()}, {t.max()}], outside [0, {self.codebook_size}) ({what})")
        return t.astype(np.int64)

    def _decodable(self, tokens) -> np.ndarray:
        """check_tokens for `decode`: MotionTokensError naming the codec."""
        try:
            return self.check_tokens(tokens)
        except ValueError as exc:
            raise MotionTokensError(f"codec {self.name} ({self.part}): the token array {exc}") from None

    def _check_features(self, features) -> np.ndarray:
        f = np.asarray(features, dtype=np.float32)
        if f.ndim != 2 or f.shape[1] != self.num_features:
            raise MotionTokensError(
                f"codec {self.name} ({self.part}) codes ({self.num_features},)-wide frames, got features {f.shape}"
            )
        return f

    @abstractmethod
    def encode(self, features) -> np.ndarray:
        """(T, F) axis-angle features -> int64 tokens of token_shape(T)."""

    @abstractmethod
    def decode(self, tokens, num_frames: int | None = None) -> np.ndarray:
        """int64 tokens of token_shape(N) -> (num_frames, F) float32 axis-angle features;
        num_frames (default N x frames_per_latent) trims the last latent's padding and must lie
        in ((N - 1) x frames_per_latent, N x frames_per_latent]."""

    def _frames_out(self, latents: int, num_frames: int | None) -> int:
        """The decoded frame count; MotionTokensError unless `num_frames` fits `latents`."""
        fpl = self.frames_per_latent
        if num_frames is None:
            return latents * fpl
        n = int(num_frames)
        if self.num_latents(n) != latents:
            raise MotionTokensError(f"codec {self.name} ({self.part}): {latents} rows of tokens code "
                                    f"{max(latents - 1, 0) * fpl + min(latents, 1)} to {latents * fpl} frames, not {n}")
        return n

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}-{self.part}: {self.bits_per_frame:g} bits/frame>"



def model_width(part: str, rotation: str) -> int:
    """Width of a model's input and output frames: the part's features (axis-angle), or 6 per
    joint plus the expression coefficients (6D)."""
    spec = get_part(part)
    return spec.num_features if rotation == "axis_angle" else 6 * len(spec.joints) + spec.expressions


def features_to_sixd(features: np.ndarray, part: str) -> np.ndarray:
    """(T, F) axis-angle features -> (T, 6 J + E): each joint's 6D (the rotation matrix's
    first two columns, DESIGN.md), then the expression coefficients unchanged. float64."""
    f = np.asarray(features, dtype=np.float64)
    J = len(get_part(part).joints)
    d6 = rot.matrix_to_sixd(rot.axis_angle_to_matrix(f[:, : 3 * J].reshape(len(f), J, 3)))
    return np.concatenate([d6.reshape(len(f), 6 * J), f[:, 3 * J:]], axis=1)


def sixd_to_features(x: np.ndarray, part: str) -> np.ndarray:
    """(T, 6 J + E) -> (T, F) axis-angle features: each 6D vector made a rotation by
    Gram-Schmidt (any non-degenerate vector is one), then its axis-angle. float64."""
    x = np.asarray(x, dtype=np.float64)
    J = len(get_part(part).joints)
    aa = rot.matrix_to_axis_angle(rot.sixd_to_matrix(x[:, : 6 * J].reshape(len(x), J, 6)))
    return np.concatenate([aa.reshape(len(x), 3 * J), x[:, 6 * J:]], axis=1)


def layer_plan(config: dict, side: str) -> list[tuple]:
    """The layers of the RQ-VAE's encoder or decoder, in nn.Sequential order: what rqvae.py
    builds and rqvae_numpy.py runs, so the two cannot disagree.

    Entries: ("conv", c_in, c_out, kernel, stride, padding, dilation), ("res", channels,
    dilation), ("relu",), ("up",) (nearest-neighbour upsampling by 2). Convolutions replicate
    the edge frames. With frames_per_latent = 1 (every bundle made before downsampling) the
    plan is the original one: conv k=3, a ResBlock per dilation, ReLU, conv (k=1 encoder, k=3
    decoder). Downsampled (frames_per_latent = 2^s): the encoder adds s stages of a strided
    conv (k=4, stride 2) and ResBlocks of `stage_dilations`; the decoder mirrors them with an
    upsampling and a k=3 conv each, before its full-rate blocks.
    """
    W = model_width(config["part"], config.get("rotation", "axis_angle"))
    H, L = int(config.get("hidden", 64)), int(config.get("latent", 16))
    dil = [int(d) for d in config["dilations"]]
    stage = [int(d) for d in config.get("stage_dilations", (1, 3))]
    stages = int(config.get("frames_per_latent", 1)).bit_length() - 1
    if side == "encoder":
        plan = [("conv", W, H, 3, 1, 1, 1)] + [("res", H, d) for d in dil]
        for _ in range(stages):
            plan += [("conv", H, H, 4, 2, 1, 1)] + [("res", H, d) for d in stage]
        return plan + [("relu",), ("conv", H, L, 1, 1, 0, 1)]
    plan = [("conv", L, H, 3, 1, 1, 1)]
    for _ in range(stages):
        plan += [("res", H, d) for d in stage] + [("up",), ("conv", H, H, 3, 1, 1, 1)]
    return plan + [("res", H, d) for d in dil] + [("relu",), ("conv", H, W, 3, 1, 1, 1)]


def plan_reach(plan: list[tuple], side: str) -> int:
    """Frames either side (at the full rate) that one output of the plan can depend on,
    rounded up: the slice context coding needs (coding.py)."""
    scale, reach = 1, 0
    # The encoder goes from frames to latents (scale grows at a stride); the decoder is read
    # backwards from its output frames, so an upsampling there grows the scale the same way.
    for layer in (plan if side == "encoder" else reversed(plan)):
        if layer[0] == "conv":
            _, _, _, k, stride, pad, d = layer
            reach += max(pad, (k - 1) * d - pad) * scale
            scale *= stride
        elif layer[0] == "res":
            reach += layer[2] * scale
        elif layer[0] == "up":
            scale *= 2
    return reach + scale - 1  # a frame sits up to scale - 1 frames after its latent's first frame


class ResidualCodec(Codec):
    """Q residual codebooks of D codes (RQ-VAE): tokens (N, Q) int64 in [0, D), one row per
    `frames_per_latent` frames.

    What the backends share: D and Q, the manifest's `model_config` (checked to agree with
    D, Q, the part and frames_per_latent), the model's input (axis-angle normalised by
    `mean`/`std`, or 6D normalised by `input_mean`/`input_std` when `rotation` is "6d"), the
    padding of the last latent (the last frame repeated), the empty-input cases. A backend
    implements `_tokens` and `_decode_normalised` on normalised model frames.
    Raises ValueError when the model_config disagrees with the manifest.
    """

    family = "rqvae"
    family_label = "RQ-VAE"
    family_description = "Convolutional autoencoder with Q residual codebooks of D codes (Q log2 D bits)"
    SIZE_FIELDS = ("D", "Q")
    BITRATES: ClassVar[dict[int, dict[str, int]]] = RQVAE_BITRATES
    #: Frames per latent of the family's bundles.
    FRAMES_PER_LATENT: ClassVar[int] = 1

    def __init__(self, manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None):
        super().__init__(manifest, tensors, bundle)
        self.D, self.Q = int(manifest["D"]), int(manifest["Q"])
        self.model_config: dict = manifest["model_config"]
        config = self.model_config
        if (int(config["D"]), int(config["Q"]), config["part"]) != (self.D, self.Q, self.part):
            raise ValueError("model_config disagrees with the manifest's D, Q or part")
        if self.frames_per_latent != self.FRAMES_PER_LATENT:
            raise ValueError(f"family {self.family} codes {self.FRAMES_PER_LATENT} frames per latent, the manifest's "
                             f"frames_per_latent is {self.frames_per_latent}")
        if int(config.get("frames_per_latent", 1)) != self.frames_per_latent:
            raise ValueError(f"model_config frames_per_latent {config.get('frames_per_latent', 1)} disagrees with "
                             f"the manifest's {self.frames_per_latent}")
        self.rotation = str(config.get("rotation", "axis_angle"))
        if self.rotation not in ("axis_angle", "6d"):
            raise ValueError(f"model_config rotation {self.rotation!r} is not 'axis_angle' or '6d'")
        self.input_normalisation = (Normalisation(tensors["input_mean"], tensors["input_std"])
                                    if self.rotation == "6d" else self.normalisation)

    @property
    def codebook_size(self) -> int:
        return self.D

    @property
    def codebooks(self) -> int:
        return self.Q

    def token_shape(self, frames: int) -> tuple[int, ...]:
        """The tokens' shape for `frames` rows of tokens (latents): (frames, Q)."""
        return (frames, self.Q)

    @property
    def context_frames(self) -> tuple[int, int]:
        """The receptive field of the model's convolutions (layer_plan), either side, in
        frames at the full rate: (encoding, decoding)."""
        return (plan_reach(layer_plan(self.model_config, "encoder"), "encoder"),
                plan_reach(layer_plan(self.model_config, "decoder"), "decoder"))

    def model_input(self, features: np.ndarray) -> np.ndarray:
        """(T, F) features -> (T, W) normalised model frames (float32)."""
        x = features_to_sixd(features, self.part) if self.rotation == "6d" else features
        return self.input_normalisation.normalise(x)

    def model_output(self, normalised: np.ndarray) -> np.ndarray:
        """(T, W) normalised model frames -> (T, F) float32 features."""
        x = self.input_normalisation.denormalise(normalised)
        return (sixd_to_features(x, self.part) if self.rotation == "6d" else x).astype(np.float32)

    @abstractmethod
    def _tokens(self, normalised: np.ndarray) -> np.ndarray:
        """(T, W) normalised model frames, T > 0 a multiple of frames_per_latent -> (T / fpl, Q) int64."""

    @abstractmethod
    def _decode_normalised(self, tokens: np.ndarray) -> np.ndarray:
        """(N, Q) int64 tokens, N > 0 -> (N x fpl, W) normalised model frames."""

    def encode(self, features) -> np.ndarray:
        f = self._check_features(features)
        if len(f) == 0:
            return np.zeros((0, self.Q), dtype=np.int64)
        x = self.model_input(f)
        pad = self.num_latents(len(x)) * self.frames_per_latent - len(x)
        if pad:  # the last latent's missing frames repeat the last frame
            x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
        return self._tokens(x)

    def decode(self, tokens, num_frames: int | None = None) -> np.ndarray:
        t = self._decodable(tokens)
        n = self._frames_out(len(t), num_frames)
        if len(t) == 0:
            return np.zeros((0, self.num_features), dtype=np.float32)
        return self.model_output(self._decode_normalised(t)[:n])


class DownsampledFamily:
    """Mixin: what names the downsampled RQ-VAE family (one latent per 4 frames), shared by its
    numpy and torch backends (list it before the backend class)."""

    family = "rqvae4"
    family_label = "RQ-VAE/4"
    family_description = ("Convolutional autoencoder, one latent per 4 frames with Q residual codebooks "
                          "of D codes (Q log2 D / 4 bits per frame)")
    BITRATES = DOWNSAMPLED_BITRATES
    PART_BITRATES = DOWNSAMPLED_PART_BITRATES
    FRAMES_PER_LATENT = 4
