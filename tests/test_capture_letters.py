"""Fingerspelled letters fitted from the shared `.pose` files: handshapes that differ come out
different, and a letter that two alphabets share comes out alike.

The handshape of a file is the signing hand's 15 finger-joint rotations averaged (normalised
quaternion mean) over the middle half of the frames the hand was found in (the held letter,
not the transitions in and out); two handshapes are compared by the mean angle between their
joints. Curl is the mean rotation angle of the four fingers' 12 joints over the found frames.

Figures measured when this was written (right hand): curl of A 55-63 degrees against B 7-20 in
ASL (ase), Brazilian (bzs), German (gsg), Swiss German (sgg), Spanish (ssp) and Slovak (svk);
ASL against Brazilian: A 9.4, B 6.4, V 9.7 degrees, while the nearest other of the four
letters A, B, L, V in Brazilian is 26 or more away. Czech, Turkish and Portuguese B are other
handshapes (two-handed alphabets or another B), so they are not in the A/B test.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.capture.fit import fit_landmarks
from motion_tokens.core.formats.pose import read_pose_landmarks

pytestmark = pytest.mark.data

RIGHT_FINGERS = slice(40, 55)  # SMPL-X right_index1 ... right_thumb3
ONE_HANDED_WITH_FLAT_B = ("ase", "bzs", "gsg", "sgg", "ssp", "svk")


@pytest.fixture(scope="module")
def letter_files(data_dir):
    """(language, letter) -> .pose path: ASL by file name, the nine lexicons by index.csv."""
    sign = data_dir / "sign"
    files = {("ase", p.stem): p for p in (sign / "fingerspelling").glob("*.pose")}
    lexicon = sign / "lexicons" / "fingerspelling"
    with open(lexicon / "index.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            files.setdefault((row["signed_language"], row["words"]), lexicon / row["path"])
    return files


def right_hand(path) -> np.ndarray:
    """(n, 15, 4) the right hand's finger rotations in the frames it was found in."""
    fit = fit_landmarks(read_pose_landmarks(path))
    assert fit.right_found.sum() >= 15, f"{path.name}: the right hand is found in {fit.right_found.sum()} frames"
    return fit.motion.rotations[fit.right_found][:, RIGHT_FINGERS]


def curl_deg(q) -> float:
    return float(np.degrees(rot.quat_angle(q[:, :12])).mean())


def handshape(q) -> np.ndarray:
    n = len(q)
    held = q[n // 4: n - n // 4]
    signs = np.sign(np.sum(held * held[:1], axis=-1, keepdims=True))  # one hemisphere per joint
    mean = (held * np.where(signs == 0, 1.0, signs)).mean(axis=0)
    return mean / np.linalg.norm(mean, axis=-1, keepdims=True)


def shape_distance_deg(a, b) -> float:
    return float(np.degrees(rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(a), b))).mean())


@pytest.mark.parametrize("language", ONE_HANDED_WITH_FLAT_B)
def test_a_fist_and_b_flat_hand_differ(letter_files, language):
    a, b = right_hand(letter_files[(language, "A")]), right_hand(letter_files[(language, "B")])
    assert curl_deg(a) > curl_deg(b) + 30.0, (curl_deg(a), curl_deg(b))
    assert curl_deg(a) > 45.0 and curl_deg(b) < 25.0
    assert shape_distance_deg(handshape(a), handshape(b)) > 25.0


@pytest.mark.parametrize("other", ["bzs", "gsg"])
def test_a_letter_two_alphabets_share_comes_out_alike(letter_files, other):
    """ASL against Brazilian and German sign language, whose A, B and V are ASL's handshapes:
    each letter is nearer its counterpart than any other of the four letters is, by a margin."""
    letters = ("A", "B", "L", "V")
    ase = {le: handshape(right_hand(letter_files[("ase", le)])) for le in letters}
    theirs = {le: handshape(right_hand(letter_files[(other, le)])) for le in letters}
    for le in ("A", "B", "V"):
        same = shape_distance_deg(ase[le], theirs[le])
        nearest_other = min(shape_distance_deg(ase[le], theirs[o]) for o in letters if o != le)
        assert same < 16.0 and same < 0.7 * nearest_other, (le, same, nearest_other)
