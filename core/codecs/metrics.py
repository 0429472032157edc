"""Rate-distortion metrics for motion codecs: pure numpy/scipy, any number of frames.

Positions are metres in, centimetres out for the RMSE figures (cm/s for velocities);
rotations are axis-angle radians in, degrees out (geodesic angles); every function checks
its input shapes and raises ValueError saying what was wrong. Nothing here knows about codecs or
files: `evaluation` decides which joints and which frame of reference each metric sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..rotations import axis_angle_to_quat, kabsch_rotation, quat_angle, quat_conjugate, quat_multiply

#: SMPL-X wrist joints (left, right), whose trajectories the hull-volume ratio measures.
WRISTS = (20, 21)
_CM_PER_M = 100.0


def _points(x, name: str, min_points: int = 1) -> np.ndarray:
    """`x` as float64 (..., N, 3) with N >= min_points and finite values, else ValueError."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2 or x.shape[-1] != 3:
        raise ValueError(f"{name} must be 3D points of shape (..., N, 3), got shape {x.shape}")
    if x.shape[-2] < min_points:
        raise ValueError(f"{name} needs at least {min_points} point(s) per set, got {x.shape[-2]}")
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return x


def _same_shape(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same shape, got {a.shape} and {b.shape}")


def position_rmse(a, b) -> float:
    """Root-mean-square distance between matching 3D points, in centimetres.

    a, b: (..., J, 3) positions in metres, e.g. (T, J, 3) joints over T frames.
    Returns sqrt(mean over every frame and joint of |a - b|^2) * 100 (cm): the RMSE of the
    Euclidean joint error, pooled over all joints and frames.
    """
    a = _points(a, "a")
    b = _points(b, "b")
    _same_shape(a, b, "a and b")
    return float(np.sqrt(np.mean(np.sum((a - b) ** 2, axis=-1))) * _CM_PER_M)


def kabsch_align(source, target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best rigid motion (rotation + translation, no scale) of `source` onto `target`, per set.

    source, target: (..., N, 3) matching points; every leading index (e.g. each frame of
        (T, N, 3)) is aligned on its own, all at once (`core.rotations.kabsch_rotation`).
    Returns (aligned (..., N, 3), rotations (..., 3, 3), translations (..., 3)) with
    aligned = source @ R^T + t minimising the summed squared distance to target. R is a
    proper rotation (det +1): when the best orthogonal map is a reflection, the smallest
    singular direction is flipped (Kabsch's sign correction), so a mirrored copy is NOT
    aligned to zero error. With fewer than 3 non-collinear points the rotation is not unique;
    any minimiser is returned and the aligned error is still the minimum.
    """
    source = _points(source, "source")
    target = _points(target, "target")
    _same_shape(source, target, "source and target")
    mu_s = source.mean(axis=-2, keepdims=True)
    mu_t = target.mean(axis=-2, keepdims=True)
    r, _ = kabsch_rotation(source - mu_s, target - mu_t)
    trans = mu_t[..., 0, :] - np.einsum("...ij,...j->...i", r, mu_s[..., 0, :])
    aligned = source @ np.swapaxes(r, -1, -2) + trans[..., None, :]
    return aligned, r, trans


def kabsch_rmse(a, b, groups: Sequence[Sequence[int]] | None = None) -> float:
    """RMSE (cm) of `b` against `a` after aligning `b` rigidly onto `a` in every frame.

    a, b: (..., J, 3) positions in metres (a the reference, b the one moved).
    groups: optional lists of joint indices (into J) aligned separately, e.g. the two hands
        (each wrist with its fingers); their squared errors are then pooled over every joint
        of every group, so each group weighs by its joint count. None aligns all J together.
    """
    a = _points(a, "a")
    b = _points(b, "b")
    _same_shape(a, b, "a and b")
    if groups is None:
        groups = [list(range(a.shape[-2]))]
    if len(groups) == 0:
        raise ValueError("groups must hold at least one list of joint indices")
    sq, count = 0.0, 0
    for g in groups:  # a few groups (two hands): a loop over groups, never over frames
        idx = np.asarray(g, dtype=np.int64)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"each group must be a non-empty list of joint indices, got {g!r}")
        if idx.min() < -a.shape[-2] or idx.max() >= a.shape[-2]:
            raise ValueError(f"group {list(g)} has indices outside the {a.shape[-2]} joints")
        aligned, _, _ = kabsch_align(b[..., idx, :], a[..., idx, :])
        d2 = np.sum((aligned - a[..., idx, :]) ** 2, axis=-1)
        sq += float(d2.sum())
        count += d2.size
    return float(np.sqrt(sq / count) * _CM_PER_M)


def hull_volume(points) -> float:
    """Volume of the convex hull of 3D points (scipy ConvexHull), in the input's units cubed.

    points: (N, 3), e.g. one joint's trajectory over N frames in metres -> m^3.
    A hull needs 4 points not on one plane. Fewer than 4 points, points that all lie on a
    plane, a line or one spot (affine rank < 3: the smallest singular value of the centred
    points at most 1e-9 of the larger of their spread and their distance from the origin, so
    round-off noise around one spot counts as one spot), and sets Qhull itself finds flat
    within its precision, have no volume: 0.0, never a Qhull error.
    """
    p = _points(points, "points")
    if p.ndim != 2:
        raise ValueError(f"points must be one set of shape (N, 3), got shape {p.shape}")
    if len(p) < 4:
        return 0.0
    centred = p - p.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    scale = max(sv[0], float(np.abs(p).max()) * math.sqrt(len(p)))
    if scale == 0.0 or sv[2] <= 1e-9 * scale:
        return 0.0
    from scipy.spatial import ConvexHull, QhullError

    try:
        return float(ConvexHull(p).volume)
    except QhullError:  # "initial simplex is flat": thinner than Qhull's round-off allowance
        return 0.0


@dataclass(frozen=True)
class WristHullRatio:
    """Decoded wrist-trajectory hull volume as % of the original, per wrist and their mean.

    left, right: 100 * V(decoded) / V(original) for joints 20 and 21 (NaN where the original
    wrist's trajectory has no volume). mean: the mean of the two (NaN if either is NaN).
    original_m3, decoded_m3: the volumes themselves, (left, right), m^3.
    """

    left: float
    right: float
    mean: float
    original_m3: tuple[float, float]
    decoded_m3: tuple[float, float]


def wrist_hull_volume_ratio(orig_positions, dec_positions, wrists: tuple[int, int] = WRISTS) -> WristHullRatio:
    """How much of each wrist's reach the decoded motion keeps: hull volumes as % of original.

    orig_positions, dec_positions: (T, J, 3) joint positions in metres, same frame of
        reference (evaluate passes root-relative positions so body travel does not count).
    wrists: the (left, right) joint indices, SMPL-X 20 and 21 by default.
    Quantisation pulls poses towards cluster means, which shrinks gestures: below 100% means
    the decoded hands sweep a smaller space than the original's.
    """
    o = _points(orig_positions, "orig_positions")
    d = _points(dec_positions, "dec_positions")
    _same_shape(o, d, "orig_positions and dec_positions")
    if o.ndim != 3:
        raise ValueError(f"positions must be (T, J, 3), got shape {o.shape}")
    if max(wrists) >= o.shape[1]:
        raise ValueError(f"wrist joints {wrists} are outside the {o.shape[1]} joints")
    vo = tuple(hull_volume(o[:, j]) for j in wrists)
    vd = tuple(hull_volume(d[:, j]) for j in wrists)
    pct = [100.0 * b / a if a > 0 else float("nan") for a, b in zip(vo, vd)]
    return WristHullRatio(pct[0], pct[1], float(np.mean(pct)), vo, vd)


def mean_jerk(positions, fps: float) -> float:
    """Mean magnitude of the third time derivative of positions, m/s^3.

    positions: (T, ..., 3) metres, frame axis first (e.g. (T, J, 3)); T >= 4.
    fps: frames per second. The jerk is the third forward difference times fps^3 (exact for
    a cubic in time: c t^3 gives 6c), its Euclidean norm averaged over frames and points.
    """
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 3:
        raise ValueError(f"positions must be (T, ..., 3), got shape {p.shape}")
    if p.shape[0] < 4:
        raise ValueError(f"jerk needs at least 4 frames (a third difference), got {p.shape[0]}")
    if not np.all(np.isfinite(p)):
        raise ValueError("positions hold NaN or infinite values")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")
    jerk = np.diff(p, n=3, axis=0) * float(fps) ** 3
    return float(np.mean(np.linalg.norm(jerk, axis=-1)))


def jerk_ratio(orig_positions, dec_positions, fps: float) -> float:
    """mean_jerk(decoded) / mean_jerk(original): above 1 the decoded motion is jerkier.

    Both (T, ..., 3) metres of the same shape. Raises ValueError if the original has no jerk.
    """
    o = np.asarray(orig_positions, dtype=np.float64)
    d = np.asarray(dec_positions, dtype=np.float64)
    _same_shape(o, d, "orig_positions and dec_positions")
    jo = mean_jerk(o, fps)
    if jo == 0.0:
        raise ValueError("the original positions have zero jerk: the ratio is undefined")
    return mean_jerk(d, fps) / jo


def geodesic_deg(aa_a, aa_b) -> np.ndarray:
    """The angle of R_a^T R_b (the rotation taking a onto b), degrees in [0, 180].

    aa_a, aa_b: (..., 3) axis-angle rotations (radians), broadcast together. Computed on
    quaternions: the relative rotation's angle is 2 atan2(|vector part|, |w|), which keeps full
    precision near 0 and near 180 degrees (an arccos of the trace loses it at both ends), is
    symmetric in a and b, and does not care which of q and -q stands for a rotation.
    """
    a = np.asarray(aa_a, dtype=np.float64)
    b = np.asarray(aa_b, dtype=np.float64)
    if a.shape[-1:] != (3,) or b.shape[-1:] != (3,):
        raise ValueError(f"axis-angle rotations must be (..., 3), got shapes {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("the rotations hold NaN or infinite values")
    rel = quat_multiply(quat_conjugate(axis_angle_to_quat(a)), axis_angle_to_quat(b))
    return np.degrees(quat_angle(rel))


def joint_angle_errors_deg(features_a, features_b, joints: int) -> np.ndarray:
    """(T, J) geodesic error (degrees) of each frame's J local joint rotations, b against a.

    features_a, features_b: (T, F) part features whose first 3 * joints columns are the
    joints' axis-angle rotations (x y z per joint, core.parts); any columns after them
    (expression coefficients) are not rotations and are ignored.
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    _same_shape(a, b, "features_a and features_b")
    if a.ndim != 2 or a.shape[1] < 3 * joints or joints < 1:
        raise ValueError(f"features must be (T, F) with F >= 3 x {joints} joints, got shape {a.shape}")
    T = a.shape[0]
    return geodesic_deg(a[:, : 3 * joints].reshape(T, joints, 3), b[:, : 3 * joints].reshape(T, joints, 3))


@dataclass(frozen=True)
class RotationError:
    """Geodesic rotation error pooled over frames and joints, and per joint, degrees.

    mean, p95: over every frame x joint; per_joint_mean, per_joint_p95: (J,) over frames, in
    the order of the part's joints. Percentiles are numpy's linear interpolation between the
    sorted values (the 95th of 0, 1, ..., 100 is 95).
    """

    mean: float
    p95: float
    per_joint_mean: tuple[float, ...]
    per_joint_p95: tuple[float, ...]


def rotation_error(angles_deg) -> RotationError:
    """RotationError of (N, J) per-frame, per-joint angles in degrees (joint_angle_errors_deg)."""
    x = np.asarray(angles_deg, dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"angles must be a non-empty (N, J) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("angles hold NaN or infinite values")
    return RotationError(float(x.mean()), float(np.percentile(x, 95)),
                         tuple(float(v) for v in x.mean(axis=0)), tuple(float(v) for v in np.percentile(x, 95, axis=0)))


def velocity_sq_sum(orig_positions, dec_positions, fps: float) -> tuple[float, int]:
    """(sum of |v_dec - v_orig|^2 in (cm/s)^2, number of terms) over frames and points.

    orig_positions, dec_positions: (T, ..., 3) metres, frame axis first, T >= 2. Velocities
    are forward differences times fps; the terms are the (T - 1) x points differences, so the
    sums of several takes pool into one RMSE (velocity_rmse).
    """
    o = np.asarray(orig_positions, dtype=np.float64)
    d = np.asarray(dec_positions, dtype=np.float64)
    _same_shape(o, d, "orig_positions and dec_positions")
    if o.ndim < 2 or o.shape[-1] != 3 or o.shape[0] < 2:
        raise ValueError(f"positions must be (T, ..., 3) with T >= 2 frames, got shape {o.shape}")
    if not (np.all(np.isfinite(o)) and np.all(np.isfinite(d))):
        raise ValueError("positions hold NaN or infinite values")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")
    dv = np.diff(d - o, axis=0) * (float(fps) * _CM_PER_M)  # velocity difference = velocity of the difference
    return float(np.vdot(dv, dv)), int(dv.size // 3)


def velocity_rmse(orig_positions, dec_positions, fps: float) -> float:
    """RMS over frames and points of the velocity error (cm/s) of decoded against original
    positions, both (T, ..., 3) metres at `fps` (velocity_sq_sum)."""
    sq, n = velocity_sq_sum(orig_positions, dec_positions, fps)
    return math.sqrt(sq / n)


@dataclass(frozen=True)
class QuantizerStats:
    """A figure per quantizer (one for k-means, Q for an RQ-VAE) and their mean."""

    per_quantizer: tuple[float, ...]
    mean: float


def _checked_tokens(tokens, codebook_size: int) -> np.ndarray:
    """(T, Q) int64 tokens after checking their shape, type and range against codebook_size."""
    if isinstance(codebook_size, bool) or not isinstance(codebook_size, (int, np.integer)) or codebook_size < 1:
        raise ValueError(f"codebook_size must be a positive integer, got {codebook_size!r}")
    t = np.asarray(tokens)
    if t.ndim not in (1, 2):
        raise ValueError(f"tokens must be (T,) or (T, Q), got shape {t.shape}")
    if t.shape[0] == 0 or t.size == 0:
        raise ValueError(f"tokens are empty (shape {t.shape})")
    if not np.issubdtype(t.dtype, np.integer):
        raise ValueError(f"tokens must be integers, got dtype {t.dtype}")
    if t.min() < 0 or t.max() >= codebook_size:
        raise ValueError(f"tokens must lie in [0, {codebook_size}), got values from {t.min()} to {t.max()}")
    return t.reshape(t.shape[0], -1).astype(np.int64)


def _used_counts(tokens, codebook_size: int) -> list[np.ndarray]:
    """Per quantizer, the counts of the codes that occur (np.unique, so a book of 2^40 whole
    tokens, as a downsampled RQ-VAE's latents give, needs no 2^40 bins)."""
    t = _checked_tokens(tokens, codebook_size)
    return [np.unique(t[:, q], return_counts=True)[1] for q in range(t.shape[1])]


def whole_tokens(tokens, codebook_size: int) -> np.ndarray:
    """(T,) int64 symbols: each frame's (t_0, ..., t_{Q-1}) read as sum t_q D^q, one of D^Q.

    tokens: (T,) (returned as they are) or (T, Q), each in [0, codebook_size = D). A frame's
    Q residual codes are one symbol of D^Q = 2^bits, comparable with a k-means code of k = D^Q.
    """
    t = _checked_tokens(tokens, codebook_size)
    if np.asarray(tokens).ndim == 1:
        return t[:, 0]
    if t.shape[1] * math.log2(codebook_size) > 62:
        raise ValueError(f"{t.shape[1]} codes of {codebook_size} make more than 2^62 symbols: no int64 numbers them")
    return t @ (int(codebook_size) ** np.arange(t.shape[1], dtype=np.int64))


def code_usage(tokens, codebook_size: int) -> QuantizerStats:
    """Percentage of the codebook's entries that occur at least once in `tokens`.

    tokens: (T,) codes of one codebook, or (T, Q) codes of Q residual quantizers, each in
        [0, codebook_size). Returns % per quantizer and their mean.
    """
    pct = np.array([100.0 * len(c) / codebook_size for c in _used_counts(tokens, codebook_size)])
    return QuantizerStats(tuple(float(x) for x in pct), float(pct.mean()))


def code_frequencies(tokens, codebook_size: int) -> tuple[tuple[float, ...], ...]:
    """Per quantizer, each code's share of `tokens` ((T,) or (T, Q), each in [0, codebook_size)):
    Q tuples of codebook_size shares summing to 1 (all zero for no tokens)."""
    t = _checked_tokens(tokens, codebook_size)
    counts = [np.bincount(t[:, q], minlength=codebook_size).astype(np.float64) for q in range(t.shape[1])]
    return tuple(tuple(float(x) for x in c / max(c.sum(), 1.0)) for c in counts)


def expected_usage(frequencies, draws: int) -> QuantizerStats:
    """The % of each codebook that `draws` latents drawn independently with these code
    `frequencies` (Q rows of D shares, code_frequencies) would use, in expectation:
    100 x mean over codes of 1 - (1 - p)^draws. What a held-out split as large as the one
    measured would show if it visited codes as the training split does; below it, the
    held-out takes leave codes of training-only poses unused (a shift, not the sample size)."""
    p = np.asarray(frequencies, dtype=np.float64)
    pct = 100.0 * (1.0 - (1.0 - p) ** int(draws)).mean(axis=-1)
    return QuantizerStats(tuple(float(x) for x in pct), float(pct.mean()))


def perplexity(tokens, codebook_size: int) -> QuantizerStats:
    """exp of the entropy (nats) of the code histogram, per quantizer and their mean.

    tokens as for code_usage. Perplexity is the number of equally used codes that would give
    the same entropy: k for uniform use of k codes, at most codebook_size.
    """
    probs = [c / c.sum() for c in _used_counts(tokens, codebook_size)]  # only codes that occur: p > 0
    ppl = np.array([math.exp(-float(np.sum(p * np.log(p)))) for p in probs])
    return QuantizerStats(tuple(float(x) for x in ppl), float(ppl.mean()))
