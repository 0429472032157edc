"""Temporal NMS (core.signs.nms) on hand-made confidence curves: the paper's behaviour."""

import numpy as np
import pytest
from motion_tokens.core.errors import OptionError
from motion_tokens.core.signs.nms import Detection, nms_detections, threshold_detections

W, H = 10, 2  # window 10 frames, hop 2: window i covers [2i, 2i + 10)


def bump(n: int, first: int, last: int, peak: float = 0.9, floor: float = 0.1) -> np.ndarray:
    """A curve at `floor` except windows first..last, rising to `peak` in their middle."""
    curve = np.full(n, floor)
    centre = (first + last) / 2
    half = max((last - first) / 2, 1)
    idx = np.arange(first, last + 1)
    curve[idx] = peak - 0.2 * np.abs(idx - centre) / half
    return curve


def test_overlapping_windows_of_one_sign_merge_into_one_detection():
    curve = bump(30, 5, 12)  # windows 5..12 above 0.5: frames [10, 34)
    found = nms_detections({"A": curve}, W, H, overlap_threshold=0.5, confidence_threshold=0.5)
    assert found == [Detection("A", 10, 34, pytest.approx(curve.max()))]


def test_merging_holds_for_any_overlap_threshold():
    curve = bump(30, 5, 12)
    for iou in (0.0, 0.3, 0.7, 1.0):
        found = nms_detections({"A": curve}, W, H, overlap_threshold=iou, confidence_threshold=0.5)
        assert [(d.label, d.start, d.end) for d in found] == [("A", 10, 34)], iou


def test_neighbouring_different_signs_are_both_kept_in_order():
    n = 40
    a = bump(n, 2, 7)  # frames [4, 24)
    b = bump(n, 12, 17, peak=0.8)  # frames [24, 44): touches A, does not overlap it
    found = nms_detections({"B": b, "A": a}, W, H, overlap_threshold=0.3, confidence_threshold=0.5)
    assert [(d.label, d.start, d.end) for d in found] == [("A", 4, 24), ("B", 24, 44)]
    assert found[0].confidence == pytest.approx(a.max()) and found[1].confidence == pytest.approx(b.max())


def test_weaker_other_label_overlapping_a_strong_sign_is_suppressed():
    n = 30
    strong = bump(n, 5, 12, peak=0.95)
    weak = bump(n, 6, 11, peak=0.7)  # same frames, lower confidence: the signer signs one sign
    found = nms_detections({"weak": weak, "strong": strong}, W, H, overlap_threshold=0.3, confidence_threshold=0.5)
    assert [(d.label, d.start, d.end) for d in found] == [("strong", 10, 34)]
    # without NMS both labels come out
    plain = threshold_detections({"weak": weak, "strong": strong}, W, H, confidence_threshold=0.5)
    assert sorted(d.label for d in plain) == ["strong", "weak"]


def test_below_threshold_curve_gives_nothing():
    curves = {"A": np.full(20, 0.3), "B": bump(20, 3, 9, peak=0.45)}
    assert nms_detections(curves, W, H, confidence_threshold=0.5) == []
    assert threshold_detections(curves, W, H, confidence_threshold=0.5) == []
    assert nms_detections({}, W, H) == []
    assert nms_detections({"A": np.zeros(0)}, W, H) == []


def test_plain_thresholding_fragments_and_duplicates_where_nms_does_not():
    rng = np.random.default_rng(0)
    n = 60
    a = bump(n, 5, 20, peak=0.9)
    a[[9, 14]] = 0.45  # one-window dips inside sign A
    b = bump(n, 35, 50, peak=0.85)
    b[42] = 0.4
    noise = np.clip(0.35 + 0.1 * rng.standard_normal(n), 0, 0.49)  # a third label flickering
    noise[[12, 40]] = 0.6  # above threshold inside A and inside B
    curves = {"A": a, "B": b, "C": noise}
    nms = nms_detections(curves, W, H, overlap_threshold=0.3, confidence_threshold=0.5)
    plain = threshold_detections(curves, W, H, confidence_threshold=0.5)
    assert [(d.label, d.start, d.end) for d in nms] == [("A", 10, 50), ("B", 70, 110)]
    assert len(plain) > len(nms)
    assert sum(d.label == "A" for d in plain) == 3  # fragmented at both dips
    assert any(d.label == "C" for d in plain)  # spurious label kept


def test_threshold_detections_spans_runs_of_windows():
    curve = np.array([0.1, 0.6, 0.7, 0.2, 0.8, 0.1])
    found = threshold_detections({"A": curve}, 4, 3, confidence_threshold=0.5)
    assert found == [Detection("A", 3, 10, pytest.approx(0.7)), Detection("A", 12, 16, pytest.approx(0.8))]


def test_results_sorted_by_start():
    n = 60
    curves = {"Z": bump(n, 40, 45), "Y": bump(n, 20, 25), "X": bump(n, 0, 5)}
    found = nms_detections(curves, W, H, overlap_threshold=0.3, confidence_threshold=0.5)
    assert [d.label for d in found] == ["X", "Y", "Z"]
    assert [d.start for d in found] == sorted(d.start for d in found)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(window=0), "window"),
        (dict(window=2.5), "window"),
        (dict(hop=0), "hop"),
        (dict(hop=True), "hop"),
        (dict(overlap_threshold=1.5), "overlap_threshold"),
        (dict(overlap_threshold=-0.1), "overlap_threshold"),
        (dict(overlap_threshold=float("nan")), "overlap_threshold"),
        (dict(confidence_threshold=float("inf")), "confidence_threshold"),
        (dict(confidence_threshold="0.5"), "confidence_threshold"),
    ],
)
def test_bad_parameters_are_refused(kwargs, words):
    args = dict(confidences={"A": np.ones(5)}, window=W, hop=H) | kwargs
    with pytest.raises(OptionError, match=words):
        nms_detections(**args)


@pytest.mark.parametrize(
    "confidences, words",
    [
        ([0.5, 0.6], "mapping"),
        ({"": np.ones(3)}, "labels"),
        ({"A": np.ones((2, 3))}, "1-D"),
        ({"A": np.array([0.5, np.nan])}, "NaN"),
        ({"A": np.ones(3), "B": np.ones(4)}, "same number of windows"),
    ],
)
def test_bad_confidences_are_refused(confidences, words):
    with pytest.raises(OptionError, match=words):
        nms_detections(confidences, W, H)
    with pytest.raises(OptionError, match=words):
        threshold_detections(confidences, W, H)
