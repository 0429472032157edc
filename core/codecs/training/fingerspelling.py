"""Fingerspelling as hand training data: MediaPipe Holistic `.pose` files fitted to SMPL-X hands.

A folder of `.pose` files is a hand data source like a folder of motion files: each file is
read (core.formats.pose), fitted (core.capture.fit, the defaults) and becomes one take named by
its file stem, at 30 fps, for the hands only: every joint but the fingers is kept at rest, so
the body and face data leave it out as they leave out ManipNet (its body comes from a camera,
not from mocap). Only the frames in which at least one hand was found are kept: a frame
with neither hand holds no finger evidence, and the fit's return to rest there would teach the
codebook the SMPL-X flat rest hand.

The hands codec codes both hands in one vector, and most alphabets are one-handed (the left
hand is found in 0% of their frames, the README of the data says; cse and tsm use both). Where
one hand is not found its fingers take the found hand's mirror image in that frame, so each
vector holds two real handshapes rather than one real and one flat rest hand that gesturing
never shows (the same reason `dataset.paired_hands` pairs ManipNet's hands).

Letters: the ASL folder names each file by its letter (`A.pose`); the lexicon folders have an
`index.csv` (`path` relative to it, `words` the letter). `letters_of` reads both, so the split
can hold whole letters out (`letters_held_out`): a held-out letter's handshape is never seen in
training, in any language. Letters are compared as written (`ff` in one alphabet is not `F`).
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from ...errors import CorruptFileError, MissingFileError
from ...skeleton import HAND_JOINTS
from ..features import at_codec_rate, mirrored_part, part_features, with_part_features

POSE_SUFFIX = ".pose"
_HELD_OUT_FRACTION = 0.10
_MIN_FILES = 5


def pose_files(folder) -> list[Path]:
    """The `.pose` files under `folder`, sorted."""
    return sorted(p for p in Path(folder).rglob(f"*{POSE_SUFFIX}") if p.is_file())


def is_pose_folder(folder) -> bool:
    """Whether `folder` holds `.pose` files and no motion files (a landmark data source)."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    from ...formats import MOTION_SUFFIXES

    has_motion = any(p.suffix.lower() in MOTION_SUFFIXES for p in folder.rglob("*"))
    return not has_motion and any(True for _ in folder.rglob(f"*{POSE_SUFFIX}"))


def fitted_hands(path):
    """The fitted motion (30 fps) of one `.pose` file's frames with a hand found, the missing
    hand mirrored from the found one (module docstring); None when no hand is found at all."""
    from ...capture.file import found_at
    from ...capture.fit import fit_landmarks
    from ...formats.pose import read_pose_landmarks

    landmarks = read_pose_landmarks(path)
    motion = at_codec_rate(fit_landmarks(landmarks).motion)
    found = found_at(landmarks, motion.num_frames, motion.fps)
    left, right = found["left_hand"], found["right_hand"]
    keep = left | right
    if not keep.any():
        return None
    features = part_features(motion, "hands")  # (T, 90): the left hand's 45, then the right's
    mirror = mirrored_part(features, "hands")  # left <-> right, reflected
    half = features.shape[1] // 2
    filled = features.copy()
    filled[~left, :half] = mirror[~left, :half]
    filled[~right, half:] = mirror[~right, half:]
    motion = with_part_features(motion, "hands", filled)
    index = np.flatnonzero(keep)
    rotations = np.zeros((len(index), motion.skeleton.num_joints, 4))
    rotations[..., 0] = 1.0  # everything but the fingers at rest: the take counts for the hands alone
    rotations[:, HAND_JOINTS] = motion.rotations[index][:, HAND_JOINTS]
    return replace(motion, rotations=rotations, trans=np.zeros((len(index), 3)), name=Path(path).stem)


def letters_of(folder) -> dict[str, str]:
    """file stem -> letter for the `.pose` files under `folder`: from an `index.csv` beside
    them (columns `path`, `words`) where there is one, else the file stem itself."""
    folder = Path(folder)
    index = folder / "index.csv"
    if index.is_file():
        try:
            with open(index, newline="", encoding="utf-8") as fh:
                return {Path(row["path"]).stem: row["words"].strip() for row in csv.DictReader(fh)}
        except (KeyError, csv.Error, UnicodeDecodeError) as exc:
            raise CorruptFileError(index, f"is not a fingerspelling index (path, words columns): {exc}") from None
    files = pose_files(folder)
    if not files:
        raise MissingFileError(folder, "no .pose files in this folder")
    return {p.stem: p.stem for p in files}


def letters_held_out(letters, fraction: float = _HELD_OUT_FRACTION, min_files: int = _MIN_FILES) -> list[str]:
    """The letters to hold out, from `letters` (one per file): among the letters spelled in at
    least `min_files` files (the shared alphabets' A-Z, each in nine or ten languages; a letter
    of one alphabet alone, Ř or SCH, would test one signer), ceil(fraction) of them, those
    whose names have the smallest sha256. Sorted."""
    counts: dict[str, int] = {}
    for letter in letters:
        counts[letter] = counts.get(letter, 0) + 1
    common = sorted(letter for letter, n in counts.items() if n >= min_files)
    ranked = sorted(common, key=lambda s: hashlib.sha256(s.encode("utf-8")).hexdigest())
    return sorted(ranked[: math.ceil(fraction * len(common))])
