"""What the codecs code: per-part joint angles of SMPL-X motion at 30 fps, and back.

The parts and their joints are declared once, in `core.parts` (body: joints 1-21; hands:
joints 25-54). The root orientation (joint 0) and the root translation are not coded: they
are carried through unchanged as side information (the global trajectory), so a codec's bits
per frame count the pose only.

Values are axis-angle (exponential map) local rotations, in radians, in the order of the
part's joints, x/y/z per joint: feature column 3*i + c is coordinate c of the part's i-th
joint; a part with expression coefficients has them after the rotations.
Codecs normalise them with the training split's statistics (`Normalisation`: a mean and a
standard deviation per dimension, stored in each bundle's weights; the RQ-VAE uses the
per-dimension std, k-means one pooled std for all dimensions, see training/).

Positions (`part_positions`), for losses and error figures, isolate one part: FK on the
SMPL-X skeleton with every joint outside the part at rest and the root at the origin; the
rows are the part's error points then its tips, each relative to its origin joint (`Part`).

Mirroring (`mirrored_part`) swaps each left joint with its right twin and reflects each
rotation across the YZ plane (x -> -x): a rotation R becomes M R M with M = diag(-1, 1, 1),
which for an axis-angle vector (a pseudo-vector) is (x, y, z) -> (x, -y, -z). The SMPL-X rest
offsets of the two sides are mirror images, so the mirrored left hand is the exact reflection
of the right hand (tests check it with forward kinematics).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from .. import rotations as rot
from ..errors import SkeletonError
from ..kinematics import forward_kinematics_quats, tip_positions
from ..motion import Motion
from ..parts import PARTS, get_part
from ..skeleton import SMPLX_JOINT_NAMES, SMPLX_PARENTS, smplx_skeleton

__all__ = ["CODEC_FPS", "PARTS", "Normalisation", "at_codec_rate", "mirrored_part", "num_features", "part_features",
           "part_positions", "position_rmse_cm", "with_part_features"]

#: The frame rate codecs work at; other rates are resampled (slerp) on the way in.
CODEC_FPS = 30.0

# Smallest standard deviation a feature is divided by: a joint that never moves in the
# training data (e.g. spine2 in the Bandai takes, retargeted without it) must not blow up.
_MIN_STD = 1e-3
#: Frames of joint positions computed at once by position_rmse_cm.
_RMSE_BLOCK = 4096
#: Frames converted between quaternions and features at once.
_FRAME_BLOCK = 4096


def num_features(part: str) -> int:
    """Feature width of a part (body 63, hands 90); ValueError for an unknown part."""
    return get_part(part).num_features


def _require_smplx(motion: Motion) -> None:
    sk = motion.skeleton
    if sk.names != SMPLX_JOINT_NAMES or tuple(sk.parents) != SMPLX_PARENTS:
        raise SkeletonError(
            f"the motion {motion.name!r} is on a {sk.num_joints}-joint skeleton "
            f"({', '.join(sk.names[:3])}, ...), not SMPL-X; codecs code SMPL-X motion: "
            "read it with core.retarget.read_smplx_motion, which retargets BVH files"
        )


def _expressions(motion: Motion, count: int) -> np.ndarray:
    """(T, count) leading expression coefficients, zeros where the motion has fewer."""
    out = np.zeros((motion.num_frames, count))
    if motion.expressions is not None:
        n = min(count, motion.expressions.shape[1])
        out[:, :n] = motion.expressions[:, :n]
    return out


def part_features(motion: Motion, part: str, fps: float = CODEC_FPS) -> np.ndarray:
    """(T, F) float32 features of `part` (axis-angle of its joints, then its expression
    coefficients), the motion resampled (slerp) to `fps` first.

    T is the frame count at `fps` (default 30, the codecs' rate; k-means fitting on too little
    data uses 90 fps, see training/). Raises SkeletonError if the motion is not SMPL-X.
    """
    spec = get_part(part)
    _require_smplx(motion)
    if abs(motion.fps - fps) > 1e-9:
        motion = motion.resampled(fps)
    T, J = motion.num_frames, len(spec.joints)
    features = np.empty((T, spec.num_features), dtype=np.float32)
    joints = list(spec.joints)
    for start in range(0, T, _FRAME_BLOCK):  # no float64 copy of the whole take
        block = slice(start, start + _FRAME_BLOCK)
        aa = rot.quat_to_axis_angle(motion.rotations[block, joints])  # (B, J_part, 3)
        features[block, : 3 * J] = aa.reshape(len(aa), 3 * J)
    if spec.expressions:
        features[:, 3 * J :] = _expressions(motion, spec.expressions)
    return features


def at_codec_rate(motion: Motion) -> Motion:
    """The motion at 30 fps (itself if it already is)."""
    return motion if abs(motion.fps - CODEC_FPS) < 1e-9 else motion.resampled(CODEC_FPS)


def with_part_features(motion: Motion, part: str, features) -> Motion:
    """A copy of `motion` whose `part` joints (and expression coefficients) take the values in
    `features` (T, F).

    The motion must be at 30 fps with T frames (the rate features are made at); every other
    joint, the root translation, the other expressions and betas are kept.
    """
    spec = get_part(part)
    _require_smplx(motion)
    features = np.asarray(features)  # converted to float64 a block at a time
    T, F = motion.num_frames, spec.num_features
    if abs(motion.fps - CODEC_FPS) > 1e-9:
        raise ValueError(f"with_part_features needs a {CODEC_FPS:g} fps motion, got {motion.fps:g} fps")
    if features.shape != (T, F):
        raise ValueError(f"{part} features must be ({T}, {F}) for this motion, got {features.shape}")
    J = len(spec.joints)
    rotations = motion.rotations.copy()
    joints = list(spec.joints)
    for start in range(0, T, _FRAME_BLOCK):
        block = slice(start, start + _FRAME_BLOCK)
        aa = features[block, : 3 * J]
        rotations[block, joints] = rot.axis_angle_to_quat(aa.reshape(len(aa), J, 3))
    changes = {"rotations": rotations}
    if spec.expressions:
        width = max(spec.expressions, 0 if motion.expressions is None else motion.expressions.shape[1])
        expressions = np.zeros((T, width))
        if motion.expressions is not None:
            expressions[:, : motion.expressions.shape[1]] = motion.expressions
        expressions[:, : spec.expressions] = features[:, 3 * J:]
        changes["expressions"] = expressions
    return replace(motion, **changes)


def part_positions(features, part: str, skeleton=None) -> np.ndarray:
    """(..., P, 3) float64 positions (metres) of the points that `part`'s pose moves.

    features: (..., F) features of the part (not normalised; expression coefficients, which
    move no joint, are ignored). Everything outside the part is at rest and the root at the
    origin. Rows: the part's `points`, then a tip beyond each of its `tips_from`, each relative
    to its `point_origins` joint (core.parts). skeleton: default `smplx_skeleton()`.

    The origin joints and their ancestors are outside the part, so at rest with the world's
    frame: forward kinematics runs on the joints from each origin down to the points only
    (`_point_tree`: for a hand, its wrist and fingers, not all 55 joints), each origin a root
    at zero.
    """
    spec = get_part(part)
    f = np.asarray(features, dtype=np.float64)
    lead = f.shape[:-1]
    J = len(spec.joints)
    sk = smplx_skeleton() if skeleton is None else skeleton
    keep, parents, index = _point_tree(part, tuple(int(p) for p in sk.parents))
    moved = [i for i, j in enumerate(spec.joints) if j in index]  # the part's joints in the tree
    quats = np.zeros(lead + (len(keep), 4))
    quats[..., 0] = 1.0
    aa = f[..., : 3 * J].reshape(lead + (J, 3))[..., moved, :]
    quats[..., [index[spec.joints[i]] for i in moved], :] = rot.axis_angle_to_quat(aa)
    offsets = np.asarray(sk.offsets, dtype=np.float64)[list(keep)]
    glob, pos = forward_kinematics_quats(quats, offsets, parents, np.zeros(lead + (3,)))
    points = pos[..., [index[j] for j in spec.points], :]
    if spec.tips_from:
        tips = tip_positions(glob, pos, offsets, [index[j] for j in spec.tips_from])
        points = np.concatenate([points, tips], axis=-2)
    return points  # each origin is a root at zero: the points are relative to it already


@lru_cache(maxsize=16)
def _point_tree(part: str, parents: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...], dict[int, int]]:
    """(the joints from each of `part`'s origin joints down to its points and tips, in index
    order; their parents within that list, -1 for an origin; joint -> its row in the list).
    Raises ValueError where an origin or one of its ancestors is a joint of the part."""
    spec = get_part(part)
    origins = set(spec.point_origins)
    for o in origins:
        a = o
        while a >= 0:
            if a in spec.joints:
                raise ValueError(f"part {part!r}: origin joint {o} is moved by the part's own joint {a}")
            a = parents[a]
    keep = set(origins)
    for point, origin in zip(spec.points + spec.tips_from, spec.point_origins):
        j = point
        while j != origin:
            if j < 0:
                raise ValueError(f"part {part!r}: joint {point} does not lie below its origin {origin}")
            keep.add(j)
            j = parents[j]
    order = tuple(sorted(keep))
    index = {j: i for i, j in enumerate(order)}
    tree_parents = tuple(-1 if j in origins else index[parents[j]] for j in order)
    return order, tree_parents, index


def position_squared_error(features_a, features_b, part: str) -> float:
    """Sum over frames and points of the squared distance (m^2) between the `part_positions`
    of two (T, F) feature arrays, _RMSE_BLOCK frames at a time (a long take's positions never
    exist all at once); slices of a take add up to the whole take's sum."""
    a, b = np.asarray(features_a), np.asarray(features_b)
    total = 0.0
    for start in range(0, len(a), _RMSE_BLOCK):
        block = slice(start, start + _RMSE_BLOCK)
        d = part_positions(a[block], part) - part_positions(b[block], part)
        total += float(np.vdot(d, d))  # d is a fresh contiguous array
    return total


def rmse_cm_of(squared_error: float, num_frames: int, part: str) -> float:
    """The RMSE (cm) of a `position_squared_error` sum over `num_frames` frames of `part`."""
    return float(np.sqrt(squared_error / (num_frames * get_part(part).num_points)) * 100.0)


def position_rmse_cm(features_a, features_b, part: str) -> float:
    """Root mean square distance (cm) between the `part_positions` of two (T, F) feature arrays."""
    a, b = np.asarray(features_a), np.asarray(features_b)
    if a.ndim != 2 or a.shape != b.shape or len(a) == 0:
        d = part_positions(a, part) - part_positions(b, part)
        return float(np.sqrt(np.mean(np.sum(d * d, axis=-1))) * 100.0)
    return rmse_cm_of(position_squared_error(a, b, part), len(a), part)


def mirrored_part(features, part: str) -> np.ndarray:
    """Features (..., F) of `part` with left and right swapped and reflected across the YZ
    plane: each axis-angle (x, y, z) becomes (x, -y, -z) on the mirror-image joint; expression
    coefficients are kept. Mirroring twice gives the input back."""
    spec = get_part(part)
    f = np.asarray(features)
    shape = f.shape
    if shape[-1] != spec.num_features:
        raise ValueError(f"{part} features must end in {spec.num_features} values, got {shape}")
    J = len(spec.joints)
    aa = f[..., : 3 * J].reshape(*shape[:-1], J, 3)[..., spec.mirror_joint_order, :]
    aa = aa * np.array([1.0, -1.0, -1.0], dtype=f.dtype)
    return np.concatenate([aa.reshape(*shape[:-1], 3 * J), f[..., 3 * J:]], axis=-1)


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
