"""The rate-distortion evaluation on tiny codecs and tiny synthetic SMPL-X data (seconds).

The data: takes whose body and hand poses are drawn from small pools of random poses (each
held for a few frames) under a moving, turning root. An "identity" k-means codebook holding
every pose of the data codes it exactly, so its error must be ~0, its wrist hulls 100% and
its jerk ratio 1; a 2-entry codebook cannot. The bundles are written with `write_bundle` in
the codec format (no training, no torch, so the module runs in a few seconds); the RQ-VAE
against k-means ratio is checked on hand-made rows.
"""

import math

import numpy as np
import pytest
from motion_tokens.core.codecs.bundle import write_bundle
from motion_tokens.core.codecs.evaluation.figures import (
    EvaluationRow,
    SplitFigures,
    family_ratios,
    frame_rows,
)
from motion_tokens.core.codecs.evaluation.report import summary_lines
from motion_tokens.core.codecs.evaluation.run import evaluate_codecs
from motion_tokens.core.codecs.features import mirrored_part, part_features
from motion_tokens.core.codecs.training.dataset import Split, read_takes
from motion_tokens.core.errors import MotionTokensError
from motion_tokens.core.formats import write_smplx_npz
from motion_tokens.core.motion import Motion
from motion_tokens.core.skeleton import BODY_JOINTS, HAND_JOINTS, smplx_skeleton

POSES = 8  # distinct poses per part in the pool
HOLD = 5  # frames each pose is held
SPLIT = Split(frozenset({"take_c"}), {"take_b": 0.25})


def _take(rng, body_pool, hand_pool, order, name) -> Motion:
    T = len(order) * HOLD
    aa = np.zeros((T, 55, 3))
    aa[:, list(BODY_JOINTS)] = np.repeat(body_pool[order], HOLD, axis=0)
    aa[:, list(HAND_JOINTS)] = np.repeat(hand_pool[order[::-1]], HOLD, axis=0)
    t = np.arange(T) / 30.0
    aa[:, 0] = np.stack([0.1 * np.sin(t), 1.5 * t, np.zeros(T)], axis=1)  # the root turns: not coded
    trans = np.stack([0.5 * t, 0.02 * np.sin(5 * t), 0.3 * t], axis=1)
    return Motion.from_axis_angle(smplx_skeleton(), 30.0, aa, trans, name=name)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Three takes: take_a trains, take_b trains but its last 25% is held out, take_c is held out."""
    folder = tmp_path_factory.mktemp("motion")
    rng = np.random.default_rng(0)
    body_pool = rng.normal(scale=0.3, size=(POSES, len(BODY_JOINTS), 3))
    hand_pool = rng.normal(scale=0.3, size=(POSES, len(HAND_JOINTS), 3))
    orders = {
        "take_a": rng.integers(0, POSES, size=12),
        "take_b": np.tile(np.arange(POSES), 2),
        "take_c": np.tile(rng.permutation(POSES), 2),  # every pose equally often in the held-out take
    }
    for name, order in orders.items():
        sub = folder / ("set-b" if name == "take_c" else "set-a")  # the source of a take is its folder
        sub.mkdir(exist_ok=True)
        write_smplx_npz(sub / f"{name}.npz", _take(rng, body_pool, hand_pool, order, name))
    return folder


def _codebook_bundle(models, name, part, centroids):
    """A k-means bundle in the codec format, the features unnormalised (mean 0, std 1)."""
    k = len(centroids)
    F = centroids.shape[1]
    manifest = {"name": name, "kind": "codec", "family": "kmeans", "part": part, "k": k, "fps": 30.0}
    tensors = {"centroids": centroids.astype(np.float32), "mean": np.zeros(F, np.float32), "std": np.ones(F, np.float32)}
    write_bundle(models / f"{name}-{part}", manifest, tensors)


@pytest.fixture(scope="module")
def models(data, tmp_path_factory):
    """kmeans-6: every pose of the data plus far-away fillers (exact), for the hands their
    mirror images too (the hands are evaluated mirrored as well); kmeans-1: two poses."""
    models = tmp_path_factory.mktemp("models")
    takes = read_takes([data])
    for part in ("body", "hands"):
        features = np.concatenate([part_features(t.motion, part) for t in takes])
        if part == "hands":
            features = np.concatenate([features, mirrored_part(features, part)])
        poses = np.unique(features, axis=0)
        assert len(poses) == POSES * (2 if part == "hands" else 1)
        fillers = 50.0 + np.arange(64 - len(poses))[:, None] * np.ones((1, poses.shape[1]))
        _codebook_bundle(models, "kmeans-6", part, np.concatenate([poses, fillers]))
        _codebook_bundle(models, "kmeans-1", part, poses[:2])
    return models


@pytest.fixture(scope="module")
def report(data, models, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "codecs.md"
    return evaluate_codecs([data], models_dir=models, out=out, progress=None, split=SPLIT)


def test_one_row_per_codec_and_part_with_the_manifest_bitrate(report):
    keys = sorted((r.codec, r.part) for r in report.rows)
    assert keys == [("kmeans-1", "body"), ("kmeans-1", "hands"), ("kmeans-6", "body"), ("kmeans-6", "hands"),
                    ("mean-pose", "body"), ("mean-pose", "hands")]
    for r in report.rows:
        if r.family == "baseline":
            assert (r.bits_per_frame, r.bits_per_second, r.codebook_size) == (0.0, 0.0, 1)
            continue
        assert r.bits_per_frame == math.log2(r.codebook_size)
        assert r.bits_per_second == pytest.approx(30.0 * r.bits_per_frame)
    assert report.row("kmeans-6", "body").bits_per_frame == 6.0 and report.row("kmeans-6", "body").size == "k=64"
    assert report.row("kmeans-1", "hands").bits_per_frame == 1.0 and report.row("kmeans-1", "hands").bits_per_second == 30.0


def test_the_split_is_the_one_given(report):
    # held out: take_c (16 poses x 5 frames = 80) and the last 25% of take_b (80 -> frames 60..79)
    body = next(d for d in report.data if d.part == "body")
    assert (body.held_out_takes, body.held_out_frames) == (2, 80 + 20)
    assert (body.train_takes, body.train_frames) == (2, 60 + 60)


def test_the_hands_are_measured_on_the_takes_and_their_mirror_images(report):
    """The data table counts the takes; the hands' figures pool twice their frames, and the
    exact codebook (mirror poses included) uses twice the body's 8 codes held out."""
    hands = next(d for d in report.data if d.part == "hands")
    body = next(d for d in report.data if d.part == "body")
    assert (hands.held_out_frames, hands.mirrored, body.mirrored) == (100, True, False)
    assert report.row("kmeans-6", "hands").held_out.frames == 200 and report.row("kmeans-6", "body").held_out.frames == 100
    assert report.row("kmeans-6", "hands").held_out.usage_pct == (25.0,)
    assert "The hands codecs are fitted on the training takes and their left/right mirror images" in report.markdown


def test_an_exact_codebook_has_no_error(report):
    for part in ("body", "hands"):
        h = report.row("kmeans-6", part).held_out
        assert h.rmse_cm < 1e-3 and h.kabsch_body_cm < 1e-3 and h.kabsch_hands_cm < 1e-3
        assert h.wrist_hull_pct == pytest.approx((100.0, 100.0), abs=1e-3)
        assert h.jerk_ratio == pytest.approx(1.0, abs=1e-4)
        assert report.row("kmeans-6", part).in_sample.rmse_cm < 1e-3


def test_usage_and_perplexity_of_the_exact_codebook(report):
    # take_c holds each of the 8 poses for 10 frames, the tail of take_b poses 4-7 for 5 frames
    # each: 8 of 64 codes used (12.5%), with p = 0.10 (x4) and 0.15 (x4) over the 100 frames.
    h = report.row("kmeans-6", "body").held_out
    assert h.usage_pct == (12.5,) and h.token_usage_pct == 12.5  # k-means: whole tokens are the codes
    entropy = -4 * 0.10 * math.log(0.10) - 4 * 0.15 * math.log(0.15)
    assert h.perplexity == pytest.approx((math.exp(entropy),))


def test_the_error_is_pooled_over_frames_and_given_per_source(report):
    # held out: 20 frames of take_b (set-a) and 80 of take_c (set-b); the pooled RMSE weighs
    # each source's squared error by its frames (55 joints each).
    h = report.row("kmeans-1", "body").held_out
    a, b = h.rmse_by_source_cm["set-a"], h.rmse_by_source_cm["set-b"]
    assert sorted(h.rmse_by_source_cm) == ["set-a", "set-b"] and a > 0 and b > 0
    assert h.rmse_cm == pytest.approx(math.sqrt((20 * a**2 + 80 * b**2) / 100))


def test_the_mean_pose_baseline_is_still(report):
    # Every frame decoded as one pose: in the root's frame the body does not move at all, so
    # its jerk is 0, its wrists sweep no volume, and one code is used (perplexity 1).
    h = report.row("mean-pose", "body").held_out
    assert h.jerk_ratio == pytest.approx(0.0, abs=1e-9) and h.wrist_hull_pct == (0.0, 0.0)
    assert h.usage_pct == (100.0,) and h.perplexity == (1.0,)
    assert h.rmse_cm > report.row("kmeans-1", "body").held_out.rmse_cm * 0.5
    assert report.row("mean-pose", "hands").held_out.kabsch_hands_cm > 1.0


def test_a_codec_changes_only_its_own_part(report):
    body, hands = report.row("kmeans-1", "body").held_out, report.row("kmeans-1", "hands").held_out
    assert body.rmse_cm > 1.0 and body.kabsch_body_cm > 1.0
    assert body.kabsch_hands_cm < 1e-3  # the hands move rigidly with the wrists
    assert hands.kabsch_hands_cm > 1.0
    assert hands.kabsch_body_cm < 1e-3 and hands.wrist_hull_pct == pytest.approx((100.0, 100.0), abs=1e-3)


def _row(codec, part, bits, held_cm, train_cm):
    fam, size = codec.split("-")[0], int(codec.split("-")[1])
    fig = lambda cm: SplitFigures(1, 10, cm, cm, cm, (100.0, 100.0), 100.0, 1.0, (50.0,), (4.0,), 50.0, 4.0, {})  # noqa: E731
    return EvaluationRow(codec, part, fam, "", 2**size, bits, 30 * bits, fig(held_cm), fig(train_cm))


def test_family_ratios_pair_the_families_at_each_bitrate():
    rows = [
        _row("kmeans-6", "body", 6, 9.0, 6.0), _row("rqvae-6", "body", 6, 5.0, 4.0),
        _row("kmeans-9", "body", 9, 6.0, 3.0),  # no RQ-VAE at 9 bits: no ratio
        _row("kmeans-6", "hands", 6, 2.0, 1.0), _row("rqvae-6", "hands", 6, 4.0, 2.0),
    ]
    ratios = family_ratios(rows)
    assert [(q.part, q.bits_per_frame) for q in ratios] == [("body", 6), ("hands", 6)]
    assert ratios[0].ratio == pytest.approx(1.8) and ratios[0].in_sample_ratio == pytest.approx(1.5)
    assert ratios[1].ratio == pytest.approx(0.5)  # RQ-VAE worse: the ratio says so
    assert ratios[0].kmeans is rows[0] and ratios[0].rqvae is rows[1]


def test_markdown_and_png_are_written(report):
    text = report.out.read_text(encoding="utf-8")
    assert text == report.markdown
    assert "| kmeans-6 | body | k-means | k=64 | 6 | 180 |" in text
    assert "| kmeans-1 | hands | k-means | k=2 | 1 | 30 |" in text
    assert "![RMSE against bits per frame](codecs_rd.png)" in text
    assert "No bitrate has both families evaluated." in text
    assert report.plot == report.out.with_name("codecs_rd.png")
    assert report.plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_each_panel_names_its_figure_and_unit():
    """The face's headline (expression RMSE) has no unit; the body's and the hands' are cm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from motion_tokens.core.codecs.evaluation.plot import _panel

    fig, axes = plt.subplots(1, 3)
    labels = []
    for ax, part in zip(axes, ("body", "hands", "face")):
        _panel(ax, part, [])
        labels.append(ax.get_ylabel().replace("\n", " "))
        assert max(len(line) for line in ax.get_ylabel().splitlines()) <= 34  # fits the panel
    plt.close(fig)
    assert labels == ["full-pose RMSE (cm)", "Kabsch RMSE of the hands (cm)",
                      "expression RMSE (the first FLAME coefficients), no unit"]


def test_codec_selection_and_its_errors(data, models, tmp_path):
    rep = evaluate_codecs([data], ["kmeans-1"], models_dir=models, out=tmp_path / "r.md", progress=None, split=SPLIT)
    assert sorted((r.codec, r.part) for r in rep.rows) == [
        ("kmeans-1", "body"), ("kmeans-1", "hands"), ("mean-pose", "body"), ("mean-pose", "hands")]
    with pytest.raises(MotionTokensError, match=r"no codec bundle named kmeans-9 .*kmeans-1, kmeans-6$"):
        evaluate_codecs([data], ["kmeans-9"], models_dir=models, out=tmp_path / "r.md", progress=None, split=SPLIT)
    empty = tmp_path / "no-models"
    empty.mkdir()
    with pytest.raises(MotionTokensError, match="no codec bundles in .*no-models"):
        evaluate_codecs([data], models_dir=empty, out=tmp_path / "r.md", progress=None, split=SPLIT)
    with pytest.raises(MotionTokensError, match="no held-out take"):
        evaluate_codecs([data], models_dir=models, out=tmp_path / "r.md", progress=None, split=Split(frozenset()))


def test_the_report_names_the_command_that_reproduces_it(report, data, models):
    text = report.out.read_text(encoding="utf-8")
    assert f"Command: `python -m motion_tokens evaluate-codecs --data {data} --out {report.out} --models {models}`" in text
    assert "Machine: " in text


def test_summary_lines_give_the_rows_figures(report):
    """One header, one line per row (same order), then the files; each number is the row's own
    figure in the column's rounding: the part's headline held out and in-sample, Kabsch body and
    hands, hull mean %, jerk ratio, whole-token usage % and perplexity."""
    lines = summary_lines(report)
    assert lines[0].split()[:2] == ["codec", "part"] and "perplexity" in lines[0]
    assert lines[-1] == f"{report.out}: report; {report.plot}: plot"
    body_lines = lines[1:-1]
    assert len(body_lines) == len(report.rows)
    assert len({len(line) for line in lines[:-1]}) == 1  # fixed width
    for line, r in zip(body_lines, report.rows):
        cells = line.split()
        assert cells[:2] == [r.codec, r.part]
        numbers = [float(c) for c in cells[2:]]
        h = r.held_out
        headline = h.rmse_cm if r.part == "body" else h.kabsch_hands_cm
        headline_in = r.in_sample.rmse_cm if r.part == "body" else r.in_sample.kabsch_hands_cm
        expected = [r.bits_per_frame, r.bits_per_second, headline, headline_in, h.kabsch_body_cm,
                    h.kabsch_hands_cm, h.wrist_hull_mean_pct, h.jerk_ratio, h.token_usage_pct, h.token_perplexity]
        tolerances = [0, 0, 0.005, 0.005, 0.005, 0.005, 0.05, 0.005, 0.05, 0.05]
        for got, want, tol in zip(numbers, expected, tolerances):
            assert got == pytest.approx(want, abs=tol + 1e-9)
    # Hand-checked cells: the exact codebook's body row uses 8 of 64 codes (12.5%), the
    # mean-pose baseline one code of one (100%, perplexity 1).
    exact = body_lines[[(r.codec, r.part) for r in report.rows].index(("kmeans-6", "body"))].split()
    assert exact[-2] == "12.5"
    still = body_lines[[(r.codec, r.part) for r in report.rows].index(("mean-pose", "body"))].split()
    assert still[2:4] == ["0", "0"] and still[-2:] == ["100.0", "1.0"]


def test_frames_of_reference_come_from_the_part_registry():
    # body: the root's frame, pelvis to wrists; hands: each wrist's frame with its 15 finger
    # joints and its 5 tips (tip rows follow the 55 joints: left tips 55-59, right 60-64).
    assert frame_rows("body") == ((0, tuple(range(22))),)
    assert frame_rows("hands") == ((20, (20, *range(25, 40), *range(55, 60))),
                                   (21, (21, *range(40, 55), *range(60, 65))))


def test_coding_speed_is_measured_and_reported(report):
    """Every codec row has finite encode and decode frames/s on both splits; the markdown's
    speed table gives them, and kmeans-1 against kmeans-6 are at other rates (no ratio)."""
    for r in report.rows:
        for figures in (r.held_out, r.in_sample):
            assert math.isfinite(figures.encode_fps) and figures.encode_fps > 0
            assert math.isfinite(figures.decode_fps) and figures.decode_fps > 0
    text = report.out.read_text(encoding="utf-8")
    assert "## Coding speed" in text
    row = report.row("kmeans-6", "body")
    assert f"| kmeans-6 | body | 180 | {row.in_sample.encode_fps:,.0f} | {row.in_sample.decode_fps:,.0f} | - | - |" in text
