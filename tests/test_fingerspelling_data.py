"""Fingerspelling `.pose` folders as hand training data (core/codecs/training/fingerspelling.py):
the letter split worked by hand, a letter's fitted take (fingers only, the missing hand the
mirror of the signing one, only frames with a hand), and the folders read as takes."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from motion_tokens.core.codecs.features import mirrored_part, part_features
from motion_tokens.core.codecs.training.dataset import part_dataset, read_takes
from motion_tokens.core.codecs.training.fingerspelling import fitted_hands, letters_held_out, letters_of
from motion_tokens.core.skeleton import HAND_JOINTS


def test_letters_held_out_by_hand():
    # A, B, C in 5 files each, D in 4, "ff" in 5 (compared as written, not as F).
    letters = ["A"] * 5 + ["B"] * 5 + ["C"] * 5 + ["D"] * 4 + ["ff"] * 5
    common = ["A", "B", "C", "ff"]
    by_hash = sorted(common, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    assert letters_held_out(letters) == sorted(by_hash[:math.ceil(0.1 * 4)])  # one letter
    assert letters_held_out(letters, fraction=0.5) == sorted(by_hash[:2])
    assert "D" not in letters_held_out(letters, fraction=1.0)


def test_letters_of_a_folder_without_an_index_are_the_file_names(tmp_path):
    for name in ("A", "B"):
        (tmp_path / f"{name}.pose").write_bytes(b"")
    assert letters_of(tmp_path) == {"A": "A", "B": "B"}


@pytest.mark.data
def test_a_one_handed_letter_becomes_a_fingers_only_take_with_the_other_hand_mirrored(data_dir):
    path = data_dir / "sign" / "fingerspelling" / "B.pose"  # 25 fps, the right hand signs
    motion = fitted_hands(path)
    assert motion.fps == 30.0 and motion.name == "B"
    others = [j for j in range(motion.skeleton.num_joints) if j not in HAND_JOINTS]
    assert np.abs(motion.rotations[:, others] - np.array([1.0, 0, 0, 0])).max() == 0.0
    f = part_features(motion, "hands")
    half = f.shape[1] // 2
    # The left hand (never found in ASL) is the right hand's mirror image, frame by frame.
    assert np.allclose(f[:, :half], mirrored_part(f, "hands")[:, :half], atol=1e-5)
    assert np.abs(f[:, half:]).max() > 0.3  # the right fingers move


@pytest.mark.data
def test_the_folders_read_as_hand_takes(data_dir):
    folders = [data_dir / "sign" / "fingerspelling"]
    takes = read_takes(folders)
    assert sorted(t.name for t in takes) == sorted(letters_of(folders[0]))
    assert {t.source for t in takes} == {"fingerspelling"}
    hands = part_dataset(takes, "hands")
    assert hands.num_takes == 26 and hands.num_frames > 500
    assert part_dataset(takes, "body").num_takes == 0 and part_dataset(takes, "face").num_takes == 0
