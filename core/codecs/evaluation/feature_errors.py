"""The errors a rig shows, measured on a part's features: how far each coded joint's local
rotation is turned from the original's (geodesic, degrees), how fast the part's points move
wrongly (velocity error, cm/s) and, for a part with expression coefficients, their RMSE.

Positions say little about end-joint twists (a wrist or head turning about its own bone moves
no joint position the position figures count), but the rig's mesh shows them: the rotation
error counts every coded joint alike. The velocity error is on the part's `part_positions`
points (the part alone, everything else at rest, each point relative to its origin joint),
the same points the manifests' position RMSE uses.

`FeatureSums` pools over takes; the report's SplitFigures and a manifest's evaluation block
(`FeatureFigures.manifest_block`) both come from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...parts import get_part
from ...skeleton import SMPLX_JOINT_NAMES
from ..features import CODEC_FPS, part_positions
from ..metrics import joint_angle_errors_deg, rotation_error, velocity_sq_sum

#: Frames of part_positions held at once for the velocity error (a long take's positions
#: never exist all at once; blocks overlap by one frame so no difference is lost).
_VELOCITY_BLOCK = 4096


def velocity_error_sums(orig_features, dec_features, part: str, fps: float = CODEC_FPS,
                        orig_positions=None) -> tuple[float, int]:
    """(summed squared velocity error in (cm/s)^2, terms) of the part's `part_positions`
    points between two (T, F) feature arrays at `fps`; (0.0, 0) for fewer than 2 frames.
    orig_positions: the original's (T, P, 3) part_positions where already computed (an
    evaluation codes one take with many codecs)."""
    o, d = np.asarray(orig_features), np.asarray(dec_features)
    if o.shape != d.shape or o.ndim != 2:
        raise ValueError(f"features must be two (T, F) arrays of one shape, got {o.shape} and {d.shape}")
    if orig_positions is not None and len(orig_positions) != len(o):
        raise ValueError(f"orig_positions hold {len(orig_positions)} frames, the features {len(o)}")
    sq, n = 0.0, 0
    for start in range(0, len(o) - 1, _VELOCITY_BLOCK):
        block = slice(start, start + _VELOCITY_BLOCK + 1)
        po = part_positions(o[block], part) if orig_positions is None else orig_positions[block]
        s, c = velocity_sq_sum(po, part_positions(d[block], part), fps)
        sq, n = sq + s, n + c
    return sq, n


@dataclass(frozen=True)
class FeatureFigures:
    """Rotation, velocity and expression figures of one codec and part on one set of takes.

    rotation_mean_deg, rotation_p95_deg: geodesic error of the part's joints' local rotations,
    mean and 95th percentile over every frame x joint; rotation_joint_mean_deg,
    rotation_joint_p95_deg: joint name -> the same over frames. velocity_rmse_cm_s: RMS over
    frames and points of the velocity error. expression_rmse: RMSE of the expression
    coefficients (their own units), NaN for a part without expressions.
    """

    rotation_mean_deg: float
    rotation_p95_deg: float
    rotation_joint_mean_deg: dict
    rotation_joint_p95_deg: dict
    velocity_rmse_cm_s: float
    expression_rmse: float

    def worst_joints(self, count: int = 3) -> list[tuple[str, float]]:
        """The `count` joints of largest mean rotation error, (name, degrees), worst first."""
        ranked = sorted(self.rotation_joint_mean_deg.items(), key=lambda kv: -kv[1])
        return ranked[:count]

    def manifest_block(self) -> dict:
        """The figures rounded for a manifest's evaluation block (JSON: no NaN)."""
        out = {
            "rotation_mean_deg": round(self.rotation_mean_deg, 3),
            "rotation_p95_deg": round(self.rotation_p95_deg, 3),
            "rotation_deg_by_joint": {k: round(v, 3) for k, v in self.rotation_joint_mean_deg.items()},
            "velocity_rmse_cm_s": round(self.velocity_rmse_cm_s, 3),
        }
        if math.isfinite(self.expression_rmse):
            out["expression_rmse"] = round(self.expression_rmse, 4)
        return out


NO_FEATURE_FIGURES = FeatureFigures(float("nan"), float("nan"), {}, {}, float("nan"), float("nan"))


@dataclass
class FeatureSums:
    """Running sums over takes of one part's feature errors (FeatureFigures once done).

    angles: per take (T, J) float32 degrees (kept whole: the 95th percentile needs them all;
    a float32 per frame and joint); sq_vel, n_vel and sq_expr, n_expr: summed squares and terms.
    """

    part: str
    fps: float = CODEC_FPS
    angles: list = field(default_factory=list)
    sq_vel: float = 0.0
    n_vel: int = 0
    sq_expr: float = 0.0
    n_expr: int = 0

    def add(self, orig_features, dec_features, orig_positions=None) -> None:
        """One take's (T, F) original and decoded features (not normalised); orig_positions:
        the original's part_positions where already computed (velocity_error_sums)."""
        spec = get_part(self.part)
        o = np.asarray(orig_features, dtype=np.float64)
        d = np.asarray(dec_features, dtype=np.float64)
        if o.shape != d.shape or o.ndim != 2 or o.shape[1] != spec.num_features:
            raise ValueError(f"{self.part} features must be two (T, {spec.num_features}) arrays, "
                             f"got {o.shape} and {d.shape}")
        J = len(spec.joints)
        self.angles.append(joint_angle_errors_deg(o, d, J).astype(np.float32))
        sq, n = velocity_error_sums(o, d, self.part, self.fps, orig_positions)
        self.sq_vel, self.n_vel = self.sq_vel + sq, self.n_vel + n
        if spec.expressions:
            e = d[:, 3 * J:] - o[:, 3 * J:]
            self.sq_expr += float(np.vdot(e, e))
            self.n_expr += e.size

    def figures(self) -> FeatureFigures:
        """The pooled figures (NO_FEATURE_FIGURES when no frame was added)."""
        angles = [a for a in self.angles if len(a)]
        if not angles:
            return NO_FEATURE_FIGURES
        rot = rotation_error(np.concatenate(angles, axis=0))
        names = [SMPLX_JOINT_NAMES[j] for j in get_part(self.part).joints]
        return FeatureFigures(
            rotation_mean_deg=rot.mean,
            rotation_p95_deg=rot.p95,
            rotation_joint_mean_deg=dict(zip(names, rot.per_joint_mean)),
            rotation_joint_p95_deg=dict(zip(names, rot.per_joint_p95)),
            velocity_rmse_cm_s=math.sqrt(self.sq_vel / self.n_vel) if self.n_vel else float("nan"),
            expression_rmse=math.sqrt(self.sq_expr / self.n_expr) if self.n_expr else float("nan"),
        )


def feature_figures(pairs, part: str, fps: float = CODEC_FPS) -> FeatureFigures:
    """FeatureFigures pooled over (original, decoded) (T, F) feature pairs of `part`, e.g. for
    a manifest: `feature_figures(zip(originals, decodeds), part).manifest_block()`."""
    sums = FeatureSums(part, fps)
    for orig, dec in pairs:
        sums.add(orig, dec)
    return sums.figures()
