"""Frames where a component (the body, a leg, a hand) was not found: filled or returned to rest.

For one component (a set of joints and a per-frame found mask) the local rotations of the
frames it was not found in are made from those of the frames it was:

- a gap between two found frames no longer than `max_gap` seconds (the time from the last
  found frame before it to the first after it) is filled by slerp between those two frames;
- a longer gap, or the frames before the first / after the last found frame, return to a
  rest pose and back: starting from each found neighbour the pose is slerped towards rest with
  a smoothstep weight reaching 1 after `rest_blend` seconds, and inside a long gap the two
  sides' poses are slerped into each other by the frame's position in the gap, so the motion
  is continuous at both ends whatever the gap's length;
- a component never found stays at rest in every frame.

"Rest" is the identity local rotation unless the caller gives another target per frame (the
wrist's rest, where a hand is missing, is its rotation from the body's own hand points).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import rotations as rot


@dataclass(frozen=True)
class GapMasks:
    """Per frame (T,): found (fitted from landmarks), filled (slerped across a short gap) and
    rest_weight in [0, 1] (how far towards rest the frame's pose is: 0 where found or filled,
    1 fully at rest)."""

    found: np.ndarray
    filled: np.ndarray
    rest_weight: np.ndarray

    @property
    def returned_to_rest(self) -> np.ndarray:
        """(T,) bool: the frames whose pose was moved towards rest at all."""
        return self.rest_weight > 0.0


def _neighbours(found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T,) indices of the nearest found frame at or before / at or after each frame; -1 and T
    where there is none."""
    T = found.shape[0]
    idx = np.arange(T)
    prev = np.maximum.accumulate(np.where(found, idx, -1))
    nxt = np.minimum.accumulate(np.where(found, idx, T)[::-1])[::-1]
    return prev, nxt


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def fill_gaps(local, found, fps: float, max_gap: float, rest_blend: float, rest=None) -> tuple[np.ndarray, GapMasks]:
    """Fill one component's unfound frames (see the module docstring).

    local: (T, J, 4) the component's local rotations, any value (NaN included) where not found;
    found: (T,) bool; fps: frames per second; max_gap, rest_blend: seconds; rest: (T, J, 4)
    the rest target per frame, or None for the identity.
    Returns ((T, J, 4) rotations, finite everywhere; `GapMasks`).
    """
    local = np.asarray(local, dtype=np.float64)
    found = np.asarray(found, dtype=bool)
    T, J = local.shape[:2]
    if rest is None:
        rest = np.broadcast_to(np.array([1.0, 0.0, 0.0, 0.0]), (T, J, 4))
    out = np.array(np.where(found[:, None, None], local, rest))
    missing = ~found
    if not missing.any() or not found.any():
        return out, GapMasks(found, np.zeros(T, dtype=bool), missing.astype(np.float64))
    prev, nxt = _neighbours(found)
    has_prev, has_next = prev >= 0, nxt < T
    p, q = np.clip(prev, 0, T - 1), np.clip(nxt, 0, T - 1)
    span = (nxt - prev).astype(np.float64)
    t = np.where(has_prev & has_next, (np.arange(T) - prev) / np.maximum(span, 1.0), 0.0)
    short = missing & has_prev & has_next & (span / fps <= max_gap + 1e-9)
    t_j = np.broadcast_to(t[:, None], (T, J))
    both = rot.quat_slerp(out[p], out[q], t_j)  # out: found frames as fitted, the rest finite
    out[short] = both[short]
    long_ = missing & ~short
    blend = max(rest_blend * fps, 1e-9)  # frames
    w_prev = np.where(has_prev, _smoothstep((np.arange(T) - prev) / blend), 1.0)
    w_next = np.where(has_next, _smoothstep((nxt - np.arange(T)) / blend), 1.0)
    from_prev = rot.quat_slerp(out[p], rest, np.broadcast_to(w_prev[:, None], (T, J)))
    from_next = rot.quat_slerp(out[q], rest, np.broadcast_to(w_next[:, None], (T, J)))
    side = np.where(has_prev & has_next, t, np.where(has_prev, 0.0, 1.0))
    mixed = rot.quat_slerp(from_prev, from_next, np.broadcast_to(side[:, None], (T, J)))
    out[long_] = mixed[long_]
    rest_weight = np.where(long_, (1.0 - side) * w_prev + side * w_next, 0.0)
    return out, GapMasks(found, short, rest_weight)
