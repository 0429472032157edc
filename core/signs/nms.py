"""Temporal non-maximum suppression over sliding windows (IsoSignVid2Aud, Algorithm 1).

Input: per label, one confidence per sliding window over the query, an array of shape
(n_windows,), the same n_windows for every label. Window `i` covers frames
[i * hop, i * hop + window) (end exclusive), so `window` and `hop` are in frames.
Confidences are any finite numbers (scores, probabilities); only their order and the
confidence threshold matter.

Output: a list of `Detection(label, start, end, confidence)`, start/end in frames (end
exclusive), sorted by start (then by label).

`nms_detections`, the paper's Algorithm 1:
1. candidates: every (label, window) whose confidence is >= `confidence_threshold`;
2. take the candidate of highest confidence (ties: the earlier window, then the label given
   first) and keep it;
3. suppress every remaining candidate whose temporal IoU with the kept window is
   > `overlap_threshold`, *whatever its label*: a signer signs one sign at a time, so two
   labels over nearly the same frames cannot both be right, and the weaker one goes;
4. merge: the kept window's span is extended over the suppressed candidates of its own label
   (they are the same sign seen through shifted windows);
5. repeat 2-4 until no candidate is left;
6. detections of one label whose spans overlap (intersect in at least one frame) are merged
   into one spanning both, with the higher confidence: with a small IoU threshold or a short
   hop, windows of one long sign can be too far apart to suppress each other in step 3, yet
   they are still one sign (one signer does not sign the same sign twice over the same frames).
A detection's confidence is the highest confidence of the windows merged into it.

`threshold_detections`, the baseline without NMS (for the comparison issue #17 asks for):
every run of consecutive windows of one label at or above the threshold is one detection
spanning the run; nothing is suppressed across labels and a one-window dip splits a sign in
two. It shows what NMS buys: fewer duplicated and fragmented detections.

Cost: step 3 is one vectorised IoU of the kept window against all candidates, so the loop is
O(kept * candidates) numpy work, fine for minutes of query at window-level hops.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import OptionError


@dataclass(frozen=True)
class Detection:
    """One detected sign: `label`, frames [start, end) of the query, its `confidence`."""

    label: str
    start: int
    end: int
    confidence: float


def nms_detections(
    confidences: Mapping[str, np.ndarray],
    window: int,
    hop: int,
    overlap_threshold: float = 0.5,
    confidence_threshold: float = 0.5,
) -> list[Detection]:
    """The detections temporal NMS keeps from per-label window `confidences` (see the module
    docstring for the algorithm); sorted by start."""
    labels, scores = _checked_confidences(confidences)
    _check_windowing(window, hop)
    overlap_threshold = _check_iou("overlap_threshold", overlap_threshold)
    confidence_threshold = _check_threshold(confidence_threshold)
    if scores.size == 0:
        return []

    label_of, index_of = np.nonzero(scores >= confidence_threshold)
    conf = scores[label_of, index_of]
    starts = index_of * hop
    ends = starts + window
    # Highest confidence first; ties to the earlier window, then the label given first.
    order = np.lexsort((label_of, starts, -conf))
    label_of, starts, ends, conf = label_of[order], starts[order], ends[order], conf[order]

    alive = np.ones(len(conf), dtype=bool)
    kept: list[tuple[int, int, int, float]] = []
    for k in range(len(conf)):
        if not alive[k]:
            continue
        alive[k] = False
        iou = _temporal_iou(starts[k], ends[k], starts, ends)
        suppressed = alive & (iou > overlap_threshold)
        same = suppressed & (label_of == label_of[k])
        start = int(min(starts[k], starts[same].min(initial=starts[k])))
        end = int(max(ends[k], ends[same].max(initial=ends[k])))
        kept.append((int(label_of[k]), start, end, float(conf[k])))
        alive &= ~suppressed
    return _sorted(_merged_overlapping(kept), labels)


def threshold_detections(
    confidences: Mapping[str, np.ndarray],
    window: int,
    hop: int,
    confidence_threshold: float = 0.5,
) -> list[Detection]:
    """The detections plain thresholding gives (no NMS): each run of consecutive windows of one
    label at or above `confidence_threshold` spans one detection; sorted by start."""
    labels, scores = _checked_confidences(confidences)
    _check_windowing(window, hop)
    confidence_threshold = _check_threshold(confidence_threshold)
    found: list[tuple[int, int, int, float]] = []
    for row, curve in enumerate(scores):
        above = np.concatenate(([False], curve >= confidence_threshold, [False]))
        edges = np.flatnonzero(np.diff(above.astype(np.int8)))
        for first, stop in zip(edges[0::2], edges[1::2]):  # windows first..stop-1
            found.append((row, int(first * hop), int((stop - 1) * hop + window), float(curve[first:stop].max())))
    return _sorted(found, labels)


def _temporal_iou(start: int, end: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """IoU of [start, end) with each [starts, ends), shape of `starts`."""
    inter = np.clip(np.minimum(end, ends) - np.maximum(start, starts), 0, None)
    union = (end - start) + (ends - starts) - inter
    return inter / union


def _merged_overlapping(found: list[tuple[int, int, int, float]]) -> list[tuple[int, int, int, float]]:
    """Step 6: spans of one label that share a frame become one, with the higher confidence."""
    merged: list[tuple[int, int, int, float]] = []
    for row, start, end, conf in sorted(found, key=lambda d: (d[0], d[1])):
        if merged and merged[-1][0] == row and start < merged[-1][2]:
            _, s, e, c = merged[-1]
            merged[-1] = (row, s, max(e, end), max(c, conf))
        else:
            merged.append((row, start, end, conf))
    return merged


def _sorted(found: list[tuple[int, int, int, float]], labels: list[str]) -> list[Detection]:
    """Detections sorted by start, then end, then label order."""
    found = sorted(found, key=lambda d: (d[1], d[2], d[0]))
    return [Detection(labels[row], start, end, conf) for row, start, end, conf in found]


def _checked_confidences(confidences) -> tuple[list[str], np.ndarray]:
    """Labels and a (n_labels, n_windows) float array, or OptionError saying what is wrong."""
    if not isinstance(confidences, Mapping):
        raise OptionError(f"confidences must be a mapping of label to per-window confidences, got {type(confidences).__name__}")
    labels = list(confidences)
    for label in labels:
        if not isinstance(label, str) or not label:
            raise OptionError(f"confidences: labels must be non-empty strings, got {label!r}")
    rows = []
    for label in labels:
        curve = np.asarray(confidences[label], dtype=float)
        if curve.ndim != 1:
            raise OptionError(f"confidences[{label!r}] must be one confidence per window (1-D), got shape {curve.shape}")
        if not np.all(np.isfinite(curve)):
            raise OptionError(f"confidences[{label!r}] holds a NaN or infinite confidence")
        rows.append(curve)
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        raise OptionError(f"confidences: every label needs the same number of windows, got {sorted(lengths)}")
    n_windows = lengths.pop() if lengths else 0
    return labels, np.stack(rows) if rows else np.zeros((0, n_windows))


def _check_windowing(window, hop) -> None:
    for name, value in (("window", window), ("hop", hop)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise OptionError(f"{name} must be a whole number of frames >= 1, got {value!r}")


def _check_iou(name: str, value) -> float:
    # 1 is allowed: no IoU exceeds it, so nothing is suppressed (NMS then only merges).
    number = float(value) if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise OptionError(f"{name} must be a number from 0 to 1 (a temporal IoU), got {value!r}")
    return number


def _check_threshold(value) -> float:
    number = float(value) if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) else math.nan
    if not math.isfinite(number):
        raise OptionError(f"confidence_threshold must be a finite number, got {value!r}")
    return number
