"""How often each code is used: counts, usage %, perplexity and entropy per codebook level.

Tokens are a part's, as codecs give them: (N,) for k-means (one codebook of k codes), (N, Q)
for RQ-VAE (Q levels of D codes), N the rows of tokens (frames; latents for rqvae4, one per 4
frames). Each level is counted alone: `code_usage_stats` gives one `UsageStats` per level.

    counts         (K,) int64, how many rows use each code; they sum to N
    usage_percent  100 x (codes with a count > 0) / K
    entropy_bits   H = -sum p log2 p over the used codes, p = counts / N (bits; at most log2 K)
    perplexity     2^H: the number of equally used codes with the same entropy (at most K)
    unused         the ids of the codes never used, ascending

core.codecs.metrics.code_usage and perplexity give the same usage % and perplexity from
tokens (the tests hold them to each other); this module also starts from counts
(`usage_from_counts`), as the bundles store their training usage as frequencies.
With no rows (N = 0) the entropy and perplexity are NaN and every code is unused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..formats.tokens import Codebook


@dataclass(frozen=True)
class UsageStats:
    """The usage of one codebook level (module docstring)."""

    counts: np.ndarray
    usage_percent: float
    perplexity: float
    entropy_bits: float
    unused: np.ndarray

    @property
    def num_codes(self) -> int:
        return len(self.counts)

    @property
    def rows(self) -> int:
        """The rows of tokens counted (frames, or latents)."""
        return int(self.counts.sum())

    @property
    def share_percent(self) -> np.ndarray:
        """(K,) float64: each code's share of the rows, in %; zeros when there are no rows."""
        return 100.0 * self.counts / max(self.rows, 1)

    def line(self) -> str:
        """'41/64 codes used (64.1%), perplexity 29.8, entropy 4.90 bits over 1,906 rows'."""
        return (f"{self.num_codes - len(self.unused)}/{self.num_codes} codes used ({self.usage_percent:.1f}%), "
                f"perplexity {self.perplexity:.1f}, entropy {self.entropy_bits:.2f} bits over {self.rows:,} rows")


def usage_from_counts(counts) -> UsageStats:
    """UsageStats of (K,) non-negative integer counts (ValueError for anything else)."""
    c = np.asarray(counts)
    if c.ndim != 1 or c.size == 0 or c.dtype.kind not in "iu" or (c < 0).any():
        raise ValueError(f"code counts must be (K,) non-negative integers, got {c.dtype} {c.shape}")
    c = c.astype(np.int64)
    used = c > 0
    total = int(c.sum())
    if total:
        p = c[used] / total
        entropy = float(-(p * np.log2(p)).sum())
        ppl = float(2.0 ** entropy)
    else:
        entropy = ppl = float("nan")
    return UsageStats(c, 100.0 * int(used.sum()) / len(c), ppl, entropy, np.flatnonzero(~used))


def code_counts(tokens, num_codes: int) -> np.ndarray:
    """(Q, K) int64 counts of each code per level of tokens (N,) or (N, Q) in [0, num_codes);
    a (T,) array is one level. ValueError naming what is wrong (shape, type, range)."""
    if isinstance(num_codes, bool) or not isinstance(num_codes, (int, np.integer)) or num_codes < 1:
        raise ValueError(f"the number of codes must be a positive integer, got {num_codes!r}")
    t = np.asarray(tokens)
    if t.ndim not in (1, 2) or t.dtype.kind not in "iu":
        raise ValueError(f"tokens must be (N,) or (N, Q) integers, got {t.dtype} {t.shape}")
    t = (t[:, None] if t.ndim == 1 else t).astype(np.int64)
    if t.size and (t.min() < 0 or t.max() >= num_codes):
        raise ValueError(f"tokens lie in [{t.min()}, {t.max()}], outside [0, {num_codes})")
    # One bincount over all levels: level q's code c is bin q K + c.
    offsets = np.arange(t.shape[1], dtype=np.int64)[None, :] * num_codes
    return np.bincount((t + offsets).reshape(-1), minlength=t.shape[1] * num_codes).reshape(t.shape[1], num_codes)


def code_usage_stats(tokens, num_codes: int) -> tuple[UsageStats, ...]:
    """One UsageStats per level of tokens (N,) (one level) or (N, Q) in [0, num_codes)."""
    return tuple(usage_from_counts(c) for c in code_counts(tokens, num_codes))


def stats_from_frequencies(frequencies, rows: int) -> tuple[UsageStats, ...]:
    """One UsageStats per level from (K,) or (Q, K) code frequencies (each level summing to
    1, as the bundles' `usage` tensor stores the training usage) over `rows` rows: counts
    rint(frequency x rows), so they sum to `rows` up to rounding (a code with a frequency of
    under 1 / (2 rows) counts 0)."""
    f = np.asarray(frequencies, dtype=np.float64)
    f = f.reshape(1, -1) if f.ndim == 1 else f
    if f.ndim != 2 or (f < 0).any() or not np.isfinite(f).all():
        raise ValueError(f"code frequencies must be (K,) or (Q, K) non-negative numbers, got {f.shape}")
    return tuple(usage_from_counts(np.rint(row * rows).astype(np.int64)) for row in f)


def usage_order(stats: UsageStats | None, num_codes: int, by: str) -> np.ndarray:
    """(K,) code ids in display order: by 'id' ascending, or by 'usage' most used first (ties
    by id, a stable sort). ValueError for another `by` or 'usage' without stats."""
    if by == "id":
        return np.arange(num_codes)
    if by != "usage" or stats is None:
        raise ValueError("codes are sorted by 'id', or by 'usage' given usage stats")
    return np.argsort(-stats.counts, kind="stable")


@dataclass(frozen=True)
class HeldTokens:
    """One part's tokens kept on an action: where (for messages: "the action 'Take'"), the
    codec name and codebook record they were made with, the tokens (T,) or (T, Q)."""

    where: str
    codec_name: str
    codebook: Codebook | None
    tokens: np.ndarray
