"""The generator's configuration: what the network looks like and which token streams it models.

One `GeneratorConfig` is saved in the bundle's manifest (`model_config`) and rebuilt from it
(`GeneratorConfig.from_dict`), so the torch model (model.py) and the numpy one (numpy_model.py)
are built from the same numbers and read the same weight names.

Token streams: part p has `levels[p]` codebooks of `vocab[p]` codes each (k-means: 1 level of k
codes; RQ-VAE: Q levels of D codes). The embedding table of each level holds one more row, the
MASK token (index vocab[p]), used by masked (MaskGIT-style) training and decoding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

#: The ablations a generator can be trained as, for the speech report (core/generate/training.py):
#: without the part cross-attention, or one token stream of one codebook for all parts.
ABLATIONS = ("no-cross-attention", "shared-codebook")


@dataclass(frozen=True)
class GeneratorConfig:
    """parts: the token streams, in order ('body', 'hands', ...); vocab, levels: per part, the
    codes per codebook and the codebooks per frame; audio_dims: C, the audio feature width;
    d_model, layers, heads, ff: the transformer's width, depth, attention heads and feed-forward
    width; window: token frames per generation window (the longest sequence the positional
    table covers); overlap: token frames shared by neighbouring windows; decode_steps: MaskGIT
    iterations per window; cross_attention: whether each part attends to the other parts
    (False is the ablation without it); audio_frames_per_token: audio feature frames pooled
    into one token frame (the codec's frames_per_latent)."""

    parts: tuple[str, ...]
    vocab: tuple[int, ...]
    levels: tuple[int, ...]
    audio_dims: int
    d_model: int = 128
    layers: int = 2
    heads: int = 4
    ff: int = 256
    window: int = 64
    overlap: int = 8
    decode_steps: int = 4
    cross_attention: bool = True
    audio_frames_per_token: int = 1

    def __post_init__(self):
        n = len(self.parts)
        if n == 0 or len(self.vocab) != n or len(self.levels) != n:
            raise ValueError(f"parts {self.parts}, vocab {self.vocab} and levels {self.levels} must be equally long")
        if self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of heads {self.heads}")
        if not 0 <= 2 * self.overlap < self.window:
            raise ValueError(f"overlap {self.overlap} must be under half the window {self.window}")
        if min(self.vocab) < 2 or min(self.levels) < 1 or self.audio_dims < 1 or self.decode_steps < 1:
            raise ValueError("vocab >= 2, levels >= 1, audio_dims >= 1 and decode_steps >= 1 are required")

    def mask_id(self, part: str) -> int:
        """The MASK token of `part`'s embeddings: one past its codes."""
        return self.vocab[self.parts.index(part)]

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorConfig":
        """The config of a manifest's `model_config`; ValueError naming what is missing or wrong."""
        if not isinstance(d, dict):
            raise ValueError(f"model_config must be an object, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"model_config has unknown fields {sorted(unknown)}")
        try:
            kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
            return cls(**kw)
        except TypeError as exc:
            raise ValueError(f"model_config is incomplete ({exc})") from None
