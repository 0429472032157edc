"""Running the evaluation: `evaluate_codecs(data_dirs, ...) -> EvaluationReport`.

Selects the codec bundles, reads and splits the takes, codes every take in which a part moves
(and its mirror image, for the parts mirrored in training: training.dataset.evaluation_takes)
with each of that part's codecs and with the zero-bit mean-pose baseline, and writes the
markdown report and the plot.
"""

from __future__ import annotations

import inspect
import os
import shlex
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ...errors import MotionTokensError
from ...formats.atomic import write_atomically
from ...parts import PARTS, get_part
from ..base import Codec
from ..bundle import bits_per_latent
from ..features import CODEC_FPS, part_features, part_positions, with_part_features
from ..registry import MODELS_DIR, CodecInfo, available_codecs, load_codec
from ..training.dataset import (
    MotionTake,
    Split,
    evaluation_takes,
    load_split,
    part_dataset,
    read_takes,
    split_takes,
)
from .figures import Points, SplitFigures, Sums, split_figures
from .rows import DataSummary, EvaluationReport, EvaluationRow, best_family_ratios, family_ratios
from .plot import write_plot
from .report import render_markdown


class MeanPoseBaseline:
    """The zero-bit reference: every frame decoded as the training split's mean joint angles.

    Not a bundle: it puts the codecs' errors in scale (a codec worth its bits must beat it).
    Duck-types the parts of `Codec` the evaluation uses; tokens are all 0 of a 1-entry book.
    """

    name = "mean-pose"
    family = "baseline"
    bits_per_frame = 0.0
    bits_per_second = 0.0
    size_label = "training mean"
    codebook_size = 1

    def __init__(self, part: str, mean_features: np.ndarray):
        self.part = part
        self.mean = np.asarray(mean_features, dtype=np.float32)  # (F,)

    def encode(self, features) -> np.ndarray:
        """(T, F) features -> (T,) zeros."""
        return np.zeros(len(features), dtype=np.int64)

    def decode(self, tokens, num_frames: int | None = None) -> np.ndarray:
        """(T,) tokens -> (T, F) the mean pose in every frame (num_frames: T, default len(tokens))."""
        return np.repeat(self.mean[None, :], len(tokens) if num_frames is None else num_frames, axis=0)


def _decode_takes_num_frames(codec) -> bool:
    """Whether `codec.decode` accepts `num_frames` (codecs whose latents span several frames)."""
    try:
        return "num_frames" in inspect.signature(codec.decode).parameters
    except (TypeError, ValueError):  # a builtin or C callable without a signature
        return False


def decode_frames(codec, tokens, num_frames: int) -> np.ndarray:
    """(num_frames, F) features decoded from `tokens`, for codecs of any frames per latent.

    A codec whose decode takes `num_frames` (one latent per several frames: the last latent's
    padding is trimmed there) is asked for exactly that many frames; one without it (per-frame
    codecs, or downsampled ones from before `num_frames` existed) decodes its
    len(tokens) x frames_per_latent frames, trimmed here. MotionTokensError when the decoded
    motion is shorter than num_frames (the tokens do not cover the take).
    """
    if _decode_takes_num_frames(codec):
        decoded = np.asarray(codec.decode(tokens, num_frames=num_frames))
    else:
        decoded = np.asarray(codec.decode(tokens))
    if len(decoded) < num_frames:
        raise MotionTokensError(
            f"codec {codec.name} ({codec.part}) decoded {len(decoded)} frames from {len(tokens)} tokens, "
            f"expected {num_frames}"
        )
    return decoded[:num_frames]


def codec_rate(codec) -> tuple[int, float, float]:
    """(frames per latent, bits per latent, bits per second) of a codec or the baseline.

    From the manifest where it says: `frames_per_latent` (default 1, or the codec's own
    attribute) and `bits_per_second` (default bits per latent x fps / frames per latent). Bits
    per latent are the bundle formula of the size fields (log2 k or Q log2 D), whatever the
    codec's `bits_per_frame` property means.
    """
    manifest = getattr(codec, "manifest", None)
    if manifest is None:  # the baseline
        return 1, float(codec.bits_per_frame), float(codec.bits_per_second)
    fpl = int(manifest.get("frames_per_latent", getattr(codec, "frames_per_latent", 1)))
    try:
        latent_bits = bits_per_latent(manifest)
    except KeyError:
        latent_bits = float(codec.bits_per_frame) * fpl
    bps = float(manifest.get("bits_per_second", latent_bits * float(manifest.get("fps", CODEC_FPS)) / fpl))
    return fpl, latent_bits, bps


def default_plot_path(out: str | os.PathLike) -> Path:
    """The plot beside the report `out`: REPORT_rd.png."""
    out = Path(out)
    return out.with_name(f"{out.stem}_rd.png")


def reproduce_command(data_dirs, codec_names=None, models_dir=None, out="report.md", plot=None) -> str:
    """The `python -m motion_tokens evaluate-codecs ...` line that makes the same report."""
    argv = ["--data", *map(str, data_dirs), "--out", str(out)]
    argv += ["--codecs", *codec_names] if codec_names else []
    argv += ["--plot", str(plot)] if plot else []
    argv += ["--models", str(models_dir)] if models_dir else []
    return f"python -m motion_tokens evaluate-codecs {shlex.join(argv)}"


def select_codecs(codec_names: Sequence[str] | None, models_dir) -> list[CodecInfo]:
    """The bundles named (both parts of each, where bundled), or every bundle in models_dir.

    Raises MotionTokensError when there are no bundles or a name has none.
    """
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


@dataclass(frozen=True)
class _Original:
    """One take as the metrics see it before coding: its Points, and per part its features
    and their part_positions (computed once, for every codec of the part)."""

    points: Points
    features: dict
    positions: dict

    @classmethod
    def of(cls, take: MotionTake) -> "_Original":
        return cls(Points.of(take.motion), {}, {})

    def part(self, take: MotionTake, part: str) -> tuple[np.ndarray, np.ndarray]:
        """(T, F) features and (T, P, 3) part_positions of `part`."""
        if part not in self.features:
            self.features[part] = part_features(take.motion, part)
            self.positions[part] = part_positions(self.features[part], part)
        return self.features[part], self.positions[part]


def _evaluate_split(codec: Codec | MeanPoseBaseline, takes: Sequence[MotionTake], originals: dict,
                    codebook: int) -> SplitFigures:
    """The figures of `codec` on the takes; originals: take name -> its original Points (or an
    _Original, which also keeps each part's features and positions across codecs)."""
    s = Sums()
    with _torch_single_threaded():
        for take in takes:
            orig = originals[take.name]
            if isinstance(orig, Points):
                orig = _Original(orig, {}, {})
            features, positions = orig.part(take, codec.part)
            t0 = time.perf_counter()
            tokens = codec.encode(features)
            t1 = time.perf_counter()
            dec_features = decode_frames(codec, tokens, len(features))
            s.encode_seconds += t1 - t0
            s.decode_seconds += time.perf_counter() - t1
            decoded = with_part_features(take.motion, codec.part, dec_features)
            s.add(orig.points, Points.of(decoded), codec.part, take.motion.fps, tokens, take.source)
            s.add_features(codec.part, features, dec_features, take.motion.fps, positions)
    return split_figures(s, len(takes), codebook)


@dataclass(frozen=True)
class _PartTakes:
    """The takes of one part (those in which it moves), per split, and their summary."""

    held: list[MotionTake]
    train: list[MotionTake]
    summary: DataSummary
    mean_features: np.ndarray  # (F,) of the training takes (the held-out ones if none train)


def _part_takes(part: str, train_all, held_all, split: Split, data_dirs) -> _PartTakes:
    # Only takes in which the part moves (no fingers in the Bandai BVH, for instance).
    held_ds, train_ds = part_dataset(held_all, part), part_dataset(train_all, part)
    held = evaluation_takes([t for t in held_all if t.name in set(held_ds.names)], part)
    train = evaluation_takes([t for t in train_all if t.name in set(train_ds.names)], part)
    if not held:
        raise MotionTokensError(
            f"no held-out take moves the {part} in {', '.join(map(str, data_dirs))}: "
            f"the split ({split.describe()}) names none of these takes"
        )
    summary = DataSummary(part, held_ds.num_takes, held_ds.num_frames, train_ds.num_takes, train_ds.num_frames,
                          len(held_ds.skipped) + len(train_ds.skipped), mirrored=get_part(part).mirrored_in_training)
    return _PartTakes(held, train, summary, (train_ds if train else held_ds).vectors().mean(axis=0))


def _part_codecs(part: str, infos: Sequence[CodecInfo], mean_features: np.ndarray) -> Iterator[tuple]:
    """(codec, size label, codebook size) of the baseline, then of each bundle of the part."""
    baseline = MeanPoseBaseline(part, mean_features)
    yield baseline, baseline.size_label, baseline.codebook_size
    for info in infos:
        codec = load_codec(info.folder)
        yield codec, codec.size_label, codec.codebook_size


def _evaluate_part(part: str, infos, takes: _PartTakes, say) -> list[EvaluationRow]:
    rows = []
    originals = {t.name: _Original.of(t) for t in takes.held + takes.train}
    t0 = time.perf_counter()
    for codec, size, codebook in _part_codecs(part, infos, takes.mean_features):
        held = _evaluate_split(codec, takes.held, originals, codebook)
        train = _evaluate_split(codec, takes.train, originals, codebook) if takes.train else held
        fpl, latent_bits, bps = codec_rate(codec)
        fps = float(getattr(codec, "fps", CODEC_FPS))
        rows.append(EvaluationRow(
            codec=codec.name, part=part, family=codec.family, size=size, codebook_size=codebook,
            bits_per_frame=bps / fps if fpl != 1 else float(codec.bits_per_frame), bits_per_second=bps,
            held_out=held, in_sample=train, training=dict(getattr(codec, "manifest", {}).get("training", {})),
            frames_per_latent=fpl, bits_per_latent=latent_bits,
        ))
        say(f"  {codec.name}-{part}: held-out RMSE {held.rmse_cm:.2f} cm (in-sample {train.rmse_cm:.2f}), "
            f"Kabsch {part} {held.kabsch_cm(part):.2f} cm, rotation {held.rotation_mean_deg:.2f} deg "
            f"(p95 {held.rotation_p95_deg:.2f}), velocity {held.velocity_rmse_cm_s:.1f} cm/s "
            f"[{time.perf_counter() - t0:.1f} s]")
        t0 = time.perf_counter()
    return rows


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
    core/codecs/split.json. command: the command line quoted in the report (default: the
    `python -m motion_tokens evaluate-codecs` line of these arguments, `reproduce_command`).
    Raises MotionTokensError (no bundles, unknown names, no held-out takes for a part),
    InputFileError for unreadable data, OutputError when the files cannot be written.
    """
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    command = command or reproduce_command(data_dirs, codec_names, models_dir, out, plot)
    out = Path(out)
    plot = default_plot_path(out) if plot is None else Path(plot)
    infos = select_codecs(codec_names, models_dir)
    split = load_split() if split is None else split
    say(f"reading motion under {', '.join(map(str, data_dirs))}")
    train_all, held_all = split_takes(read_takes(data_dirs), split)
    rows, data = [], []
    for part in PARTS:
        part_infos = [i for i in infos if i.part == part]
        if not part_infos:
            continue
        takes = _part_takes(part, train_all, held_all, split, data_dirs)
        d = takes.summary
        data.append(d)
        say(f"{part}: {d.held_out_takes} held-out takes ({d.held_out_frames} frames), {d.train_takes} training takes "
            f"({d.train_frames} frames)")
        rows += _evaluate_part(part, part_infos, takes, say)
    ratios, best = family_ratios(rows), best_family_ratios(rows)
    seconds = time.perf_counter() - started
    made_plot = write_plot(plot, rows)
    markdown = render_markdown(rows, data, ratios, split, command, data_dirs, made_plot, out, seconds, best=best)
    write_atomically(out, lambda f: f.write(markdown.encode("utf-8")))
    say(f"wrote {out} and {made_plot}")
    return EvaluationReport(tuple(rows), tuple(data), tuple(ratios), markdown, out, made_plot, seconds, tuple(best))
