"""The report's rows: the figures of one codec and part on one split (`SplitFigures`), one
row per codec bundle and part (`EvaluationRow`), what each part was
evaluated on (`DataSummary`), and k-means against RQ-VAE at equal bits per second
(`FamilyRatio`): the seed's pairing (per-frame RQ-VAE of the same bits per frame,
`family_ratios`) and the best RQ-VAE offered at each bitrate, per-frame or temporally
downsampled (`best_family_ratios`).

A codec's rate is its bits per second: a downsampled RQ-VAE (`rqvae4-B-part`, one latent of
4B bits per 4 frames) spends the bits of a per-frame codec of B bits per frame. Rows carry
`bits_per_frame` as that per-frame equivalent (bits per second / fps), so every table and the
plot line codecs up by what they cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path

from ...parts import PARTS, get_part
from .feature_errors import FeatureFigures

#: Bits per second closer than this are one bitrate (they come from log2 of integers).
_SAME_RATE = 1e-6


@dataclass(frozen=True)
class SplitFigures:
    """The figures of one codec and part on one split (held-out or training).

    rmse_cm: full-pose RMSE; kabsch_body_cm, kabsch_hands_cm: Kabsch-aligned RMSE, cm, and
    kabsch_by_part_cm: the same for every registered part (part -> cm).
    wrist_hull_pct: (left, right) decoded hull volume as % of the original; wrist_hull_mean_pct
    their mean. jerk_ratio: decoded mean jerk over the original's. usage_pct, perplexity:
    per quantizer. token_usage_pct, token_perplexity: of whole tokens (the (T, Q) tuples of an
    RQ-VAE read as one of D^Q = 2^bits symbols; for k-means the same as per quantizer), so
    that the families compare. rmse_by_source_cm: full-pose RMSE per source folder.
    takes, frames: what was coded. The coded part's rotation, velocity and expression figures
    (feature_errors.FeatureFigures; NaN and empty where not measured): rotation_mean_deg,
    rotation_p95_deg (geodesic error of its joints' local rotations over frames x joints),
    rotation_joint_mean_deg, rotation_joint_p95_deg (joint name -> degrees),
    velocity_rmse_cm_s (of its part_positions points), expression_rmse (a part with
    expressions only). usage_pct and perplexity are per quantizer level over the codec's
    latents (one per frames_per_latent frames); latents: how many; code_frequencies: each
    code's share per level (metrics.code_frequencies), empty where not measured.
    encode_fps, decode_fps: frames coded (features to tokens) and decoded (tokens to features)
    per second of wall time over the split's takes, one thread.
    """

    takes: int
    frames: int
    rmse_cm: float
    kabsch_body_cm: float
    kabsch_hands_cm: float
    wrist_hull_pct: tuple[float, float]
    wrist_hull_mean_pct: float
    jerk_ratio: float
    usage_pct: tuple[float, ...]
    perplexity: tuple[float, ...]
    token_usage_pct: float
    token_perplexity: float
    rmse_by_source_cm: dict
    rotation_mean_deg: float = float("nan")
    rotation_p95_deg: float = float("nan")
    rotation_joint_mean_deg: dict = field(default_factory=dict)
    rotation_joint_p95_deg: dict = field(default_factory=dict)
    velocity_rmse_cm_s: float = float("nan")
    expression_rmse: float = float("nan")
    kabsch_by_part_cm: dict = field(default_factory=dict)
    latents: int = 0
    code_frequencies: tuple = ()
    encode_fps: float = float("nan")
    decode_fps: float = float("nan")

    @property
    def feature_figures(self) -> FeatureFigures:
        """The rotation, velocity and expression figures as one FeatureFigures."""
        return FeatureFigures(**{f.name: getattr(self, f.name) for f in fields(FeatureFigures)})

    def kabsch_cm(self, part: str) -> float:
        """The Kabsch-aligned RMSE of `part`'s points (kabsch_by_part_cm, or the kabsch_{part}_cm
        field of a hand-made SplitFigures); NaN for a part not measured."""
        if part in self.kabsch_by_part_cm:
            return self.kabsch_by_part_cm[part]
        return getattr(self, f"kabsch_{part}_cm", float("nan"))

    def headline(self, part: str) -> float:
        """The figure `part` is judged by (`Part.headline`: a field, or kabsch_{part}_cm of any part)."""
        name = get_part(part).headline
        if not hasattr(self, name) and name.startswith("kabsch_") and name.endswith("_cm"):
            return self.kabsch_cm(name[len("kabsch_"):-len("_cm")])
        return getattr(self, name)


def ratio(a: float, b: float) -> float:
    """a / b, NaN where b is 0 (an exact codec has no error to compare against)."""
    return a / b if b else float("nan")


def is_rqvae(family: str) -> bool:
    """Whether rows of `family` are RQ-VAEs (per-frame 'rqvae', or a downsampled variant)."""
    return family.startswith("rqvae")


@dataclass(frozen=True)
class EvaluationRow:
    """One codec bundle (codec name and part): its rate and its figures on both splits.

    size: 'k=512' or 'D=8 x Q=3'. codebook_size: k or D. bits_per_second: the manifest's
    (default bits per latent x fps / frames_per_latent); bits_per_frame: its per-frame
    equivalent, bits_per_second / fps (for a per-frame codec log2(k) or Q log2(D)).
    frames_per_latent: frames one latent (token or token tuple) codes, 1 for per-frame codecs;
    bits_per_latent: the bits of one latent (NaN: bits_per_frame x frames_per_latent).
    held_out, in_sample: SplitFigures. training: the manifest's `training` block (data, steps,
    parameters; empty for the baseline).
    """

    codec: str
    part: str
    family: str
    size: str
    codebook_size: int
    bits_per_frame: float
    bits_per_second: float
    held_out: SplitFigures
    in_sample: SplitFigures
    training: dict = field(default_factory=dict)
    frames_per_latent: int = 1
    bits_per_latent: float = float("nan")

    @property
    def latent_bits(self) -> float:
        """Bits of one latent: bits_per_latent, else bits_per_frame x frames_per_latent."""
        return self.bits_per_latent if math.isfinite(self.bits_per_latent) else self.bits_per_frame * self.frames_per_latent

    @property
    def series(self) -> str:
        """The curve a row belongs to: its family, with the frames per latent when above 1
        ('rqvae', 'rqvae4', 'kmeans')."""
        return self.family if self.frames_per_latent == 1 else f"{self.family}{self.frames_per_latent}"

    @property
    def part_rmse_cm(self) -> float:
        """The figure plotted and compared per part, held out: the part's `headline` (full-pose
        RMSE for the body, Kabsch hands RMSE for the hands: the full-pose figure dilutes finger
        errors over 55 joints)."""
        return self.held_out.headline(self.part)

    @property
    def part_rmse_in_sample_cm(self) -> float:
        return self.in_sample.headline(self.part)


@dataclass(frozen=True)
class DataSummary:
    """What one part was evaluated on: takes and frames per split, and takes left out;
    mirrored: each take was also coded as its left/right mirror image (twice the frames)."""

    part: str
    held_out_takes: int
    held_out_frames: int
    train_takes: int
    train_frames: int
    skipped: int
    mirrored: bool = False


@dataclass(frozen=True)
class FamilyRatio:
    """k-means error over RQ-VAE error at one bitrate and part (above 1: RQ-VAE is better).

    kmeans, rqvae: the two rows (equal bits per second). ratio: of the part's figure
    (EvaluationRow.part_rmse_cm) held out; in_sample_ratio: the same on the training split;
    full_pose_ratio and kabsch_ratio: of the held-out full-pose and Kabsch-aligned (the part's
    own) RMSE; rotation_ratio, rotation_p95_ratio: of the held-out geodesic rotation error
    (mean, 95th percentile), in_sample_rotation_ratio the mean's in-sample; velocity_ratio: of
    the held-out velocity error.
    """

    part: str
    bits_per_frame: float
    kmeans: EvaluationRow
    rqvae: EvaluationRow

    @property
    def bits_per_second(self) -> float:
        return self.kmeans.bits_per_second

    @property
    def ratio(self) -> float:
        return ratio(self.kmeans.part_rmse_cm, self.rqvae.part_rmse_cm)

    @property
    def in_sample_ratio(self) -> float:
        return ratio(self.kmeans.part_rmse_in_sample_cm, self.rqvae.part_rmse_in_sample_cm)

    @property
    def full_pose_ratio(self) -> float:
        return ratio(self.kmeans.held_out.rmse_cm, self.rqvae.held_out.rmse_cm)

    @property
    def kabsch_ratio(self) -> float:
        return ratio(self.kmeans.held_out.kabsch_cm(self.part), self.rqvae.held_out.kabsch_cm(self.part))

    @property
    def rotation_ratio(self) -> float:
        return ratio(self.kmeans.held_out.rotation_mean_deg, self.rqvae.held_out.rotation_mean_deg)

    @property
    def rotation_p95_ratio(self) -> float:
        return ratio(self.kmeans.held_out.rotation_p95_deg, self.rqvae.held_out.rotation_p95_deg)

    @property
    def in_sample_rotation_ratio(self) -> float:
        return ratio(self.kmeans.in_sample.rotation_mean_deg, self.rqvae.in_sample.rotation_mean_deg)

    @property
    def velocity_ratio(self) -> float:
        return ratio(self.kmeans.held_out.velocity_rmse_cm_s, self.rqvae.held_out.velocity_rmse_cm_s)


def _kmeans_rows(rows):
    """The k-means rows in part (registry) then bitrate order."""
    return sorted((r for r in rows if r.family == "kmeans"),
                  key=lambda r: (PARTS.index(r.part) if r.part in PARTS else len(PARTS), r.bits_per_second))


def _same_rate(a: EvaluationRow, b: EvaluationRow) -> bool:
    return a.part == b.part and abs(a.bits_per_second - b.bits_per_second) <= _SAME_RATE * max(1.0, a.bits_per_second)


def family_ratios(rows) -> list[FamilyRatio]:
    """The seed's comparison: k-means / per-frame RQ-VAE (family 'rqvae', one latent per
    frame) for every part and bitrate at which both were evaluated, in part then bitrate order."""
    out = []
    for km in _kmeans_rows(rows):
        rq = next((r for r in rows if r.family == "rqvae" and r.frames_per_latent == 1 and _same_rate(km, r)), None)
        if rq is not None:
            out.append(FamilyRatio(km.part, km.bits_per_frame, km, rq))
    return out


def _error_key(r: EvaluationRow) -> float:
    return r.part_rmse_cm if math.isfinite(r.part_rmse_cm) else math.inf


def best_family_ratios(rows) -> list[FamilyRatio]:
    """k-means / the best RQ-VAE offered at its bits per second (per-frame or downsampled; the
    lowest held-out part figure, EvaluationRow.part_rmse_cm), per part and k-means bitrate."""
    out = []
    for km in _kmeans_rows(rows):
        offered = [r for r in rows if is_rqvae(r.family) and _same_rate(km, r)]
        if offered:
            out.append(FamilyRatio(km.part, km.bits_per_frame, km, min(offered, key=_error_key)))
    return out


@dataclass(frozen=True)
class EvaluationReport:
    """rows: one per codec and part; data: per part; ratios: per part and shared bitrate (the
    seed's per-frame pairing); markdown: the report's text; out, plot: the files written;
    seconds: wall time; best: k-means against the best RQ-VAE at each bitrate."""

    rows: tuple[EvaluationRow, ...]
    data: tuple[DataSummary, ...]
    ratios: tuple[FamilyRatio, ...]
    markdown: str
    out: Path
    plot: Path | None
    seconds: float
    best: tuple[FamilyRatio, ...] = ()

    def row(self, codec: str, part: str) -> EvaluationRow:
        for r in self.rows:
            if r.codec == codec and r.part == part:
                return r
        raise KeyError(f"no row for {codec} {part}")
