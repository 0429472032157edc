"""What every codec is: `Codec`, the loaded codec of one part, and `ResidualCodec`, the base of
the RQ-VAE backends (numpy for inference, torch for training).

A codec codes one part's features (features.py: (T, F) axis-angle at 30 fps) into tokens:
(T,) for a single codebook (k-means), (T, Q) for Q residual codebooks (RQ-VAE). What callers
need to know of a family without branching on its name is a class attribute or property here:
`token_shape`, `codebook_size`, `codebooks`, `size_fields` / `size_label`, `check_tokens`, and
`BITRATES`, the bits per frame offered and the manifest's size fields that give them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from ..errors import MotionTokensError
from .bundle import Bundle, bits_per_frame
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
    def decode(self, tokens) -> np.ndarray:
        """int64 tokens of token_shape(T) -> (T, F) float32 axis-angle features."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}-{self.part}: {self.bits_per_frame:g} bits/frame>"


class ResidualCodec(Codec):
    """Q residual codebooks of D codes (RQ-VAE): tokens (T, Q) int64 in [0, D).

    What the backends share: D and Q, the manifest's `model_config` (checked to agree with
    D, Q and the part), the normalisation, the empty-input cases. A backend implements
    `_tokens` and `_decode_normalised` on normalised features.
    Raises ValueError when the model_config disagrees with the manifest.
    """

    family = "rqvae"
    family_label = "RQ-VAE"
    family_description = "Convolutional autoencoder with Q residual codebooks of D codes (Q log2 D bits)"
    SIZE_FIELDS = ("D", "Q")
    BITRATES: ClassVar[dict[int, dict[str, int]]] = {6: {"D": 8, "Q": 2}, 9: {"D": 8, "Q": 3}, 10: {"D": 32, "Q": 2}, 12: {"D": 8, "Q": 4}}

    def __init__(self, manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None):
        super().__init__(manifest, tensors, bundle)
        self.D, self.Q = int(manifest["D"]), int(manifest["Q"])
        self.model_config: dict = manifest["model_config"]
        config = self.model_config
        if (int(config["D"]), int(config["Q"]), config["part"]) != (self.D, self.Q, self.part):
            raise ValueError("model_config disagrees with the manifest's D, Q or part")

    @property
    def codebook_size(self) -> int:
        return self.D

    @property
    def codebooks(self) -> int:
        return self.Q

    def token_shape(self, frames: int) -> tuple[int, ...]:
        return (frames, self.Q)

    @property
    def context_frames(self) -> tuple[int, int]:
        """The receptive field of the model's convolutions (rqvae.py), either side: the
        encoder's k=3 first conv (1 frame), a dilated k=3 conv per block (d frames) and k=1
        last; the decoder's the same plus its k=3 last conv (1 more)."""
        reach = 1 + sum(int(d) for d in self.model_config["dilations"])
        return (reach, reach + 1)

    @abstractmethod
    def _tokens(self, normalised: np.ndarray) -> np.ndarray:
        """(T, F) normalised features, T > 0 -> (T, Q) int64 tokens."""

    @abstractmethod
    def _decode_normalised(self, tokens: np.ndarray) -> np.ndarray:
        """(T, Q) int64 tokens, T > 0 -> (T, F) normalised features."""

    def encode(self, features) -> np.ndarray:
        f = self._check_features(features)
        if len(f) == 0:
            return np.zeros((0, self.Q), dtype=np.int64)
        return self._tokens(self.normalisation.normalise(f))

    def decode(self, tokens) -> np.ndarray:
        t = self._decodable(tokens)
        if len(t) == 0:
            return np.zeros((0, self.num_features), dtype=np.float32)
        return self.normalisation.denormalise(self._decode_normalised(t))
