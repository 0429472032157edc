"""A hand's wrist and finger rotations from MediaPipe's 21 hand landmarks, per frame.

Input: (N, 21, 3) hand points in SMPL-X axes (`core.capture.axes`) in any scale: the image's
pixels, or whatever the smoothing put them in. Only directions between them are used; the
hand sits on the body's wrist joint, wherever forward kinematics puts it.

Correspondence (MediaPipe -> SMPL-X): wrist 0 = wrist; index/middle/ring/pinky MCP 5/9/13/17
= *1, PIP 6/10/14/18 = *2, DIP 7/11/15/19 = *3, tips 8/12/16/20 = the tip beyond *3 by *3's own
rest offset (`core.parts`' fingertip convention); thumb CMC 1 = thumb1, MCP 2 = thumb2, IP 3 =
thumb3, TIP 4 = the thumb's tip.

- wrist (the hand's world rotation): Wahba over the palm, rest wrist -> index1/middle1/ring1/
  pinky1 and index1 -> pinky1 onto the observed wrist -> MCP 5/9/13/17 and MCP 5 -> 17. In
  SMPL-X those joints are rigid with the wrist, so the palm fixes the whole rotation, the
  palm's normal included.
- each finger joint: the smallest turn, from where its parent carries the rest bone, onto the
  observed bone (the joint's point -> the next point). So a finger flexes about the axis
  across the palm and spreads about the palm's normal, with no turn about its own bone: that
  twist (a finger segment's roll) is not observable from points on the bone.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import rotations as rot
from ..skeleton import Skeleton
from .solve import local_from_global, swing_onto, weighted_kabsch

#: SMPL-X's finger order within a hand (joints 25-39 left, 40-54 right): three joints each.
FINGERS = ("index", "middle", "pinky", "ring", "thumb")
#: Each finger's MediaPipe points from its first joint to its tip.
FINGER_POINTS = {"index": (5, 6, 7, 8), "middle": (9, 10, 11, 12), "pinky": (17, 18, 19, 20),
                 "ring": (13, 14, 15, 16), "thumb": (1, 2, 3, 4)}
WRIST_JOINT = {"left": 20, "right": 21}
FIRST_FINGER_JOINT = {"left": 25, "right": 40}
# Palm vectors: (from point, to point) in MediaPipe's order, and their weights in the fit.
_PALM = ((0, 5), (0, 9), (0, 13), (0, 17), (5, 17))
_PALM_WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0)


def finger_joints(side: str, finger: str) -> tuple[int, int, int]:
    """The three SMPL-X joints of one finger of one hand, base first."""
    first = FIRST_FINGER_JOINT[side] + 3 * FINGERS.index(finger)
    return first, first + 1, first + 2


@lru_cache(maxsize=4)
def _rest_hand(skeleton: Skeleton, side: str) -> np.ndarray:
    """(21, 3) the SMPL-X rest positions at MediaPipe's 21 hand points (tips beyond *3)."""
    rest = skeleton.rest_positions()
    points = np.empty((21, 3))
    points[0] = rest[WRIST_JOINT[side]]
    for finger, ids in FINGER_POINTS.items():
        joints = finger_joints(side, finger)
        points[list(ids[:3])] = rest[list(joints)]
        points[ids[3]] = rest[joints[2]] + skeleton.offsets[joints[2]]
    points.setflags(write=False)
    return points


def rest_hand_points(skeleton: Skeleton, side: str) -> np.ndarray:
    """(21, 3) SMPL-X rest positions (metres) of the points MediaPipe's hand landmarks stand for."""
    return _rest_hand(skeleton, side)


def hand_global(points: np.ndarray, skeleton: Skeleton, side: str) -> np.ndarray:
    """(N, 4) the hand's (wrist joint's) world rotation from (N, 21, 3) hand points."""
    rest = rest_hand_points(skeleton, side)
    rest_vectors = np.stack([rest[b] - rest[a] for a, b in _PALM])
    observed = np.stack([points[:, b] - points[:, a] for a, b in _PALM], axis=1)
    return weighted_kabsch(rest_vectors, observed, _PALM_WEIGHTS)


def finger_locals(points: np.ndarray, wrist_global: np.ndarray, skeleton: Skeleton, side: str) -> np.ndarray:
    """(N, 15, 4) local rotations of the hand's 15 finger joints (SMPL-X order: index, middle,
    pinky, ring, thumb, three each) from (N, 21, 3) hand points and the hand's (N, 4) world
    rotation."""
    rest = rest_hand_points(skeleton, side)
    out = np.empty(points.shape[:1] + (15, 4))
    for f, finger in enumerate(FINGERS):
        ids = FINGER_POINTS[finger]
        parent = wrist_global
        for k in range(3):
            bone_rest = rest[ids[k + 1]] - rest[ids[k]]
            g = swing_onto(parent, bone_rest, points[:, ids[k + 1]] - points[:, ids[k]])
            out[:, 3 * f + k] = local_from_global(parent, g)
            parent = g
    return rot.quat_normalize(out)


def hand_in_metres(points: np.ndarray, found: np.ndarray, skeleton: Skeleton, side: str) -> np.ndarray:
    """(T, 21, 3) hand points in the image's pixel scale -> the same points relative to the
    wrist, scaled so the take's median palm (wrist -> middle MCP) is SMPL-X's rest palm: a
    metre-like scale the smoothing's speeds mean the same in as the body's, one scale for the
    whole take so no frame's shape is changed. Frames not found stay NaN."""
    rest = rest_hand_points(skeleton, side)
    rel = points - points[:, :1]
    palm = np.linalg.norm(rel[:, 9], axis=-1)
    usable = found & np.isfinite(palm) & (palm > 0)
    if not usable.any():
        return np.full_like(rel, np.nan)
    scale = np.linalg.norm(rest[9] - rest[0]) / float(np.median(palm[usable]))
    return np.where(found[:, None, None], rel * scale, np.nan)
