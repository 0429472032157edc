"""Per-frame sign features of a fitted take (issue #17): what a sign's matching compares.

A frame's features, float64, `NUM_SIGN_FEATURES` = 45 + 3 values:
- [0:45] the signing (dominant) hand's 15 finger joints' local rotations as axis-angle
  (radians), in SMPL-X joint order of the right hand (index1..3, middle, pinky, ring, thumb);
- [45:48] the dominant wrist's position relative to the neck, in the torso's frame (spine3's
  world rotation undone, so a signer turning toward the camera does not move it), divided by
  the shoulder width (the distance between the shoulders at that frame): unitless, about
  [-1.5, 1.5] per axis, so signers of any size and distance from the camera compare.
  Scaled by `WRIST_WEIGHT` (0.25): where a signer holds the hand differs between signers and
  cameras far more than the handshape does. Chosen on isolated letters of seven sign languages
  (cse, ise, psr, sgg, ssp, svk, tsm: 179 clips) matched against the ASL letters, none of them in
  the spotting benchmark's held-out set: nearest-entry accuracy 24.6% at weights 0 and 0.25,
  22.9% at 0.5, 19.0% at 1 and 18.4% at 2 (bench/spotting.py prints the sweep). 0.25 keeps
  some of the location, which tells signs apart beyond fingerspelling.

Handedness invariance: the dominant hand is the one found in more frames (ties: the right).
A left-handed signer is mirrored to the right: the left hand's finger rotations (x, y, z) are
reflected across the body's YZ plane to (x, -y, -z) and the wrist position's x is negated, so a
sign made with the left hand gives the features of its mirror image made with the right.

Frames: only frames where the dominant hand is found (a fitted hand, not a filled gap or rest)
carry features (a motion file, npz or BVH, or a captured action has no such mask: every frame
does, and its dominant hand is the one that moves more, `motion_sign_features`); `SignFeatures.frames` says which frames of the take (at `fps`) they are, so a
match over feature rows maps back to time in the take. The take is resampled to `SIGN_FPS`
(30 fps) first, so lexicon clips and queries of any frame rate compare frame for frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import rotations as rot
from ..capture.fit import CaptureFit
from ..kinematics import forward_kinematics_quats
from ..motion import Motion

SIGN_FPS = 30.0
NUM_FINGER_JOINTS = 15
NUM_SIGN_FEATURES = 3 * NUM_FINGER_JOINTS + 3
WRIST_WEIGHT = 0.25
FEATURE_LAYOUT = f"dominant-hand-fingers-axis-angle-45+wrist-path-3x{WRIST_WEIGHT:g}"
LEFT_FINGERS = tuple(range(25, 40))
RIGHT_FINGERS = tuple(range(40, 55))
NECK, SPINE3, LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_WRIST, RIGHT_WRIST = 12, 9, 16, 17, 20, 21
_MIRROR_AXIS_ANGLE = np.array([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class SignFeatures:
    """values: (N, NUM_SIGN_FEATURES) features of the N frames where the dominant hand is found;
    frames: (N,) int, those frames' indices in the take at `fps`; num_frames: the take's
    length in frames at `fps`; dominant: 'right' or 'left' (mirrored to the right)."""

    values: np.ndarray
    frames: np.ndarray
    num_frames: int
    fps: float
    dominant: str

    @property
    def num_found(self) -> int:
        return len(self.values)


def dominant_side(left_found: np.ndarray, right_found: np.ndarray) -> str:
    """'left' where the left hand is found in more frames than the right, else 'right'."""
    return "left" if int(np.sum(left_found)) > int(np.sum(right_found)) else "right"


def _at_sign_rate(mask: np.ndarray, fps: float, num_frames: int) -> np.ndarray:
    """A per-frame mask at `fps` sampled at SIGN_FPS (nearest earlier frame), `num_frames` long."""
    if len(mask) == num_frames:
        return np.asarray(mask, bool)
    src = np.minimum(np.floor(np.arange(num_frames) * (fps / SIGN_FPS) + 1e-6).astype(int), len(mask) - 1)
    return np.asarray(mask, bool)[src]


def sign_features(fit: CaptureFit) -> SignFeatures:
    """The take's sign features at SIGN_FPS (module docstring); zero rows when no hand is found."""
    motion = fit.motion.resampled(SIGN_FPS)
    T = motion.num_frames
    left = _at_sign_rate(fit.left_found, fit.motion.fps, T)
    right = _at_sign_rate(fit.right_found, fit.motion.fps, T)
    side = dominant_side(left, right)
    found = left if side == "left" else right
    frames = np.flatnonzero(found)
    values = features_of_rotations(motion.rotations[frames], motion.skeleton, side)
    return SignFeatures(values, frames, T, SIGN_FPS, side)


def motion_sign_features(motion: Motion) -> SignFeatures:
    """The sign features of an SMPL-X motion (an .npz or a BVH read onto SMPL-X, a captured
    action): every frame at SIGN_FPS, signed with the hand that moves more (the larger summed
    frame-to-frame change of its features, fingers and wrist path both; ties: the right)."""
    m = motion.resampled(SIGN_FPS)
    T = m.num_frames
    sides = {side: features_of_rotations(m.rotations, m.skeleton, side) for side in ("right", "left")}
    travel = {side: float(np.sum(np.linalg.norm(np.diff(v, axis=0), axis=-1))) if T > 1 else 0.0
              for side, v in sides.items()}
    side = "left" if travel["left"] > travel["right"] else "right"
    return SignFeatures(sides[side], np.arange(T), T, SIGN_FPS, side)


def features_of_rotations(local_quats: np.ndarray, skeleton, side: str) -> np.ndarray:
    """(N, NUM_SIGN_FEATURES) features of (N, 55, 4) SMPL-X local rotations, signed with the
    `side` hand ('left' is mirrored to the right)."""
    q = np.asarray(local_quats, dtype=np.float64)
    if len(q) == 0:
        return np.zeros((0, NUM_SIGN_FEATURES))
    fingers = LEFT_FINGERS if side == "left" else RIGHT_FINGERS
    wrist = LEFT_WRIST if side == "left" else RIGHT_WRIST
    finger_aa = rot.quat_to_axis_angle(q[:, fingers])  # (N, 15, 3)
    glob, pos = forward_kinematics_quats(q, skeleton.offsets, skeleton.parents, np.zeros((len(q), 3)))
    torso_inverse = rot.quat_conjugate(glob[:, SPINE3])
    wrist_in_torso = rot.quat_apply(torso_inverse, pos[:, wrist] - pos[:, NECK])  # (N, 3) metres
    shoulder_width = np.linalg.norm(pos[:, LEFT_SHOULDER] - pos[:, RIGHT_SHOULDER], axis=-1)
    wrist_path = wrist_in_torso / np.maximum(shoulder_width, 1e-6)[:, None]
    if side == "left":  # the mirror image: reflect across the body's YZ plane
        finger_aa = finger_aa * _MIRROR_AXIS_ANGLE
        wrist_path = wrist_path * np.array([-1.0, 1.0, 1.0])
    return np.concatenate([finger_aa.reshape(len(q), -1), WRIST_WEIGHT * wrist_path], axis=1)


def resampled_features(values: np.ndarray, factor: float) -> np.ndarray:
    """Feature rows re-timed by `factor` (1.33: played 1.33x faster, fewer rows) by linear
    interpolation between rows; for tests and augmentation."""
    v = np.asarray(values, dtype=np.float64)
    n_out = max(int(round(len(v) / factor)), 1)
    src = np.linspace(0.0, len(v) - 1, n_out)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, len(v) - 1)
    a = (src - i0)[:, None]
    return v[i0] * (1.0 - a) + v[i1] * a
