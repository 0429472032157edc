"""Long speech is generated in overlapping windows (core/generate/windows.py) without a seam:
the jerk of the decoded motion where a fill window's own frames meet its neighbours' tokens, and
at the edges of the frames the seam repair decoded again, is no higher than the jerk elsewhere, judged against random frame sets of the same size (so the
heavy tail of a codec's jumps is in both). The same measure finds the seams of windows
generated independently of each other, so it can fail."""

from __future__ import annotations

import numpy as np
import pytest

from motion_tokens.core.codecs.coding import decode_parts_steps, load_codecs
from motion_tokens.core.generate import load_generator
from motion_tokens.core.generate.windows import plan_windows
from motion_tokens.core.gesture_metrics import jerk_at, jerk_elsewhere
from motion_tokens.core.gesture_metrics.poses import pelvis_positions
from motion_tokens.core.paths import MODELS_DIR, data_dir
from motion_tokens.core.steps import run_steps
from motion_tokens.pipelines.generate import codec_names, rest_template

WAV = data_dir() / "beat2" / "2_scott_0_2_2.wav"  # speech without motion: never trained on
pytestmark = pytest.mark.skipif(not WAV.is_file() or not (MODELS_DIR / "gen-kmeans-10").is_dir(),
                                reason="needs the shared BEAT2 speech and models/gen-kmeans-10")
SECONDS = 40.0


def _features(gen) -> np.ndarray:
    from motion_tokens.core.audio import read_speech, speech_features

    speech = read_speech(WAV)
    return speech_features(speech.samples, speech.sample_rate, 30.0, gen.filters)[: int(SECONDS * 30)]


def _positions(gen, tokens) -> np.ndarray:
    codecs = load_codecs(codec_names(gen))
    frames = len(next(iter(tokens.values())))
    motion = run_steps(decode_parts_steps(tokens, codecs, rest_template(frames, "seams")))
    return pelvis_positions(motion)


def _seams(gen, frames: int) -> list[int]:
    """The frames where each fill window's generated frames meet the anchors' (both sides)."""
    cfg = gen.config
    plan = plan_windows(frames, cfg.window, cfg.overlap)
    seams = [plan.starts[i] + s for i in plan.passes[1] for s in (cfg.overlap, cfg.window - cfg.overlap)]
    return [b for b in seams if 3 <= b < frames - 3]


def _seam_quantile(positions, seams) -> float:
    """Where the mean jerk at the seams falls among the mean jerks of 2000 random sets of as
    many stencils from elsewhere (0.5: like any frames; near 1: seams stand out)."""
    at = jerk_at(positions, seams, 30.0)
    elsewhere = jerk_elsewhere(positions, seams, 30.0)
    rng = np.random.default_rng(0)
    null = np.array([rng.choice(elsewhere, size=len(at), replace=False).mean() for _ in range(2000)])
    return float((null < at.mean()).mean())


@pytest.fixture(scope="module")
def gen():
    return load_generator("gen-kmeans-10")


@pytest.mark.xfail(strict=True, reason="known defect: the windows' seams show (module docstring)")
def test_windows_leave_no_seam(gen):
    features = _features(gen)
    tokens = gen.generate(features, seed=0, temperature=0.35)
    positions = _positions(gen, tokens)
    seams = _seams(gen, len(features))
    assert len(seams) >= 20
    assert _seam_quantile(positions, seams) < 0.95


def test_independent_windows_show_their_seams(gen):
    """Each window generated alone (no neighbour's tokens), cut where the fills would meet them."""
    cfg = gen.config
    features = _features(gen)
    frames = len(features)
    stride = cfg.window - 2 * cfg.overlap  # the frames of a window a seam test counts
    tokens = {p: [] for p in cfg.parts}
    for i, start in enumerate(range(0, frames, stride)):
        piece = gen.generate(features[start : start + stride], seed=i, temperature=0.35)
        for p in cfg.parts:
            tokens[p].append(piece[p])
    tokens = {p: np.concatenate(v)[:frames] for p, v in tokens.items()}
    seams = [b for b in range(stride, frames, stride) if 3 <= b < frames - 3]
    assert _seam_quantile(_positions(gen, tokens), seams) > 0.95
