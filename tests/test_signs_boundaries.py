"""core.signs.boundaries on hand-made rows: an entry hidden in other rows is found at its own
rows, also played at half speed; refined detections keep labels, order and confidences, and
neighbours never overlap."""

from dataclasses import dataclass

import numpy as np
from motion_tokens.core.signs.boundaries import refined_detections, subsequence_alignment
from motion_tokens.core.signs.nms import Detection

rng = np.random.default_rng(0)
ENTRY = rng.normal(size=(10, 3))
OTHER = rng.normal(size=(8, 3))


def test_the_entry_is_found_at_its_own_rows():
    rows = np.concatenate([np.full((7, 3), 5.0), ENTRY, np.full((5, 3), -5.0)])
    start, end, cost = subsequence_alignment(ENTRY, rows)
    assert (start, end) == (7, 17) and cost < 1e-6


def test_a_slower_signing_is_found_whole():
    slow = np.repeat(ENTRY, 2, axis=0)  # each row held for two: half speed
    rows = np.concatenate([np.full((6, 3), 9.0), slow, np.full((4, 3), -9.0)])
    start, end, cost = subsequence_alignment(ENTRY, rows)
    assert start in (6, 7) and end == 26 and cost < 1e-6  # the first row held twice: either start is exact


@dataclass
class Lexicon:
    labels: tuple
    features: tuple
    scale: float = 1.0


def test_refined_detections_narrow_to_the_signs_and_keep_apart():
    rest = np.zeros((6, 3))
    rows = np.concatenate([rest, ENTRY, rest, OTHER, rest])  # ENTRY at 6-16, OTHER at 22-30
    lexicon = Lexicon(("E", "O", "O"), (ENTRY, OTHER[::-1], OTHER))
    wide = [Detection("E", 0, 20, 0.9), Detection("O", 14, 36, 0.7)]
    refined = refined_detections(wide, rows, lexicon, margin=4)
    assert [(d.label, d.start, d.end, d.confidence) for d in refined] == [("E", 6, 16, 0.9), ("O", 22, 30, 0.7)]
    assert refined_detections([], rows, lexicon, margin=4) == []


def test_a_poor_alignment_keeps_the_windows_span():
    rows = np.concatenate([np.zeros((6, 3)), ENTRY + 3.0, np.zeros((6, 3))])  # nothing like the entry
    wide = [Detection("E", 0, 20, 0.9)]
    assert refined_detections(wide, rows, Lexicon(("E",), (ENTRY,), scale=1.0), margin=4) == wide
