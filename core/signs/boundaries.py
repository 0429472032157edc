"""Sign boundaries refined after NMS (issue #17): where inside a detection the sign itself lies.

A detection from temporal NMS (core.signs.nms) spans whole windows, widened over the suppressed
windows of its label, so it reaches into the rest and transitions around the sign (in-sample on
joined letters, about half of them stayed under IoU 0.5 with the truth, bench/results/spotting.md).
The sign's own rows are found by subsequence DTW: the label's lexicon entry is aligned to a
stretch of the query rows with a free start and a free end (the entry must be matched whole,
the query only in part), each step (1,1), (1,0), (0,1) with the Euclidean row distance as cost,
and the stretch of the lowest path-length-normalised cost wins among those 0.5x to 2x the entry's
length (MAX_SPEED: without it, cross-signer, another signer's letter was often squeezed onto a
few rows, and refining cost F1 instead of raising it). A stretch costing more than GATE lexicon
scales is no sign the entry matches: the detection then keeps the windows' span. The search runs over the
detection's rows with `margin` rows on each side (clipped to the query and to its neighbours'
refined spans, so two detections never overlap), against each entry of the label; the best
entry's stretch becomes the detection's span. Its confidence is kept (the window's).

Cost: one Python loop over the entry's rows, each a numpy cumulative pass over the query rows
(the (0, 1) steps within a row are a running minimum): a few milliseconds a detection.
"""

from __future__ import annotations

import numpy as np

from .nms import Detection

#: The fastest (and, inverted, the slowest) signing a refined span allows against its entry.
MAX_SPEED = 2.0
#: The highest alignment cost, in lexicon scales (core.signs.matching), at which a refined span
#: replaces the NMS span: half a scale, a confidence of 0.61, set before measuring (on the
#: cross-signer benchmark 0.3 / 0.5 / 0.7 gave F1 0.62 / 0.57 / 0.56 afterwards; not tuned on it).
GATE = 0.5


def subsequence_alignment(entry: np.ndarray, rows: np.ndarray) -> tuple[int, int, float]:
    """(start, end, cost) of the stretch rows[start:end] that the whole (m, F) `entry` aligns to
    best with free start and end (module docstring); cost is path-length normalised."""
    m, n = len(entry), len(rows)
    cost = np.sqrt(np.maximum(np.sum(entry ** 2, -1)[:, None] + np.sum(rows ** 2, -1)[None, :]
                              - 2.0 * entry @ rows.T, 0.0))  # (m, n)
    acc = cost[0].copy()  # row 0: a free start at every query row
    steps = np.ones(n)
    start = np.arange(n)
    for i in range(1, m):
        # From (i-1, j-1) or (i-1, j); then (i, j-1) runs along the row.
        diag_acc = np.r_[np.inf, acc[:-1]]
        diag_steps, diag_start = np.r_[1.0, steps[:-1]], np.r_[0, start[:-1]]
        take_diag = diag_acc / diag_steps <= acc / steps
        new_acc = np.where(take_diag, diag_acc, acc) + cost[i]
        new_steps = np.where(take_diag, diag_steps, steps) + 1
        new_start = np.where(take_diag, diag_start, start)
        for j in range(1, n):  # (0, 1) steps: sequential along the row
            if (new_acc[j - 1] + cost[i, j]) / (new_steps[j - 1] + 1) < new_acc[j] / new_steps[j]:
                new_acc[j] = new_acc[j - 1] + cost[i, j]
                new_steps[j] = new_steps[j - 1] + 1
                new_start[j] = new_start[j - 1]
        acc, steps, start = new_acc, new_steps, new_start
    normalised = acc / steps
    # Only stretches a sign signed 0.5x-2x as fast could take: an entry squeezed onto a few rows
    # (or spread over many) of a different signer's take is a worse alignment than it costs.
    span = np.arange(1, n + 1) - start
    allowed = (span >= m / MAX_SPEED) & (span <= m * MAX_SPEED)
    if allowed.any():
        normalised = np.where(allowed, normalised, np.inf)
    end = int(np.argmin(normalised))
    return int(start[end]), end + 1, float(normalised[end])


def refined_detections(detections: list[Detection], query: np.ndarray, lexicon, margin: int) -> list[Detection]:
    """The detections (sorted by start, rows of the (N, F) `query`) with each span narrowed or
    moved to its sign's own rows (module docstring); labels, order and confidences kept."""
    labels = np.asarray(lexicon.labels)
    out: list[Detection] = []
    ordered = sorted(detections, key=lambda d: (d.start, d.label))
    for k, d in enumerate(ordered):
        lo = max(d.start - margin, out[-1].end if out else 0, 0)
        hi = min(d.end + margin, len(query))
        if k + 1 < len(ordered):
            hi = min(hi, max(ordered[k + 1].start, d.end))
        if hi - lo < 2:
            out.append(d)
            continue
        best = None
        for e in np.flatnonzero(labels == d.label):
            s, t, c = subsequence_alignment(lexicon.features[e], query[lo:hi])
            if best is None or c < best[2]:
                best = (s, t, c)
        if best[2] > GATE * lexicon.scale:  # no stretch matches the sign well: the windows' span stays
            out.append(d)
            continue
        out.append(Detection(d.label, lo + best[0], lo + best[1], d.confidence))
    return out
