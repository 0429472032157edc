"""The `Motion` type: a skeleton animated over time, and resampling between frame rates."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import rotations as rot
from .errors import OutputError
from .kinematics import forward_kinematics
from .limits import check_resampling
from .skeleton import Skeleton


@dataclass(eq=False)
class Motion:
    """Local joint rotations and root translation at a fixed frame rate.

    skeleton: joint names, parents, rest offsets (metres, the skeleton's frame; SMPL-X: Y up).
    fps: frames per second.
    rotations: (T, J, 4) float64 unit quaternions (w, x, y, z), each joint relative to its
        parent, relative to the rest pose.
    trans: (T, 3) float64 metres; the root's world position is skeleton.offsets[0] + trans
        (the SMPL-X `trans` convention: the root rotates about its own rest position).
    expressions: (T, E) float64 face expression coefficients (FLAME, SMPL-X), or None.
    betas: (B,) body shape coefficients carried through from the file, or None.
    gender: the body model's gender the file names ('neutral', 'female', 'male'), or None.
    """

    skeleton: Skeleton
    fps: float
    rotations: np.ndarray
    trans: np.ndarray
    expressions: np.ndarray | None = None
    betas: np.ndarray | None = None
    name: str = ""
    gender: str | None = None

    def __post_init__(self):
        self.rotations = np.asarray(self.rotations, dtype=np.float64)
        self.trans = np.asarray(self.trans, dtype=np.float64)
        T, J = self.rotations.shape[:2] if self.rotations.ndim == 3 else (None, None)
        if self.rotations.ndim != 3 or self.rotations.shape[2] != 4 or J != self.skeleton.num_joints:
            raise ValueError(
                f"rotations must be (T, {self.skeleton.num_joints}, 4), got {self.rotations.shape}"
            )
        if self.trans.shape != (T, 3):
            raise ValueError(f"trans must be ({T}, 3), got {self.trans.shape}")
        if self.expressions is not None:
            self.expressions = np.asarray(self.expressions, dtype=np.float64)
            if self.expressions.ndim != 2 or self.expressions.shape[0] != T:
                raise ValueError(f"expressions must be ({T}, E), got {self.expressions.shape}")
        if self.betas is not None:
            self.betas = np.asarray(self.betas, dtype=np.float64).ravel()
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be positive, got {self.fps}")
        self.fps = float(self.fps)

    @classmethod
    def from_axis_angle(cls, skeleton: Skeleton, fps: float, axis_angle, trans, **kw) -> "Motion":
        """Build from (T, J, 3) axis-angle rotations."""
        return cls(skeleton, fps, rot.axis_angle_to_quat(axis_angle), trans, **kw)

    @property
    def num_frames(self) -> int:
        return self.rotations.shape[0]

    @property
    def duration(self) -> float:
        """Seconds from the first frame to the last."""
        return (self.num_frames - 1) / self.fps if self.num_frames else 0.0

    def axis_angle(self) -> np.ndarray:
        """(T, J, 3) axis-angle local rotations."""
        return rot.quat_to_axis_angle(self.rotations)

    def root_positions(self) -> np.ndarray:
        """(T, 3) world position of the root joint."""
        return self.skeleton.offsets[0] + self.trans

    def forward_kinematics(self) -> tuple[np.ndarray, np.ndarray]:
        """(global rotation matrices (T, J, 3, 3), joint positions (T, J, 3))."""
        return forward_kinematics(
            self.rotations, self.skeleton.offsets, self.skeleton.parents, self.root_positions()
        )

    def positions(self) -> np.ndarray:
        """(T, J, 3) world joint positions, metres."""
        return self.forward_kinematics()[1]

    def frames(self, start: int, stop: int | None = None) -> "Motion":
        """The frames [start, stop) as a new Motion."""
        sl = slice(start, stop)
        return replace(
            self,
            rotations=self.rotations[sl],
            trans=self.trans[sl],
            expressions=None if self.expressions is None else self.expressions[sl],
        )

    def resampled(self, fps: float) -> "Motion":
        """The same motion at another frame rate: slerp for rotations, linear for the rest.

        Output frame k is at time k / fps; the last one is the last that falls inside the
        original's duration. ValueError for a rate that is not positive; OptionError for one
        over core.limits.MAX_FPS or, above 30 fps, over MAX_UPSAMPLE times this motion's.
        """
        fps = float(fps)
        if not (np.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be positive, got {fps}")
        if abs(fps - self.fps) < 1e-9 or self.num_frames < 2:
            return replace(self, fps=fps)
        check_resampling(self.name, self.fps, fps)  # OptionError: the frames made stay bounded by ours
        n_out = int(np.floor(self.duration * fps + 1e-6)) + 1
        i0, i1, a = interpolation_weights(np.arange(n_out) * (self.fps / fps), self.num_frames)  # (T',) each
        rotations = rot.quat_slerp(
            self.rotations[i0], self.rotations[i1], np.broadcast_to(a[:, None], (n_out, self.skeleton.num_joints))
        )  # (T', J, 4)

        def lerp(x):
            return None if x is None else x[i0] * (1.0 - a[:, None]) + x[i1] * a[:, None]

        return replace(self, fps=fps, rotations=rotations, trans=lerp(self.trans), expressions=lerp(self.expressions))


def non_finite_parts(motion: Motion) -> list[str]:
    """What of `motion` holds NaN or infinite values, for a message: 'rotations of left_hip,
    jaw (frames 3-7)', 'trans (frames 0-149)', 'betas', 'expressions (frame 4)'; empty when
    everything is finite."""

    def frames(bad_rows: np.ndarray) -> str:
        rows = np.flatnonzero(bad_rows)
        return f"frame {rows[0]}" if len(rows) == 1 else f"frames {rows[0]}-{rows[-1]}"

    found = []
    bad = ~np.isfinite(motion.rotations).all(axis=2)  # (T, J)
    if bad.any():
        joints = [motion.skeleton.names[j] for j in np.flatnonzero(bad.any(axis=0))]
        shown = ", ".join(joints[:6]) + (f" and {len(joints) - 6} more" if len(joints) > 6 else "")
        found.append(f"rotations of {shown} ({frames(bad.any(axis=1))})")
    for name in ("trans", "expressions"):
        values = getattr(motion, name)
        if values is not None and not np.isfinite(values).all():
            found.append(f"{name} ({frames(~np.isfinite(values).all(axis=1))})")
    if motion.betas is not None and not np.isfinite(motion.betas).all():
        found.append("betas")
    return found


def require_finite(motion: Motion, target: str) -> None:
    """Raise OutputError naming `target` (a file, an armature) and what is non-finite when
    `motion` holds NaN or infinite values: the writers call it so that no command or
    operator ever writes such motion."""
    found = non_finite_parts(motion)
    if found:
        raise OutputError(f"cannot write {target}: the motion {motion.name!r} holds NaN or infinite values in "
                          f"{'; '.join(found)}; nothing was written (a damaged input or codec bundle made them)")


def interpolation_weights(src_frames, num_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i0, i1, a) for reading (N,) fractional frames of a `num_frames`-frame sequence by
    linear interpolation, x[i0] * (1 - a) + x[i1] * a: the frames either side and the weight
    of the later one, both held inside the sequence."""
    src = np.asarray(src_frames, dtype=np.float64)
    i0 = np.minimum(np.floor(src + 1e-9).astype(np.int64), num_frames - 1)
    i1 = np.minimum(i0 + 1, num_frames - 1)
    return i0, i1, np.clip(src - i0, 0.0, 1.0)
