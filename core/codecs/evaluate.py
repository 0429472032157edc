"""The codecs' rate-distortion evaluation: figures per codec and part, a markdown report, a plot.

Every take under the data folders is read at 30 fps (dataset.read_takes: BVH retargeted onto
SMPL-X, SMPL-X npz) and cut by the fixed split (dataset.split_takes, core/codecs/split.json).
For each codec bundle (models/{name}-{part}) and each take in which its part moves, the part's
features are encoded and decoded, put back into the take (every other joint, the root
orientation and translation unchanged) and both motions run through forward kinematics on the
SMPL-X skeleton. The figures, pooled over the takes of a split:

- full-pose RMSE: all 55 SMPL-X joints, original against decoded (same root), cm;
- Kabsch RMSE body: joints 0-21 rigidly aligned per frame (metrics.kabsch_rmse), cm;
- Kabsch RMSE hands: each hand aligned on its own (wrist, 15 finger joints and 5 fingertips,
  the tips placed by the third segment's own rest offset, since SMPL-X has no tip joints and
  the third segments' rotations would otherwise move nothing), both hands pooled, cm;
- wrist hull volume %: per wrist, the summed convex-hull volumes of its trajectory over the
  takes, decoded as % of original, in the root's frame (root at the origin, its rotation
  removed) so that walking does not count as reach; the mean of the two wrists;
- jerk ratio: pooled mean jerk of the decoded part's points over the original's (body:
  joints 1-21 in the root's frame; hands: finger joints and tips in their wrist's frame);
- code usage % and perplexity of the held-out tokens (per quantizer, then averaged), and of
  whole tokens (an RQ-VAE frame's Q codes as one of 2^bits symbols) so the families compare;
- the full-pose RMSE per source folder (Bandai dataset-1, dataset-2, BEAT2).
The codec of one part changes only that part's joints, so a body codec leaves the hands'
Kabsch figure at zero and a hands codec the body's: those cells check the separation.
Beside the bundles, a zero-bit reference row per part (`MeanPoseBaseline`: every frame the
training split's mean joint angles) puts the errors in scale. The report also gives the
k-means / RQ-VAE error ratio at each bitrate both families have, and statements computed from
the figures (generalisation gap, jerk, reach, symbols used).

Run: python -m motion_tokens.core.codecs.evaluate --data DIR... [--codecs NAMES] --out FILE.md
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import MotionTokensError, OutputError
from ..formats.atomic import write_atomically
from ..motion import Motion
from .dataset import MotionTake, Split, load_split, part_dataset, read_takes, split_takes
from ..parts import get_part
from .features import PARTS, part_features, with_part_features

FINGERTIP_PARENTS = get_part("hands").tips_from
from .metrics import (
    WRISTS,
    code_usage,
    kabsch_rmse,
    mean_jerk,
    perplexity,
    position_rmse,
    whole_tokens,
    wrist_hull_volume_ratio,
)
from .base import Codec
from .registry import MODELS_DIR, available_codecs, load_codec

FAMILY_LABELS = {"kmeans": "k-means", "rqvae": "RQ-VAE", "baseline": "none (0 bits)"}
#: Body joints of the Kabsch body figure (pelvis to wrists) and the jerk (pelvis excluded: it is
#: the origin of the root frame).
BODY_SET = tuple(range(22))
#: Per hand: wrist, its 15 finger joints, then 5 fingertips (rows 55.. of the extended points).
_LEFT_FINGERS = tuple(range(25, 40))
_RIGHT_FINGERS = tuple(range(40, 55))
_LEFT_TIPS = tuple(j for j in FINGERTIP_PARENTS if j < 40)
_RIGHT_TIPS = tuple(j for j in FINGERTIP_PARENTS if j >= 40)
#: The published finding the report compares against: RQ-VAE body RMSE about 1.8x lower.
PUBLISHED_RATIO = 1.8
#: Relative difference below which the findings call two held-out errors level.
CLEAR_MARGIN = 0.10


# --- per-take figures --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Points:
    """The points the metrics see, for one motion (T frames), metres.

    world: (T, 55, 3) all joints. body_local: (T, 22, 3) joints 0-21 in the root's frame.
    hands_local: (T, 2, 21, 3) per hand (left, right): wrist, 15 finger joints, 5 tips, in
    that wrist's frame.
    """

    world: np.ndarray
    body_local: np.ndarray
    hands_local: np.ndarray


def _in_frame(points: np.ndarray, origin: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(T, N, 3) points in the frame of (T, 3) origins with (T, 3, 3) world rotations."""
    return np.einsum("tji,tnj->tni", rotation, points - origin[:, None, :])


def _points(motion: Motion) -> _Points:
    glob, pos = motion.forward_kinematics()
    offsets = motion.skeleton.offsets
    tips_from = list(FINGERTIP_PARENTS)
    tips = pos[:, tips_from] + np.einsum("tjab,jb->tja", glob[:, tips_from], offsets[tips_from])
    ext = np.concatenate([pos, tips], axis=1)  # (T, 55 + 10, 3): tip of joint j at 55 + index
    tip_row = {j: 55 + i for i, j in enumerate(tips_from)}
    hands = []
    for wrist, fingers, tip_parents in ((WRISTS[0], _LEFT_FINGERS, _LEFT_TIPS), (WRISTS[1], _RIGHT_FINGERS, _RIGHT_TIPS)):
        rows = [wrist, *fingers, *(tip_row[j] for j in tip_parents)]
        hands.append(_in_frame(ext[:, rows], pos[:, wrist], glob[:, wrist]))
    body = _in_frame(pos[:, list(BODY_SET)], pos[:, 0], glob[:, 0])
    return _Points(pos, body, np.stack(hands, axis=1))


@dataclass
class _Sums:
    """Running sums over the takes of one split, for one codec and part."""

    frames: int = 0
    sq_full: float = 0.0  # squared RMSE (cm^2) times the number of points it averaged
    n_full: int = 0
    sq_body: float = 0.0
    n_body: int = 0
    sq_hands: float = 0.0
    n_hands: int = 0
    hull_orig: np.ndarray = field(default_factory=lambda: np.zeros(2))
    hull_dec: np.ndarray = field(default_factory=lambda: np.zeros(2))
    jerk_orig: float = 0.0  # mean jerk times the number of jerk samples it averaged
    jerk_dec: float = 0.0
    n_jerk: int = 0
    tokens: list = field(default_factory=list)
    by_source: dict = field(default_factory=dict)  # source -> [squared RMSE x points, points]

    def add(self, orig: _Points, dec: _Points, part: str, fps: float, tokens: np.ndarray, source: str) -> None:
        T = len(orig.world)
        self.frames += T
        self.tokens.append(tokens)
        n = orig.world.shape[0] * orig.world.shape[1]
        sq = position_rmse(orig.world, dec.world) ** 2 * n
        self.sq_full += sq
        self.n_full += n
        acc = self.by_source.setdefault(source, [0.0, 0])
        acc[0] += sq
        acc[1] += n
        n = orig.body_local.shape[0] * orig.body_local.shape[1]
        self.sq_body += kabsch_rmse(orig.body_local, dec.body_local) ** 2 * n
        self.n_body += n
        h = orig.hands_local.shape[2]
        groups = [range(h), range(h, 2 * h)]
        flat_o = orig.hands_local.reshape(T, 2 * h, 3)
        flat_d = dec.hands_local.reshape(T, 2 * h, 3)
        n = T * 2 * h
        self.sq_hands += kabsch_rmse(flat_o, flat_d, groups) ** 2 * n
        self.n_hands += n
        hull = wrist_hull_volume_ratio(orig.body_local, dec.body_local)
        self.hull_orig += hull.original_m3
        self.hull_dec += hull.decoded_m3
        if T >= 4:  # jerk needs a third difference
            if part == "body":
                po, pd = orig.body_local[:, 1:], dec.body_local[:, 1:]
            else:
                po, pd = flat_o, flat_d
            n = (T - 3) * po.shape[1]
            self.jerk_orig += mean_jerk(po, fps) * n
            self.jerk_dec += mean_jerk(pd, fps) * n
            self.n_jerk += n


@dataclass(frozen=True)
class SplitFigures:
    """The figures of one codec and part on one split (held-out or training).

    rmse_cm: full-pose RMSE; kabsch_body_cm, kabsch_hands_cm: Kabsch-aligned RMSE; cm.
    wrist_hull_pct: (left, right) decoded hull volume as % of the original; wrist_hull_mean_pct
    their mean. jerk_ratio: decoded mean jerk over the original's. usage_pct, perplexity:
    per quantizer. token_usage_pct, token_perplexity: of whole tokens (the (T, Q) tuples of an
    RQ-VAE read as one of D^Q = 2^bits symbols; for k-means the same as per quantizer), so
    that the families compare. rmse_by_source_cm: full-pose RMSE per source folder.
    takes, frames: what was coded.
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


def _figures(s: _Sums, takes: int, codebook_size: int) -> SplitFigures:
    def root_mean(sq, n):
        return math.sqrt(sq / n) if n else float("nan")

    hull = tuple(float(100.0 * d / o) if o > 0 else float("nan") for o, d in zip(s.hull_orig, s.hull_dec))
    tokens = np.concatenate(s.tokens, axis=0)
    usage = code_usage(tokens, codebook_size)
    ppl = perplexity(tokens, codebook_size)
    q = 1 if tokens.ndim == 1 else tokens.shape[1]
    symbols = whole_tokens(tokens, codebook_size)
    return SplitFigures(
        takes=takes,
        frames=s.frames,
        rmse_cm=root_mean(s.sq_full, s.n_full),
        kabsch_body_cm=root_mean(s.sq_body, s.n_body),
        kabsch_hands_cm=root_mean(s.sq_hands, s.n_hands),
        wrist_hull_pct=hull,
        wrist_hull_mean_pct=float(np.mean(hull)),
        jerk_ratio=s.jerk_dec / s.jerk_orig if s.jerk_orig > 0 else float("nan"),
        usage_pct=usage.per_quantizer,
        perplexity=ppl.per_quantizer,
        token_usage_pct=code_usage(symbols, codebook_size**q).mean,
        token_perplexity=perplexity(symbols, codebook_size**q).mean,
        rmse_by_source_cm={k: root_mean(sq, n) for k, (sq, n) in sorted(s.by_source.items())},
    )


# --- the report --------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvaluationRow:
    """One codec bundle (codec name and part): its rate and its figures on both splits.

    size: 'k=512' or 'D=8 x Q=3'. codebook_size: k or D. bits_per_frame, bits_per_second
    come from the manifest (bundle.bits_per_frame, fps). held_out, in_sample: SplitFigures.
    training: the manifest's `training` block (data, steps, parameters; empty for the baseline).
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

    @property
    def part_rmse_cm(self) -> float:
        """The figure plotted and compared per part: full-pose RMSE for the body, Kabsch hands
        RMSE for the hands (the full-pose figure dilutes finger errors over 55 joints)."""
        return self.held_out.rmse_cm if self.part == "body" else self.held_out.kabsch_hands_cm

    @property
    def part_rmse_in_sample_cm(self) -> float:
        return self.in_sample.rmse_cm if self.part == "body" else self.in_sample.kabsch_hands_cm


@dataclass(frozen=True)
class DataSummary:
    """What one part was evaluated on: takes and frames per split, and the split's wording."""

    part: str
    held_out_takes: int
    held_out_frames: int
    train_takes: int
    train_frames: int
    skipped: int


@dataclass(frozen=True)
class FamilyRatio:
    """k-means error over RQ-VAE error at one bitrate and part (above 1: RQ-VAE is better).

    kmeans, rqvae: the two rows. ratio: of the part's figure (EvaluationRow.part_rmse_cm)
    held out; in_sample_ratio: the same on the training split; full_pose_ratio and
    kabsch_ratio: of the held-out full-pose and Kabsch-aligned (the part's own) RMSE.
    """

    part: str
    bits_per_frame: float
    kmeans: "EvaluationRow"
    rqvae: "EvaluationRow"

    @property
    def ratio(self) -> float:
        return _ratio(self.kmeans.part_rmse_cm, self.rqvae.part_rmse_cm)

    @property
    def in_sample_ratio(self) -> float:
        return _ratio(self.kmeans.part_rmse_in_sample_cm, self.rqvae.part_rmse_in_sample_cm)

    @property
    def full_pose_ratio(self) -> float:
        return _ratio(self.kmeans.held_out.rmse_cm, self.rqvae.held_out.rmse_cm)

    @property
    def kabsch_ratio(self) -> float:
        k, r = self.kmeans.held_out, self.rqvae.held_out
        if self.part == "body":
            return _ratio(k.kabsch_body_cm, r.kabsch_body_cm)
        return _ratio(k.kabsch_hands_cm, r.kabsch_hands_cm)


@dataclass(frozen=True)
class EvaluationReport:
    """rows: one per codec and part; data: per part; ratios: per part and shared bitrate;
    markdown: the report's text; out, plot: the files written; seconds: wall time."""

    rows: tuple[EvaluationRow, ...]
    data: tuple[DataSummary, ...]
    ratios: tuple[FamilyRatio, ...]
    markdown: str
    out: Path
    plot: Path | None
    seconds: float

    def row(self, codec: str, part: str) -> EvaluationRow:
        for r in self.rows:
            if r.codec == codec and r.part == part:
                return r
        raise KeyError(f"no row for {codec} {part}")


def family_ratios(rows: Sequence[EvaluationRow]) -> list[FamilyRatio]:
    """k-means / RQ-VAE RMSE (the part's figure, see EvaluationRow.part_rmse_cm) for every part
    and bitrate at which both families were evaluated."""
    by_key = {(r.family, r.part, r.bits_per_frame): r for r in rows}
    out = []
    for (family, part, bits), km in sorted(by_key.items(), key=lambda kv: (PARTS.index(kv[0][1]), kv[0][2])):
        rq = by_key.get(("rqvae", part, bits))
        if family == "kmeans" and rq is not None:
            out.append(FamilyRatio(part, bits, km, rq))
    return out


class MeanPoseBaseline:
    """The zero-bit reference: every frame decoded as the training split's mean joint angles.

    Not a bundle: it puts the codecs' errors in scale (a codec worth its bits must beat it).
    Duck-types the parts of `Codec` the evaluation uses; tokens are all 0 of a 1-entry book.
    """

    name = "mean-pose"
    family = "baseline"
    bits_per_frame = 0.0
    bits_per_second = 0.0

    def __init__(self, part: str, mean_features: np.ndarray):
        self.part = part
        self.mean = np.asarray(mean_features, dtype=np.float32)

    def encode(self, features) -> np.ndarray:
        return np.zeros(len(features), dtype=np.int64)

    def decode(self, tokens) -> np.ndarray:
        return np.repeat(self.mean[None, :], len(tokens), axis=0)


def _select_codecs(codec_names, models_dir) -> list:
    infos = available_codecs(models_dir)
    where = Path(MODELS_DIR if models_dir is None else models_dir)
    if not infos:
        raise MotionTokensError(f"no codec bundles in {where}: train them first (train-codec) or pass --models")
    if codec_names is None:
        return infos
    known = sorted({i.name for i in infos})
    unknown = [n for n in codec_names if n not in known]
    if unknown:
        raise MotionTokensError(
            f"no codec bundle named {', '.join(unknown)} in {where}; the bundled codecs are {', '.join(known)}"
        )
    return [i for i in infos if i.name in set(codec_names)]


@contextmanager
def _torch_single_threaded():
    """Run torch (if loaded, i.e. an RQ-VAE is in use) on one thread, then restore the setting.

    One take through the RQ-VAE is a few small convolutions, where handing work between threads
    costs more than it saves: every take through rqvae-10-body took 3.5 s on 2 threads and
    0.75 s on 1 (2-core machine, idle), and on a busy machine 2 threads were ten times slower.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _evaluate_split(codec: Codec | MeanPoseBaseline, takes: Sequence[MotionTake], originals: dict, codebook_size: int) -> SplitFigures:
    s = _Sums()
    with _torch_single_threaded():
        for take in takes:
            features = part_features(take.motion, codec.part)
            tokens = codec.encode(features)
            decoded = with_part_features(take.motion, codec.part, codec.decode(tokens))
            s.add(originals[take.name], _points(decoded), codec.part, take.motion.fps, tokens, take.source)
    return _figures(s, len(takes), codebook_size)


def evaluate_codecs(
    data_dirs,
    codec_names: Sequence[str] | None = None,
    models_dir: str | os.PathLike | None = None,
    out: str | os.PathLike = Path("report.md"),
    plot: str | os.PathLike | None = None,
    progress: Callable[[str], None] | None = print,
    split: Split | None = None,
    command: str | None = None,
) -> EvaluationReport:
    """Evaluate codec bundles on the held-out split (and the training split, in-sample).

    data_dirs: folders (or files) of motion (.bvh, .npz). codec_names: e.g. ['kmeans-9',
    'rqvae-9'] (both parts of each, where bundled); None: every bundle in models_dir (default
    the repository's models/). out: the markdown report; plot: the PNG (default: next to it,
    `{stem}_rd.png`). progress: called with a line per step (None: silent). split: default
    core/codecs/split.json. command: the command line quoted in the report.
    Raises MotionTokensError (no bundles, unknown names, no held-out takes for a part),
    InputFileError for unreadable data, OutputError when the files cannot be written.
    """
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    out = Path(out)
    plot = out.with_name(f"{out.stem}_rd.png") if plot is None else Path(plot)
    infos = _select_codecs(codec_names, models_dir)
    split = load_split() if split is None else split
    say(f"reading motion under {', '.join(map(str, data_dirs))}")
    takes = read_takes(data_dirs)
    train_all, held_all = split_takes(takes, split)

    rows, data = [], []
    for part in PARTS:
        part_infos = [i for i in infos if i.part == part]
        if not part_infos:
            continue
        # Only takes in which the part moves (no fingers in the Bandai BVH, for instance).
        held_ds, train_ds = part_dataset(held_all, part), part_dataset(train_all, part)
        held = [t for t in held_all if t.name in set(held_ds.names)]
        train = [t for t in train_all if t.name in set(train_ds.names)]
        if not held:
            raise MotionTokensError(
                f"no held-out take moves the {part} in {', '.join(map(str, data_dirs))}: "
                f"the split ({split.describe()}) names none of these takes"
            )
        data.append(DataSummary(part, len(held), held_ds.num_frames, len(train), train_ds.num_frames,
                                len(held_ds.skipped) + len(train_ds.skipped)))
        say(f"{part}: {len(held)} held-out takes ({held_ds.num_frames} frames), {len(train)} training takes "
            f"({train_ds.num_frames} frames)")
        originals = {t.name: _points(t.motion) for t in held + train}
        baseline = MeanPoseBaseline(part, (train_ds if train else held_ds).vectors().mean(axis=0))
        for info in [baseline, *part_infos]:
            t0 = time.perf_counter()
            if info is baseline:
                codec, size, codebook_size = baseline, "training mean", 1
            else:
                codec = load_codec(info.folder)
                size, codebook_size = codec.size_label, codec.codebook_size
            held_fig = _evaluate_split(codec, held, originals, codebook_size)
            train_fig = _evaluate_split(codec, train, originals, codebook_size) if train else held_fig
            row = EvaluationRow(
                codec=codec.name, part=part, family=codec.family, size=size, codebook_size=codebook_size,
                bits_per_frame=codec.bits_per_frame, bits_per_second=codec.bits_per_second,
                held_out=held_fig, in_sample=train_fig,
                training=dict(getattr(codec, "manifest", {}).get("training", {})),
            )
            rows.append(row)
            say(f"  {codec.name}-{part}: held-out RMSE {held_fig.rmse_cm:.2f} cm (in-sample {train_fig.rmse_cm:.2f}), "
                f"Kabsch body {held_fig.kabsch_body_cm:.2f}, hands {held_fig.kabsch_hands_cm:.2f} cm "
                f"[{time.perf_counter() - t0:.1f} s]")

    ratios = family_ratios(rows)
    seconds = time.perf_counter() - started
    if command is None:
        command = f"evaluate_codecs({[str(d) for d in data_dirs]!r}, codec_names={codec_names!r})"
    made_plot = _write_plot(plot, rows)
    markdown = render_markdown(rows, data, ratios, split, command, data_dirs, made_plot, out, seconds)
    write_atomically(out, lambda f: f.write(markdown.encode("utf-8")))
    say(f"wrote {out} and {made_plot}")
    return EvaluationReport(tuple(rows), tuple(data), tuple(ratios), markdown, out, made_plot, seconds)


# --- markdown and plot ------------------------------------------------------------------------

def _f(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:,.{digits}f}"


def _ratio(a: float, b: float) -> float:
    """a / b, NaN where b is 0 (an exact codec has no error to compare against)."""
    return a / b if b else float("nan")


def _per_q(values: Sequence[float], digits: int) -> str:
    mean = _f(float(np.mean(values)), digits)
    if len(values) == 1:
        return mean
    return f"{mean} ({'/'.join(_f(v, digits) for v in values)})"


def _table(rows: Sequence[EvaluationRow]) -> list[str]:
    lines = [
        "| codec | part | family | size | bits/frame | bits/s | RMSE full pose cm (held-out) | RMSE full pose cm (in-sample) "
        "| Kabsch RMSE body cm | Kabsch RMSE hands cm | wrist hull % (left/right) | jerk ratio | code usage % | perplexity "
        "| whole tokens used % of 2^bits | whole-token perplexity |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        h, i = r.held_out, r.in_sample
        lines.append(
            f"| {r.codec} | {r.part} | {FAMILY_LABELS.get(r.family, r.family)} | {r.size} | {r.bits_per_frame:g} | "
            f"{r.bits_per_second:g} | **{_f(h.rmse_cm)}** | {_f(i.rmse_cm)} | {_f(h.kabsch_body_cm)} | "
            f"{_f(h.kabsch_hands_cm)} | {_f(h.wrist_hull_mean_pct, 1)} ({_f(h.wrist_hull_pct[0], 1)}/"
            f"{_f(h.wrist_hull_pct[1], 1)}) | {_f(h.jerk_ratio)} | {_per_q(h.usage_pct, 1)} | "
            f"{_per_q(h.perplexity, 1)} | {_f(h.token_usage_pct, 1)} | {_f(h.token_perplexity, 1)} |"
        )
    return lines


def _ratio_table(ratios: Sequence[FamilyRatio]) -> list[str]:
    lines = [
        "| part | bits/frame | figure | k-means cm | RQ-VAE cm | **k-means / RQ-VAE** | in-sample: k-means cm | RQ-VAE cm | ratio "
        "| full-pose ratio | Kabsch ratio |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for q in ratios:
        figure = "full-pose RMSE" if q.part == "body" else "Kabsch RMSE hands"
        lines.append(
            f"| {q.part} | {q.bits_per_frame:g} | {figure} | {_f(q.kmeans.part_rmse_cm)} | {_f(q.rqvae.part_rmse_cm)} | "
            f"**{_f(q.ratio)}x** | {_f(q.kmeans.part_rmse_in_sample_cm)} | {_f(q.rqvae.part_rmse_in_sample_cm)} | "
            f"{_f(q.in_sample_ratio)}x | {_f(q.full_pose_ratio)}x | {_f(q.kabsch_ratio)}x |"
        )
    return lines


def _source_table(rows: Sequence[EvaluationRow]) -> list[str]:
    sources = sorted({src for r in rows for src in r.held_out.rmse_by_source_cm})
    lines = [
        "| codec | part | " + " | ".join(sources) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in sources) + " |",
    ]
    for r in rows:
        cells = [_f(r.held_out.rmse_by_source_cm.get(src, float("nan"))) for src in sources]
        lines.append(f"| {r.codec} | {r.part} | " + " | ".join(cells) + " |")
    return lines


def _span(values: Sequence[float], digits: int = 2, unit: str = "") -> str:
    """'a-b' (or 'a' when all equal) of finite values, in the given format."""
    v = [x for x in values if np.isfinite(x)]
    if not v:
        return "n/a"
    lo, hi = _f(min(v), digits), _f(max(v), digits)
    return f"{lo}{unit}" if lo == hi else f"{lo}-{hi}{unit}"


def _findings(rows: Sequence[EvaluationRow], data: Sequence[DataSummary], ratios: Sequence[FamilyRatio]) -> list[str]:
    """Statements read off the figures: every number is computed, so a rerun keeps them true."""
    lines = []
    for part in PARTS:
        fam = {f: sorted((r for r in rows if r.part == part and r.family == f), key=lambda r: r.bits_per_frame)
               for f in ("kmeans", "rqvae", "baseline")}
        km, rq, base = fam["kmeans"], fam["rqvae"], fam["baseline"]
        figure = "full-pose RMSE" if part == "body" else "Kabsch RMSE of the hands"
        part_ratios = [q for q in ratios if q.part == part]
        d = next((x for x in data if x.part == part), None)
        geo = float("nan")
        if part_ratios:
            better = [q for q in part_ratios if q.ratio > 1]  # NaN compares False: not counted better
            verdict = ("RQ-VAE is below k-means at every bitrate" if len(better) == len(part_ratios)
                       else f"RQ-VAE is below k-means at {len(better)} of {len(part_ratios)} bitrates")
            if all(q.ratio > 0 and np.isfinite(q.ratio) for q in part_ratios):
                geo = math.exp(np.mean([math.log(q.ratio) for q in part_ratios]))
            lines.append(
                f"- **{part}, RQ-VAE against k-means** ({figure}, held-out): {verdict}; k-means / RQ-VAE = "
                + ", ".join(f"{_f(q.ratio)}x at {q.bits_per_frame:g} bits" for q in part_ratios)
                + f" (geometric mean {_f(geo)}x; the published finding is about {PUBLISHED_RATIO:g}x). Kabsch-aligned: "
                + ", ".join(f"{_f(q.kabsch_ratio)}x" for q in part_ratios)
                + "; full pose: " + ", ".join(f"{_f(q.full_pose_ratio)}x" for q in part_ratios) + "."
            )
            # "Ahead" means by more than CLEAR_MARGIN: a 1% difference on one held-out take is noise.
            flipped = [q for q in part_ratios if q.ratio > 1 + CLEAR_MARGIN and not q.in_sample_ratio > 1]
            line = (
                f"- **{part}, generalisation.** In-sample (training takes) the ratios are "
                + ", ".join(f"{_f(q.in_sample_ratio)}x" for q in part_ratios) + ". "
                f"k-means' in-sample error falls from {_f(km[0].part_rmse_in_sample_cm)} to "
                f"{_f(km[-1].part_rmse_in_sample_cm)} cm ({km[0].size} to {km[-1].size}) but its held-out error only from "
                f"{_f(km[0].part_rmse_cm)} to {_f(km[-1].part_rmse_cm)} cm (held-out / in-sample "
                f"{_span([_ratio(r.part_rmse_cm, r.part_rmse_in_sample_cm) for r in km])}): the larger codebooks "
                f"memorise training poses rather than describe new ones. RQ-VAE's held-out / in-sample is "
                f"{_span([_ratio(r.part_rmse_cm, r.part_rmse_in_sample_cm) for r in rq])}."
            )
            if flipped:
                line += (f" At {', '.join(f'{q.bits_per_frame:g}' for q in flipped)} bits k-means fits the training "
                         "frames at least as well as RQ-VAE yet is worse on held-out motion: there RQ-VAE's advantage "
                         "is generalisation, not a finer quantisation of what it was trained on.")
            if all(abs(q.ratio - 1) <= CLEAR_MARGIN for q in part_ratios):
                line += (" On held-out motion neither family is ahead by more than "
                         f"{_f(max(abs(q.ratio - 1) for q in part_ratios) * 100, 0)}%: k-means' in-sample advantage "
                         "does not carry over to motion it has not seen.")
            lines.append(line)
            smoother = [r.codec for r in rq if r.held_out.jerk_ratio < 1]
            lines.append(
                f"- **{part}, temporal context.** Jerk ratio (decoded / original) k-means "
                f"{_span([r.held_out.jerk_ratio for r in km])}, RQ-VAE {_span([r.held_out.jerk_ratio for r in rq])}"
                + (f"; wrist hull volume k-means {_span([r.held_out.wrist_hull_mean_pct for r in km], 1, '%')}, RQ-VAE "
                   f"{_span([r.held_out.wrist_hull_mean_pct for r in rq], 1, '%')} of the original" if part == "body" else "")
                + ". k-means decodes each frame on its own to one of k stored poses, so its output jumps from centroid "
                "to centroid (jerk) and is pulled towards cluster means (reach); the RQ-VAE's convolutional decoder "
                "sees the tokens of neighbouring frames (core/codecs/rqvae.py), so its output is smooth and its bits "
                "can code change over a window rather than one isolated pose."
                + (f" Below 1 ({', '.join(smoother)}) the decoded motion is smoother than the original: some real "
                   "motion is smoothed away." if smoother else "")
            )
            lines.append(
                f"- **{part}, symbols actually used.** Whole-token perplexity (2^entropy in bits: the number of equally "
                f"likely symbols carrying the same information) k-means {_span([r.held_out.token_perplexity for r in km], 0)}, "
                f"RQ-VAE {_span([r.held_out.token_perplexity for r in rq], 0)}; whole tokens used: k-means "
                f"{_span([r.held_out.token_usage_pct for r in km], 1, '%')}, RQ-VAE "
                f"{_span([r.held_out.token_usage_pct for r in rq], 1, '%')} of 2^bits."
            )
        if base and (km or rq):
            b = base[0].part_rmse_cm
            left = {r.codec: 100.0 * r.part_rmse_cm / b for r in km + rq}
            line = (f"- **{part}, against no code at all.** The training mean pose (0 bits) gives {_f(b)} cm held out; "
                    f"each codec's error as % of it: {', '.join(f'{c} {v:.0f}%' for c, v in left.items())}.")
            if min(left.values()) > 50.0:
                line += (f" Every codec keeps at least {min(left.values()):.0f}% of the zero-bit error: the held-out "
                         f"{part} poses differ from the trained ones in ways no codebook fitted here captures, and "
                         "within that floor the families cannot be told apart.")
            lines.append(line)
        if part_ratios and np.isfinite(geo) and 1.0 < geo < 0.9 * PUBLISHED_RATIO:
            steps = sorted({r.training.get("optimisation", {}).get("steps") for r in rq} - {None})
            params = sorted({r.training.get("parameters") for r in rq} - {None})
            lines.append(
                f"- **{part}, below the published {PUBLISHED_RATIO:g}x.** The ratio depends on the error figure "
                f"(Kabsch-aligned {_span([q.kabsch_ratio for q in part_ratios])}x, full pose "
                f"{_span([q.full_pose_ratio for q in part_ratios])}x) and on what each model could learn: "
                + (f"{d.train_frames:,} training frames ({d.train_frames / 30 / 60:.0f} min)" if d else "little data")
                + (f", RQ-VAEs of {', '.join(f'{p:,}' for p in params)} parameters" if params else "")
                + (f" trained {', '.join(map(str, steps))} steps on a CPU" if steps else "")
                + ". Held out, k-means loses to overfitting at high k and to its frame-by-frame jumps at every k "
                "(above); a comparison on hours of motion with larger models can separate the families further. "
                "These figures are what these bundles do on this data."
            )
        sources = [r for r in km + rq if len(r.held_out.rmse_by_source_cm) > 1]
        if sources:
            best = min(sources, key=lambda r: r.part_rmse_cm)
            by = ", ".join(f"{k} {_f(v)} cm" for k, v in best.held_out.rmse_by_source_cm.items())
            ref = ", ".join(f"{k} {_f(v)} cm" for k, v in base[0].held_out.rmse_by_source_cm.items()) if base else ""
            lines.append(
                f"- **{part}, per source** (held-out full-pose RMSE of {best.codec}, the best here): {by}"
                + (f"; the mean pose gives {ref}" if ref else "")
                + ". The Bandai hold-outs are whole takes (new styles of trained contents); the BEAT2 block is the "
                "end of a take whose start was trained on (same speaker and session), a within-take figure that "
                "says little about new speakers; and a speaker talking moves less than the acted Bandai motion (the mean-pose figures)."
            )
    for d in data:
        big = [r for r in rows if r.part == d.part and r.family == "kmeans" and r.codebook_size > d.train_frames / 2]
        if big:
            lines.append(
                f"- **{d.part}, small data.** {d.train_frames:,} training frames (unmirrored, at 30 fps) against "
                + ", ".join(f"{r.codec} ({r.size})" for r in big)
                + ": more than one code per two training frames, so these codebooks are fitted on near-duplicates "
                "(each bundle's manifest says what it was fitted on), their in-sample error is close to "
                "memorisation, and only the held-out column says anything about new motion."
            )
    return lines


def render_markdown(rows, data, ratios, split: Split, command: str, data_dirs, plot: Path | None, out: Path, seconds: float) -> str:
    """The report's markdown: command, data, table, RQ-VAE vs k-means, findings, definitions."""
    lines = [
        "# Codec rate-distortion",
        "",
        "Made by `core/codecs/evaluate.py`, which wrote this file and the plot; do not edit by hand.",
        "",
        f"Command: `{command}`  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}; "
        f"{seconds:.0f} s in all.",
        "",
        "## Data",
        "",
        f"Motion under {', '.join(f'`{d}`' for d in data_dirs)}, every take at 30 fps. Split: {split.describe()}. "
        "Figures are pooled over the frames of every take of a split in which the part moves; takes where it never "
        "moves are left out (the Bandai BVH has no fingers, so hands come from BEAT2 alone).",
        "",
        "| part | held-out takes | held-out frames | training takes | training frames | takes left out (part at rest) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for d in data:
        lines.append(
            f"| {d.part} | {d.held_out_takes} | {d.held_out_frames:,} | {d.train_takes} | {d.train_frames:,} | {d.skipped} |"
        )
    lines += ["", "## Rate and distortion (held-out split unless marked in-sample)", ""]
    lines += _table(rows)
    if plot is not None:
        lines += ["", f"![RMSE against bits per frame]({os.path.relpath(plot, out.parent)})"]
    lines += ["", "## RQ-VAE against k-means, per bitrate", ""]
    lines += _ratio_table(ratios) if ratios else ["No bitrate has both families evaluated."]
    lines += ["", "## Held-out full-pose RMSE (cm) per source folder", ""]
    lines += _source_table(rows)
    lines += ["", "## Findings (computed from the figures above)", ""]
    lines += _findings(rows, data, ratios)
    lines += ["", "## What the data can and cannot say", ""]
    for d in data:
        lines.append(
            f"- {d.part}: {d.train_frames:,} training frames ({d.train_frames / 30 / 60:.1f} min) in {d.train_takes} "
            f"take(s), {d.held_out_frames:,} held-out frames ({d.held_out_frames / 30:.0f} s) in {d.held_out_takes} "
            "take(s)." + (
                " Only BEAT2 has finger motion: the hands are one speaker in one session, held out as the last part "
                "of the same take (within-take, so the held-out figure is optimistic about new speakers), and a "
                "difference of a few millimetres between hand codecs is within what another take could change. The "
                "hand codecs are to be refitted when hand poses fitted from sign-language video arrive."
                if d.part == "hands" else
                " Held out are whole Bandai takes (new styles of the trained contents) plus the end of the BEAT2 "
                "take; Bandai dominates both splits, so the body figures describe mocap of acted actions more than "
                "conversational gesture."
            )
        )
    lines += [
        "- In-sample figures are on the training takes as they are (30 fps, not mirrored); bundles fitted on 90 fps "
        "or mirrored copies of them (see the manifests) saw those frames, or frames between them, in fitting.",
        "",
        "## What the columns mean",
        "",
        "- mean-pose: not a codec but the zero-bit reference, every frame decoded as the training split's mean "
        "joint angles of the part.",
        "- bits/frame = log2(k) or Q x log2(D), bits/s = bits/frame x the manifest's fps, both computed from the "
        "bundle's manifest. The root orientation and translation are not coded (side information carried through).",
        "- RMSE full pose: root-mean-square 3D distance over all 55 SMPL-X joints and all frames, original against "
        "decoded with the same root (forward kinematics on the default SMPL-X skeleton), cm. In-sample: the same on "
        "the training split (quantisation error); held-out: generalisation error.",
        "- Kabsch RMSE body: joints 0-21 rigidly aligned (rotation and translation, no scale) per frame; hands: each "
        "hand (wrist, 15 finger joints, 5 fingertips) aligned on its own, the two pooled. A body codec leaves the "
        "hands' figure at 0 and a hands codec the body's (each codec changes only its own joints).",
        "- Wrist hull %: the convex-hull volume of each wrist's trajectory in the root's frame, summed over the "
        "takes, decoded as % of original (below 100%: gestures shrink towards the cluster means).",
        "- Jerk ratio: mean |third derivative| of the part's points, decoded over original (body joints 1-21 in the "
        "root's frame; finger joints and tips in their wrist's frame); above 1 the decoded motion is jerkier.",
        "- Code usage: % of the codebook used by the held-out tokens; perplexity: exp(entropy) of their histogram "
        "(at most k or D); for RQ-VAE the mean over the Q quantizers, each in parentheses. Whole tokens: an "
        "RQ-VAE frame's Q indices read as one symbol of D^Q = 2^bits (for k-means the same as the code), so the "
        "two families compare: % of the 2^bits symbols used, and the perplexity of their histogram.",
    ]
    return "\n".join(lines) + "\n"


def _write_plot(path: Path, rows: Sequence[EvaluationRow]) -> Path:
    """PNG: per part, the part's RMSE against bits/frame per family (held-out solid, in-sample dashed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = [p for p in PARTS if any(r.part == p for r in rows)]
    fig, axes = plt.subplots(1, len(parts), figsize=(5.5 * len(parts), 4.2), squeeze=False)
    colours = {"kmeans": "tab:blue", "rqvae": "tab:red"}
    for ax, part in zip(axes[0], parts):
        for fam in ("kmeans", "rqvae"):
            fam_rows = sorted((r for r in rows if r.part == part and r.family == fam), key=lambda r: r.bits_per_frame)
            if not fam_rows:
                continue
            x = [r.bits_per_frame for r in fam_rows]
            ax.plot(x, [r.part_rmse_cm for r in fam_rows], "o-", color=colours[fam], label=f"{FAMILY_LABELS[fam]} held-out")
            ax.plot(x, [r.part_rmse_in_sample_cm for r in fam_rows], "s--", color=colours[fam], alpha=0.6,
                    label=f"{FAMILY_LABELS[fam]} in-sample")
        for r in rows:
            if r.part == part and r.family == "baseline":
                ax.axhline(r.part_rmse_cm, color="grey", linestyle=":", label="training mean pose (0 bits), held-out")
        figure = "full-pose RMSE" if part == "body" else "Kabsch RMSE, hands aligned"
        ax.set_title(f"{part} codecs")
        ax.set_xlabel("bits per frame")
        ax.set_ylabel(f"{figure} (cm)")
        ax.set_xticks(sorted({r.bits_per_frame for r in rows if r.part == part and r.family != "baseline"}))
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    # One legend under the panels, so it never hides a curve; labels shared by the panels once.
    labels = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            labels.setdefault(label, handle)
    fig.legend(list(labels.values()), list(labels), loc="lower center", ncol=min(len(labels), 5), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    except OSError as exc:
        raise OutputError(f"cannot write the plot {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: the same arguments as `python -m motion_tokens evaluate-codecs`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m motion_tokens.core.codecs.evaluate",
        description="Rate-distortion table and plot of the codec bundles on the held-out split.",
    )
    parser.add_argument("--data", nargs="+", required=True, help="folders (or files) of motion: .bvh, .npz")
    parser.add_argument("--codecs", nargs="+", default=None, help="codec names (e.g. kmeans-9 rqvae-9); default all")
    parser.add_argument("--models", default=None, help="folder of codec bundles (default: the repository's models/)")
    parser.add_argument("--out", default="report.md", help="markdown report to write")
    parser.add_argument("--plot", default=None, help="PNG plot (default: next to --out, {stem}_rd.png)")
    args = parser.parse_args(argv)
    command = "python -m motion_tokens.core.codecs.evaluate " + shlex.join(argv)
    try:
        report = evaluate_codecs(args.data, args.codecs, args.models, Path(args.out), args.plot, print, command=command)
    except MotionTokensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(_table(report.rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
