"""Frechet Gesture Distance: the Frechet distance between Gaussians fitted to two sets of
motion-encoder features (encoder.py), as FID is for images and EMAGE's FGD for gestures.

    d^2 = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))

with sample means and covariances (N - 1 normalised); the matrix square root is scipy's
`linalg.sqrtm`. Its imaginary part, which rounding gives near-singular products, is dropped,
and a small ridge (EPS on the diagonals, EMAGE's too) keeps the product's root defined when
a set has fewer samples than feature dimensions. With few samples the covariance is poorly
estimated and FGD is biased upwards (even two draws from one distribution score above 0):
compare figures made with the same sample counts only.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ..errors import MotionTokensError

#: Ridge added to each covariance's diagonal before the matrix square root.
EPS = 1e-6


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), covariance (D, D)) float64 of (N, D) features, N >= 2."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise MotionTokensError(f"FGD needs (N, D) features with N >= 2, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise MotionTokensError("FGD features hold NaN or infinite values")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance(mu_a, cov_a, mu_b, cov_b, eps: float = EPS) -> float:
    """The squared Frechet distance between N(mu_a, cov_a) and N(mu_b, cov_b)."""
    mu_a, mu_b = np.asarray(mu_a, np.float64), np.asarray(mu_b, np.float64)
    cov_a, cov_b = np.atleast_2d(cov_a).astype(np.float64), np.atleast_2d(cov_b).astype(np.float64)
    ridge = eps * np.eye(len(cov_a))
    root = linalg.sqrtm((cov_a + ridge) @ (cov_b + ridge))
    root = root.real if np.iscomplexobj(root) else root
    diff = mu_a - mu_b
    value = diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(root)
    return float(max(value, 0.0))  # rounding can take an identical pair a hair below 0


def fgd(features_a, features_b) -> float:
    """FGD between two (N, D) feature sets (N may differ, D must not)."""
    a, b = gaussian_stats(features_a), gaussian_stats(features_b)
    if a[0].shape != b[0].shape:
        raise MotionTokensError(f"FGD compares features of one width, got {a[0].shape[0]} and {b[0].shape[0]}")
    return frechet_distance(*a, *b)
