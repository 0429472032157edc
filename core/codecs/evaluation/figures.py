"""The evaluation's figures: the points each metric sees, running sums over takes, and the
figures of one codec and part on one split (`SplitFigures`). The report's rows and the family
ratios live in `rows` (imported here too, where they were first defined).

Points come in frames of reference built from the part registry: per part, one frame for each
of its `point_origins` joints, holding that joint, the part's joints it moves (the joints
whose nearest ancestor among the origins it is) and the part's tips placed there. The body
gives one frame (the root's: joints 0-21), the hands two (each wrist: wrist, its 15 finger
joints, its 5 tips). The Kabsch figure of a part aligns each of its frames on its own; the jerk
of a coded part is over the points of its frames; the wrist hulls are the wrists' trajectories
in the body's frame (so that walking does not count as reach).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from functools import lru_cache

import numpy as np

from ...kinematics import tip_positions
from ...motion import Motion
from ...parts import PARTS, get_part
from ...skeleton import NUM_SMPLX_JOINTS, SMPLX_PARENTS
from ..metrics import (
    WRISTS,
    code_frequencies,
    code_usage,
    kabsch_rmse,
    mean_jerk,
    perplexity,
    position_rmse,
    whole_tokens,
    wrist_hull_volume_ratio,
)
from .feature_errors import NO_FEATURE_FIGURES, FeatureFigures, FeatureSums
from .rows import (
    DataSummary,
    EvaluationReport,
    EvaluationRow,
    FamilyRatio,
    SplitFigures,
    best_family_ratios,
    family_ratios,
    ratio,
)

# The rows were defined here first: their old import path stays.
__all__ = ["DataSummary", "EvaluationReport", "EvaluationRow", "FamilyRatio", "Points", "SplitFigures", "Sums",
           "best_family_ratios", "family_ratios", "frame_rows", "ratio", "split_figures"]

#: The part whose frame the wrist hulls are measured in (the wrists' own part).
_HULL_PART = next(p for p in PARTS if set(WRISTS) <= set(get_part(p).joints))


@lru_cache(maxsize=None)
def frame_rows(part: str) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """Per frame of reference of `part`: (origin joint, rows), rows indexing the extended points
    (joints 0..54, then the part's tips at NUM_SMPLX_JOINTS + i for its i-th `tips_from`)."""
    spec = get_part(part)
    origins = tuple(dict.fromkeys(spec.point_origins))
    tip_origins = spec.point_origins[len(spec.points):]

    def origin_of(joint: int) -> int:
        while joint not in origins:
            joint = SMPLX_PARENTS[joint]
        return joint

    return tuple(
        (o, (o, *(j for j in spec.joints if origin_of(j) == o),
             *(NUM_SMPLX_JOINTS + i for i, t in enumerate(tip_origins) if t == o)))
        for o in origins
    )


def _in_frame(points: np.ndarray, origin: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(T, N, 3) points in the frame of (T, 3) origins with (T, 3, 3) world rotations."""
    return np.einsum("tji,tnj->tni", rotation, points - origin[:, None, :])


@dataclass(frozen=True)
class Points:
    """The points the metrics see, for one motion (T frames), metres.

    world: (T, 55, 3) all joints. local: per part name, (T, N, 3) per frame of reference
    (`frame_rows`), in that frame.
    """

    world: np.ndarray
    local: dict[str, tuple[np.ndarray, ...]]

    @classmethod
    def of(cls, motion: Motion) -> "Points":
        glob, pos = motion.forward_kinematics()
        offsets = motion.skeleton.offsets
        local = {}
        for part in PARTS:
            tips = tip_positions(glob, pos, offsets, get_part(part).tips_from)
            ext = np.concatenate([pos, tips], axis=1)  # (T, 55 + tips, 3)
            local[part] = tuple(_in_frame(ext[:, list(rows)], pos[:, o], glob[:, o]) for o, rows in frame_rows(part))
        return cls(pos, local)

    def flat(self, part: str) -> tuple[np.ndarray, list[range]]:
        """(T, N, 3) the part's frames side by side, and the rows of each frame."""
        arrays = self.local[part]
        bounds = np.cumsum([0] + [a.shape[1] for a in arrays])
        return np.concatenate(arrays, axis=1), [range(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _hull_wrists() -> tuple[int, int]:
    """The wrists' rows in the hull part's first frame."""
    rows = frame_rows(_HULL_PART)[0][1]
    return rows.index(WRISTS[0]), rows.index(WRISTS[1])


@dataclass
class Sums:
    """Running sums over the takes of one split, for one codec and part.

    Squared RMSEs are kept times the number of points they averaged, mean jerks times their
    samples (so the sums pool over frames); kabsch: part -> [squared RMSE x points, points];
    by_source: source folder -> [squared RMSE x points, points] of the full pose.
    """

    frames: int = 0
    sq_full: float = 0.0
    n_full: int = 0
    kabsch: dict = field(default_factory=lambda: {p: [0.0, 0] for p in PARTS})
    hull_orig: np.ndarray = field(default_factory=lambda: np.zeros(2))
    hull_dec: np.ndarray = field(default_factory=lambda: np.zeros(2))
    jerk_orig: float = 0.0
    jerk_dec: float = 0.0
    tokens: list = field(default_factory=list)
    by_source: dict = field(default_factory=dict)
    features: FeatureSums | None = None
    encode_seconds: float = 0.0
    decode_seconds: float = 0.0

    def add_features(self, part: str, orig_features, dec_features, fps: float, orig_positions=None) -> None:
        """One take's (T, F) original and decoded features of the coded part: the rotation,
        velocity and expression errors (feature_errors.FeatureSums; orig_positions: the
        original's part_positions, where already computed)."""
        if self.features is None:
            self.features = FeatureSums(part, fps)
        self.features.add(orig_features, dec_features, orig_positions)

    def add(self, orig: Points, dec: Points, part: str, fps: float, tokens: np.ndarray, source: str) -> None:
        """One take: original and decoded points, the coded part, its rate, (T,) or (T, Q) tokens."""
        self.frames += len(orig.world)
        self.tokens.append(tokens)
        n = orig.world.shape[0] * orig.world.shape[1]
        sq = position_rmse(orig.world, dec.world) ** 2 * n
        self.sq_full += sq
        self.n_full += n
        acc = self.by_source.setdefault(source, [0.0, 0])
        acc[0] += sq
        acc[1] += n
        for p, acc in self.kabsch.items():
            (o, groups), (d, _) = orig.flat(p), dec.flat(p)
            n = o.shape[0] * o.shape[1]
            acc[0] += kabsch_rmse(o, d, groups) ** 2 * n
            acc[1] += n
        body_o, body_d = orig.local[_HULL_PART][0], dec.local[_HULL_PART][0]
        hull = wrist_hull_volume_ratio(body_o, body_d, _hull_wrists())
        self.hull_orig += hull.original_m3
        self.hull_dec += hull.decoded_m3
        self._add_jerk(orig.flat(part)[0], dec.flat(part)[0], fps)

    def _add_jerk(self, po: np.ndarray, pd: np.ndarray, fps: float) -> None:
        # Origin rows sit at 0 in their own frame: they add nothing to the summed jerk, so the
        # ratio is that of the part's moving points.
        if len(po) >= 4:  # jerk needs a third difference
            n = (len(po) - 3) * po.shape[1]
            self.jerk_orig += mean_jerk(po, fps) * n
            self.jerk_dec += mean_jerk(pd, fps) * n


def _root_mean(sq: float, n: int) -> float:
    return math.sqrt(sq / n) if n else float("nan")


def split_figures(s: Sums, takes: int, codebook_size: int) -> SplitFigures:
    """The figures of the sums over `takes` takes; tokens in [0, codebook_size)."""
    hull = tuple(float(100.0 * d / o) if o > 0 else float("nan") for o, d in zip(s.hull_orig, s.hull_dec))
    tokens = np.concatenate(s.tokens, axis=0)
    usage = code_usage(tokens, codebook_size)
    ppl = perplexity(tokens, codebook_size)
    whole = _whole_token_stats(tokens, codebook_size)
    kabsch = {p: _root_mean(*acc) for p, acc in s.kabsch.items()}
    feats = s.features.figures() if s.features is not None else NO_FEATURE_FIGURES
    return SplitFigures(
        takes=takes,
        frames=s.frames,
        rmse_cm=_root_mean(s.sq_full, s.n_full),
        kabsch_body_cm=kabsch.get("body", float("nan")),
        kabsch_hands_cm=kabsch.get("hands", float("nan")),
        wrist_hull_pct=hull,
        wrist_hull_mean_pct=float(np.mean(hull)),
        jerk_ratio=s.jerk_dec / s.jerk_orig if s.jerk_orig > 0 else float("nan"),
        usage_pct=usage.per_quantizer,
        perplexity=ppl.per_quantizer,
        token_usage_pct=whole[0],
        token_perplexity=whole[1],
        rmse_by_source_cm={k: _root_mean(sq, n) for k, (sq, n) in sorted(s.by_source.items())},
        **{f.name: getattr(feats, f.name) for f in fields(FeatureFigures)},
        kabsch_by_part_cm=kabsch,
        latents=len(tokens),
        encode_fps=s.frames / s.encode_seconds if s.encode_seconds > 0 else float("nan"),
        decode_fps=s.frames / s.decode_seconds if s.decode_seconds > 0 else float("nan"),
        code_frequencies=code_frequencies(tokens, codebook_size) if tokens.ndim == 2 else (),
    )


def _whole_token_stats(tokens: np.ndarray, codebook_size: int) -> tuple[float, float]:
    """(% of the D^Q whole-token symbols used, their perplexity); NaN for both where D^Q is
    beyond int64 (more than 62 bits per latent: no table of symbols to count against)."""
    q = 1 if tokens.ndim == 1 else tokens.shape[1]
    if q * math.log2(codebook_size) > 62:
        return float("nan"), float("nan")
    symbols = whole_tokens(tokens, codebook_size)
    return code_usage(symbols, codebook_size**q).mean, perplexity(symbols, codebook_size**q).mean
