"""What the codecs code: per-part joint angles of SMPL-X motion at 30 fps, and back.

Parts (DESIGN.md "Body parts"):
- `body`: SMPL-X joints 1-21 (hips to wrists), 21 x 3 = 63 axis-angle values per frame.
- `hands`: SMPL-X joints 25-54 (left hand, then right hand: index, middle, pinky, ring,
  thumb, three joints each), 30 x 3 = 90 axis-angle values per frame.
The root orientation (joint 0) and the root translation are not coded: they are carried
through unchanged as side information (the global trajectory), so a codec's bits per frame
count the pose only. Jaw and eyes (22-24) belong to the face and are not coded here either.

Values are axis-angle (exponential map) local rotations, in radians, in the order of the
joints above, x/y/z per joint: feature column 3*i + c is coordinate c of the part's i-th joint.
Codecs normalise them with the training split's statistics (`Normalisation`: a mean and a
standard deviation per dimension, stored in each bundle's weights; the RQ-VAE uses the
per-dimension std, k-means one pooled std for all dimensions, see train.py).

Positions (`part_positions`), for losses and error figures, isolate one part: FK on the
SMPL-X skeleton with every joint outside the part at rest and the root at the origin.
- body: joints 1-21, plus the jaw (22) and the two middle-finger bases (28, 43), which only
  the head and wrist rotations move, so that those rotations count; relative to the pelvis.
- hands: the 20 finger joints the hand pose moves (second and third segments) and 10
  fingertips, each placed beyond its third segment by that segment's own rest offset (SMPL-X
  has no fingertip joints); relative to each hand's wrist, in the wrist's frame.

Mirroring (`mirrored_hands`) swaps the left and right hands and reflects each rotation across
the YZ plane (x -> -x): a rotation R becomes M R M with M = diag(-1, 1, 1), which for an
axis-angle vector (a pseudo-vector) is (x, y, z) -> (x, -y, -z). The SMPL-X hand rest offsets
are mirror images of each other, so the mirrored left hand is the exact reflection of the
right hand (tests check it with forward kinematics).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .. import rotations as rot
from ..errors import SkeletonError
from ..kinematics import forward_kinematics
from ..motion import Motion
from ..skeleton import BODY_JOINTS, HAND_JOINTS, NUM_SMPLX_JOINTS, SMPLX_JOINT_NAMES, SMPLX_PARENTS, smplx_skeleton

#: The frame rate codecs work at; other rates are resampled (slerp) on the way in.
CODEC_FPS = 30.0

#: SMPL-X joint indices coded by each part.
PART_JOINTS: dict[str, tuple[int, ...]] = {"body": BODY_JOINTS, "hands": HAND_JOINTS}
PARTS = tuple(PART_JOINTS)

#: Per-hand joint count (15: five fingers of three joints); left hand first in HAND_JOINTS.
_JOINTS_PER_HAND = len(HAND_JOINTS) // 2

# Smallest standard deviation a feature is divided by: a joint that never moves in the
# training data (e.g. spine2 in the Bandai takes, retargeted without it) must not blow up.
_MIN_STD = 1e-3


def part_joints(part: str) -> tuple[int, ...]:
    """The SMPL-X joint indices of `part` ('body' or 'hands'); ValueError for another name."""
    try:
        return PART_JOINTS[part]
    except KeyError:
        raise ValueError(f"unknown body part {part!r}; the coded parts are {', '.join(PARTS)}") from None


def num_features(part: str) -> int:
    """Feature width of a part: 3 axis-angle values per joint (body 63, hands 90)."""
    return 3 * len(part_joints(part))


def _require_smplx(motion: Motion) -> None:
    sk = motion.skeleton
    if sk.names != SMPLX_JOINT_NAMES or tuple(sk.parents) != SMPLX_PARENTS:
        raise SkeletonError(
            f"the motion {motion.name!r} is on a {sk.num_joints}-joint skeleton "
            f"({', '.join(sk.names[:3])}, ...), not SMPL-X; codecs code SMPL-X motion: "
            "read it with core.formats.read_motion, which retargets BVH files"
        )


def part_features(motion: Motion, part: str, fps: float = CODEC_FPS) -> np.ndarray:
    """(T, F) float32 axis-angle of `part`'s joints, the motion resampled (slerp) to `fps` first.

    T is the frame count at `fps` (default 30, the codecs' rate; k-means fitting on too little
    data uses 90 fps, see train.py); F = 3 x joints (body 63, hands 90).
    Raises SkeletonError if the motion is not on the SMPL-X skeleton.
    """
    joints = part_joints(part)
    _require_smplx(motion)
    if abs(motion.fps - fps) > 1e-9:
        motion = motion.resampled(fps)
    aa = rot.quat_to_axis_angle(motion.rotations[:, list(joints)])  # (T, J_part, 3)
    return aa.reshape(motion.num_frames, -1).astype(np.float32)


def at_codec_rate(motion: Motion) -> Motion:
    """The motion at 30 fps (itself if it already is)."""
    return motion if abs(motion.fps - CODEC_FPS) < 1e-9 else motion.resampled(CODEC_FPS)


def with_part_features(motion: Motion, part: str, features) -> Motion:
    """A copy of `motion` whose `part` joints take the rotations in `features` (T, F).

    The motion must be at 30 fps with T frames (the rate features are made at); every other
    joint, the root translation, expressions and betas are kept.
    """
    joints = part_joints(part)
    _require_smplx(motion)
    features = np.asarray(features, dtype=np.float64)
    T, F = motion.num_frames, num_features(part)
    if abs(motion.fps - CODEC_FPS) > 1e-9:
        raise ValueError(f"with_part_features needs a {CODEC_FPS:g} fps motion, got {motion.fps:g} fps")
    if features.shape != (T, F):
        raise ValueError(f"{part} features must be ({T}, {F}) for this motion, got {features.shape}")
    rotations = motion.rotations.copy()
    rotations[:, list(joints)] = rot.axis_angle_to_quat(features.reshape(T, -1, 3))
    return replace(motion, rotations=rotations)


#: Rows of `part_positions`: SMPL-X joint indices; for the hands the last 10 are fingertips,
#: extensions of the third finger segments listed in `FINGERTIP_PARENTS`.
BODY_POINTS: tuple[int, ...] = tuple(BODY_JOINTS) + (22, 28, 43)
FINGERTIP_PARENTS: tuple[int, ...] = tuple(j for j in HAND_JOINTS if (j - HAND_JOINTS[0]) % 3 == 2)
HAND_POINTS: tuple[int, ...] = tuple(j for j in HAND_JOINTS if (j - HAND_JOINTS[0]) % 3 != 0)
#: Wrist of each hand point (and fingertip): the frame hands positions are relative to.
_WRISTS = {"left": 20, "right": 21}


def hand_point_wrists() -> np.ndarray:
    """(30,) the wrist joint (20 or 21) of each row of the hands `part_positions`."""
    rows = HAND_POINTS + FINGERTIP_PARENTS
    return np.array([_WRISTS["left"] if j < HAND_JOINTS[0] + _JOINTS_PER_HAND else _WRISTS["right"] for j in rows])


def part_positions(features, part: str, skeleton=None) -> np.ndarray:
    """(..., P, 3) float64 positions (metres) of the points that `part`'s pose moves.

    features: (..., F) axis-angle of the part (not normalised). Everything outside the part
    is at rest and the root at the origin. Rows: `BODY_POINTS` for the body (relative to the
    pelvis); `HAND_POINTS` then the fingertips beyond `FINGERTIP_PARENTS` for the hands
    (relative to their wrist). skeleton: default `smplx_skeleton()`.
    """
    joints = part_joints(part)
    f = np.asarray(features, dtype=np.float64)
    lead = f.shape[:-1]
    sk = smplx_skeleton() if skeleton is None else skeleton
    quats = np.zeros(lead + (NUM_SMPLX_JOINTS, 4))
    quats[..., 0] = 1.0
    quats[..., list(joints), :] = rot.axis_angle_to_quat(f.reshape(lead + (len(joints), 3)))
    glob, pos = forward_kinematics(quats, sk.offsets, sk.parents, np.zeros(lead + (3,)))
    if part == "body":
        return pos[..., list(BODY_POINTS), :] - pos[..., :1, :]
    tips_from = list(FINGERTIP_PARENTS)
    tips = pos[..., tips_from, :] + np.einsum("...ij,...j->...i", glob[..., tips_from, :, :], sk.offsets[tips_from])
    points = np.concatenate([pos[..., list(HAND_POINTS), :], tips], axis=-2)
    return points - pos[..., hand_point_wrists(), :]  # the wrists are at rest: their frame is the world's


def position_rmse_cm(features_a, features_b, part: str) -> float:
    """Root mean square distance (cm) between the `part_positions` of two (T, F) feature arrays."""
    d = part_positions(features_a, part) - part_positions(features_b, part)
    return float(np.sqrt(np.mean(np.sum(d * d, axis=-1))) * 100.0)


def mirrored_hands(features) -> np.ndarray:
    """Hands features (..., 90) with left and right swapped and reflected across the YZ plane.

    Each axis-angle (x, y, z) becomes (x, -y, -z); the left hand's 15 joints take the right
    hand's mirrored rotations and vice versa. Mirroring twice gives the input back.
    """
    f = np.asarray(features)
    shape = f.shape
    if shape[-1] != num_features("hands"):
        raise ValueError(f"hands features must end in {num_features('hands')} values, got {shape}")
    aa = f.reshape(*shape[:-1], 2, _JOINTS_PER_HAND, 3)[..., ::-1, :, :]  # swap the hands
    aa = aa * np.array([1.0, -1.0, -1.0], dtype=f.dtype)
    return aa.reshape(shape)


@dataclass(frozen=True)
class Normalisation:
    """Per-dimension affine normalisation of features: (x - mean) / std.

    mean, std: (F,) float32, from the training split; std is at least 1e-3 so that a joint
    that never moves in the training data is not divided by zero.
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> "Normalisation":
        """Mean and standard deviation of (N, F) training vectors."""
        x = np.asarray(features, dtype=np.float64)
        return cls(x.mean(axis=0).astype(np.float32), np.maximum(x.std(axis=0), _MIN_STD).astype(np.float32))

    def normalise(self, features) -> np.ndarray:
        return ((np.asarray(features, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def denormalise(self, normalised) -> np.ndarray:
        return (np.asarray(normalised, dtype=np.float32) * self.std + self.mean).astype(np.float32)
