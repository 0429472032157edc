"""k-means codebooks: fitting (scikit-learn MiniBatchKMeans), nearest-centroid coding, lookup.

A k-means codec maps each frame's normalised feature vector (features.py) to the index of
its nearest centroid: log2(k) bits per frame, one token per frame, no temporal context.
Decoding is a table lookup. Fitting uses MiniBatchKMeans with k-means++ initialisation and a
fixed `random_state`, so a seed gives the same codebook. `KMeansCodec` is the loaded codec.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .base import Codec
from .bundle import Bundle

# Rows of the (rows x k) distance matrix computed at once in nearest-centroid coding:
# 2048 rows x 4096 centroids x 8 bytes = 64 MiB at most.
_CHUNK = 2048


def fit_kmeans(vectors: np.ndarray, k: int, seed: int = 0, max_iter: int = 100) -> np.ndarray:
    """(k, F) float32 centroids of (N, F) vectors.

    Raises ValueError when there are fewer vectors than centroids: such a codebook cannot be
    fitted (the caller must bring more data, never pad with invented vectors).
    """
    from sklearn.cluster import MiniBatchKMeans

    x = np.asarray(vectors, dtype=np.float64)
    if x.ndim != 2 or len(x) < k:
        raise ValueError(f"k-means with k={k} needs at least {k} vectors (N, F), got {x.shape}")
    km = MiniBatchKMeans(
        n_clusters=k,
        init="k-means++",
        random_state=seed,
        batch_size=max(4096, 2 * k),  # several points per centroid in every mini-batch
        max_iter=max_iter,
        n_init=1,
        init_size=min(len(x), max(3 * k, 8192)),
        max_no_improvement=20,
        reassignment_ratio=0.01,  # re-seeds centroids that attract almost nothing (no dead codes)
    )
    km.fit(x)
    return km.cluster_centers_.astype(np.float32)


def nearest_centroid(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(N,) int64 index of the nearest centroid (Euclidean) of each of the (N, F) vectors.

    Vectorised in chunks with |x - c|^2 = |x|^2 - 2 x.c + |c|^2 (the |x|^2 term does not change
    the argmin and is left out); ties go to the lower index.
    """
    x = np.asarray(vectors, dtype=np.float64)
    c = np.asarray(centroids, dtype=np.float64)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ValueError(f"vectors (N, F) and centroids (k, F) must share F, got {x.shape} and {c.shape}")
    c_sq = np.einsum("kf,kf->k", c, c)
    out = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), _CHUNK):
        block = x[start : start + _CHUNK]
        out[start : start + _CHUNK] = np.argmin(c_sq[None, :] - 2.0 * block @ c.T, axis=1)
    return out


def centroid_lookup(tokens: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(N, F) float32 centroids of the (N,) tokens; ValueError for tokens outside [0, k)."""
    tokens = np.asarray(tokens)
    k = len(centroids)
    if not np.issubdtype(tokens.dtype, np.integer) or tokens.ndim != 1:
        raise ValueError(f"k-means tokens must be a 1-D integer array, got {tokens.dtype} {tokens.shape}")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= k):
        raise ValueError(f"k-means tokens must lie in [0, {k}), got [{tokens.min()}, {tokens.max()}]")
    return np.asarray(centroids, dtype=np.float32)[tokens]


class KMeansCodec(Codec):
    """Nearest-centroid coding: tokens (T,) int64 in [0, k); centroids (k, F) normalised."""

    family = "kmeans"
    family_label = "k-means"
    family_description = "One codebook of k poses per part; a token is the nearest pose (log2 k bits)"
    SIZE_FIELDS = ("k",)
    BITRATES: ClassVar[dict[int, dict[str, int]]] = {6: {"k": 64}, 9: {"k": 512}, 10: {"k": 1024}, 12: {"k": 4096}}

    def __init__(self, manifest: dict, tensors: dict[str, np.ndarray], bundle: Bundle | None = None):
        super().__init__(manifest, tensors, bundle)
        self.centroids = np.asarray(tensors["centroids"], dtype=np.float32)
        self.k = int(manifest["k"])
        if self.centroids.shape != (self.k, self.num_features):
            raise ValueError(f"centroids {self.centroids.shape}, expected ({self.k}, {self.num_features})")

    @property
    def codebook_size(self) -> int:
        return self.k

    @property
    def codebooks(self) -> int:
        return 1

    def token_shape(self, frames: int) -> tuple[int, ...]:
        return (frames,)

    def encode(self, features) -> np.ndarray:
        f = self._check_features(features)
        return nearest_centroid(self.normalisation.normalise(f), self.centroids)

    def decode(self, tokens, num_frames: int | None = None) -> np.ndarray:
        t = self._decodable(tokens)
        self._frames_out(len(t), num_frames)  # one frame per token: num_frames must be len(t)
        return self.normalisation.denormalise(centroid_lookup(t, self.centroids))
