"""L1 diversity of generated motion, on (T, J, 3) pelvis-frame joint positions (poses.py).

- `l1_diversity` is EMAGE's L1div: the frames of all clips pooled, each frame's summed
  absolute deviation from their mean pose, averaged over frames (metres, summed over the
  J x 3 coordinates): how far the poses spread, whatever their order.
- `pairwise_l1` is the mean over pairs of clips of their mean per-frame L1 distance (metres,
  summed over coordinates): how different the clips are from each other frame by frame;
  with several samples per input it measures the one-to-many spread.
A static mean pose scores 0 on both.
"""

from __future__ import annotations

import numpy as np

from ..errors import MotionTokensError


def _clips(clips) -> list[np.ndarray]:
    out = [np.asarray(c, dtype=np.float64) for c in clips]
    if not out or any(c.ndim != 3 or c.shape[1:] != out[0].shape[1:] or len(c) == 0 for c in out):
        raise MotionTokensError("diversity needs one or more (T, J, 3) position clips of one joint count")
    return out


def l1_diversity(clips) -> float:
    """EMAGE's L1div over the pooled frames of `clips` (each (T_i, J, 3))."""
    frames = np.concatenate([c.reshape(len(c), -1) for c in _clips(clips)], axis=0)
    return float(np.abs(frames - frames.mean(axis=0)).sum(axis=1).mean())


def pairwise_l1(clips) -> float:
    """Mean over pairs i < j of mean_t sum |clip_i[t] - clip_j[t]| (clips cut to the shortest)."""
    cs = _clips(clips)
    if len(cs) < 2:
        raise MotionTokensError("pairwise L1 diversity needs at least two clips")
    T = min(len(c) for c in cs)
    x = np.stack([c[:T].reshape(T, -1) for c in cs])  # (N, T, D)
    i, j = np.triu_indices(len(cs), k=1)
    return float(np.abs(x[i] - x[j]).sum(axis=2).mean())
