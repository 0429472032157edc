"""Training and evaluation data for the codecs: motion takes, per-part features, the fixed split.

Data folders hold motion files, found recursively: `.bvh` (read and retargeted onto SMPL-X by
`core.formats.read_motion` with the shipped bone map that fits, e.g. the Bandai one) and
`.npz` (SMPL-X, BEAT2 or AMASS layout). Every take is resampled to 30 fps.

A take counts for a part only if that part moves in it: the Bandai BVH skeleton has no
fingers and no face, so its retargeted takes keep the SMPL-X hand joints and the jaw at rest
and are left out of the hands and face data; the ManipNet hand files move the fingers alone
and are left out of the body and face data (listed in `PartDataset.skipped`).

ManipNet's per-hand files (`{set}__{object}__leftHand.bvh` / `__rightHand.bvh`) hold the two
hands of one capture (the same frame count in every pair), so each pair becomes ONE two-handed
take named `{set}__{object}` (`paired_hands`): the hands codec codes both hands in one vector,
and a pair keeps the real coordination of the two hands. The alternative, one-handed takes
with the other hand at the SMPL-X rest (a flat, spread hand) plus mirroring, would put the flat
rest hand in half of every ManipNet vector: a pose that gesturing (BEAT2) never shows, on which
the codebook would spend codes. Mirroring (the hands are `mirrored_in_training`) still doubles
the pairs. With the shared data this gives body = Bandai dataset-1 + dataset-2 + BEAT2 (39,767
frames), hands = BEAT2 (1,906) + ManipNet (8 takes, 10,095 frames at 30 fps) and face =
BEAT2 (1,906).

The held-out split is fixed in `split.json` beside this module and never recomputed at
training time, so it cannot drift when data is added:
- `held_out_takes`: whole takes (file stems) kept out of training. For Bandai they were chosen
  by `bandai_held_out`: in each (dataset, content) group of at least 5 takes, the ceil(10%)
  takes whose names have the smallest sha256 (stable, balanced over contents; contents with
  fewer takes stay whole in training so that no content is missing from it).
- `held_out_tails`: takes of which only the last fraction is held out, as one contiguous
  block. BEAT2 has a single take here, so it cannot be split by takes: its last 25% is held
  out. Its held-out error is within-take (same speaker, same session) and so optimistic; for
  the face, which only BEAT2 provides, it is the only held-out figure there is. ManipNet
  takes (paired objects) are held out whole by `manipnet_held_out`: per set (Dining,
  Primitive) the object whose name has the smallest sha256 (2 of 8 objects, 4 of 16 files).
Takes not named in the file are training takes. Mirrored copies (the augmentation of parts
`mirrored_in_training`, the hands) are made from training frames only, so no mirror image of a
held-out frame is ever trained on. `tools/make_split.py` rewrites the file (`make_split_file`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ...errors import CorruptFileError, MissingFileError
from ...formats import MOTION_SUFFIXES
from ...motion import Motion
from ...parts import get_part
from ...skeleton import HAND_JOINTS
from ...retarget import read_smplx_motion
from ..features import CODEC_FPS, at_codec_rate, mirrored_part, part_features, with_part_features

#: The committed split, core/codecs/split.json (beside the codec modules it serves).
SPLIT_FILE = Path(__file__).resolve().parents[1] / "split.json"

#: Bandai take names: dataset-N_{content}_{style}_{take}.
_BANDAI_NAME = re.compile(r"^(dataset-\d+)_([^_]+)_([^_]+)_(\d+)$")
#: ManipNet per-hand file names: {set}__{object}__{leftHand|rightHand}.
_MANIPNET_NAME = re.compile(r"^([A-Za-z]+)__(.+)__(leftHand|rightHand)$")
_HAND_JOINTS = {"leftHand": slice(HAND_JOINTS[0], HAND_JOINTS[0] + 15), "rightHand": slice(HAND_JOINTS[0] + 15, 55)}
_HELD_OUT_FRACTION = 0.10
_MIN_GROUP_FOR_HOLD_OUT = 5
_BEAT2_TAIL_FRACTION = 0.25
# Below this (radians) every rotation of a part counts as "at rest": the part is not in the take.
_REST_TOLERANCE = 1e-6


@dataclass(frozen=True)
class MotionTake:
    """One take: its name (the file stem, `stem[a:b]` for a segment), source folder, motion."""

    name: str
    source: str
    motion: Motion


@dataclass(frozen=True)
class Split:
    """The held-out split: whole takes, and takes whose last `fraction` is held out."""

    held_out_takes: frozenset[str]
    held_out_tails: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        tails = ", ".join(f"the last {f:.0%} of {n}" for n, f in sorted(self.held_out_tails.items()))
        return (
            f"{len(self.held_out_takes)} whole takes held out (listed in core/codecs/split.json)"
            + (f", and {tails} as one contiguous block (within-take: optimistic)" if tails else "")
        )


@dataclass(frozen=True)
class PartDataset:
    """Per-take features of one part at 30 fps.

    part: a `core.parts` name. names, sources: per take. arrays: per take (T_i, F) float32
    axis-angle features (see features.py). skipped: names of takes in which the part does not
    move (left out). mirrored: whether the takes include left/right mirrored copies.
    """

    part: str
    names: tuple[str, ...]
    sources: tuple[str, ...]
    arrays: tuple[np.ndarray, ...]
    skipped: tuple[str, ...] = ()
    mirrored: bool = False

    @property
    def num_takes(self) -> int:
        return len(self.arrays)

    @property
    def num_frames(self) -> int:
        return int(sum(len(a) for a in self.arrays))

    def vectors(self) -> np.ndarray:
        """(N, F) float32: every frame of every take."""
        if not self.arrays:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(self.arrays, axis=0)

    def summary(self) -> dict:
        """Takes, frames and seconds, in all and per source (for manifests)."""
        per_source: dict[str, dict] = defaultdict(lambda: {"takes": 0, "frames": 0})
        for source, a in zip(self.sources, self.arrays):
            per_source[source]["takes"] += 1
            per_source[source]["frames"] += len(a)
        return {
            "takes": self.num_takes,
            "frames": self.num_frames,
            "seconds": round(self.num_frames / CODEC_FPS, 1),
            "sources": {k: dict(v) for k, v in sorted(per_source.items())},
        }


def motion_files(data_dirs) -> list[Path]:
    """Every .bvh and .npz file under the folders (or the files themselves), sorted per folder.

    Raises MissingFileError for a path that does not exist or a folder with no motion files.
    """
    found: list[Path] = []
    for d in data_dirs:
        d = Path(d)
        if d.is_file():
            found.append(d)
            continue
        if not d.is_dir():
            raise MissingFileError(d, "no such data folder")
        files = sorted(p for p in d.rglob("*") if p.suffix.lower() in MOTION_SUFFIXES and p.is_file())
        if not files:
            raise MissingFileError(d, f"no motion files ({' or '.join(MOTION_SUFFIXES)}) in this folder")
        found.extend(files)
    return found


def read_takes(data_dirs) -> list[MotionTake]:
    """Every motion file under `data_dirs` as a 30 fps SMPL-X take (BVH retargeted); a folder of
    MediaPipe `.pose` files (fingerspelling) gives one fitted hand take per file
    (training.fingerspelling)."""
    from .fingerspelling import fitted_hands, is_pose_folder, pose_files

    takes = []
    names: dict[str, Path] = {}

    def named(path: Path) -> None:
        if path.stem in names:  # the split is by name: two files of one name would be ambiguous
            raise CorruptFileError(path, f"has the same take name as {names[path.stem]}; rename one of them")
        names[path.stem] = path

    pose_dirs = [Path(d) for d in data_dirs if is_pose_folder(d)]
    for path in motion_files([d for d in data_dirs if Path(d) not in pose_dirs]):
        named(path)
        takes.append(MotionTake(path.stem, path.parent.name, at_codec_rate(read_smplx_motion(path, 30.0))))
    for folder in pose_dirs:
        for path in pose_files(folder):
            named(path)
            motion = fitted_hands(path)
            if motion is not None:
                source = folder.name if path.parent == folder else f"{folder.name}/{path.parent.name}"
                takes.append(MotionTake(path.stem, source, motion))
    return paired_hands(takes)


def paired_hands(takes) -> list[MotionTake]:
    """The takes with each ManipNet leftHand/rightHand pair of one source folder merged into one
    two-handed take `{set}__{object}` (left fingers from the left file, right from the right;
    the shorter length where the two differ). A file without its partner stays one-handed."""
    groups: dict[tuple[str, str], dict[str, MotionTake]] = defaultdict(dict)
    for take in takes:
        m = _MANIPNET_NAME.match(take.name)
        if m:
            groups[(take.source, f"{m.group(1)}__{m.group(2)}")][m.group(3)] = take
    out = []
    for take in takes:
        m = _MANIPNET_NAME.match(take.name)
        if not m:
            out.append(take)
            continue
        pair = groups[(take.source, f"{m.group(1)}__{m.group(2)}")]
        if len(pair) == 1:
            out.append(take)
        elif m.group(3) == "leftHand":  # the pair is emitted once, where its left file was
            out.append(_merged(f"{m.group(1)}__{m.group(2)}", pair["leftHand"], pair["rightHand"]))
    return out


def _merged(name: str, left: MotionTake, right: MotionTake) -> MotionTake:
    T = min(left.motion.num_frames, right.motion.num_frames)
    rotations = left.motion.rotations[:T].copy()
    rotations[:, _HAND_JOINTS["rightHand"]] = right.motion.rotations[:T, _HAND_JOINTS["rightHand"]]
    motion = replace(left.motion.frames(0, T), rotations=rotations, name=name)
    return MotionTake(name, left.source, motion)


def load_split(path: str | os.PathLike = SPLIT_FILE) -> Split:
    """The split in `path` (default: core/codecs/split.json)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Split(frozenset(data["held_out_takes"]), {k: float(v) for k, v in data["held_out_tails"].items()})
    except FileNotFoundError:
        raise MissingFileError(path, "the codec split file is missing") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptFileError(path, f"is not a valid split file ({exc!r})") from None


def _segment(take: MotionTake, start: int, stop: int) -> MotionTake:
    m = take.motion.frames(start, stop)
    name = f"{take.name}[{start}:{stop}]"
    return MotionTake(name, take.source, replace(m, name=name))


def split_takes(takes, split: Split | None = None) -> tuple[list[MotionTake], list[MotionTake]]:
    """(training takes, held-out takes) by the split (default: split.json).

    A take in `held_out_tails` is cut in two: frames [0, c) train and [c, T) are held out,
    with c = floor(T * (1 - fraction)); both halves are named `name[a:b]`.
    """
    split = load_split() if split is None else split
    train, held = [], []
    for take in takes:
        if take.name in split.held_out_takes:
            held.append(take)
        elif take.name in split.held_out_tails:
            T = take.motion.num_frames
            cut = int(math.floor(T * (1.0 - split.held_out_tails[take.name])))
            train.append(_segment(take, 0, cut))
            held.append(_segment(take, cut, T))
        else:
            train.append(take)
    return train, held


def part_dataset(takes, part: str, fps: float = CODEC_FPS) -> PartDataset:
    """The `part` features of the takes at `fps` (default 30), leaving out takes in which the
    part never moves."""
    get_part(part)
    names, sources, arrays, skipped = [], [], [], []
    for take in takes:
        f = part_features(take.motion, part, fps)
        if len(f) == 0 or np.abs(f).max() <= _REST_TOLERANCE:
            skipped.append(take.name)
            continue
        names.append(take.name)
        sources.append(take.source)
        arrays.append(f)
    return PartDataset(part, tuple(names), tuple(sources), tuple(arrays), tuple(skipped))


def with_mirrored(ds: PartDataset) -> PartDataset:
    """`ds` plus a left/right mirrored copy of every take (named `name~mirrored`), by
    `features.mirrored_part`; arrays stay (T_i, F) float32.

    In fitting, apply to training data only: mirrors of held-out frames must never be trained
    on (evaluating on them is `evaluation_dataset`'s).
    """
    return replace(
        ds,
        names=ds.names + tuple(f"{n}~mirrored" for n in ds.names),
        sources=ds.sources + ds.sources,
        arrays=ds.arrays + tuple(mirrored_part(a, ds.part).astype(np.float32) for a in ds.arrays),
        mirrored=True,
    )


def training_dataset(ds: PartDataset) -> PartDataset:
    """What a codec of `ds.part` is fitted on: `ds`, with its mirror images where the part is
    `mirrored_in_training` (more data where a dataset is small: the hands)."""
    return with_mirrored(ds) if get_part(ds.part).mirrored_in_training else ds


def evaluation_dataset(ds: PartDataset) -> PartDataset:
    """What a codec of `ds.part` is evaluated on (held out or in-sample): `ds`, with its mirror
    images where the part is `mirrored_in_training`.

    Such a codec is fitted to code either hand leading (a left-handed signer is the mirror
    image of a right-handed one), so both are measured. On the held-out takes alone, which sign
    right-handed, the codes fitted to the mirrored training takes go unused: rqvae4-6-hands used
    76.6% of its first level on them and 98.4% with their mirror images (2026-12-03). A mirror
    image of a held-out take is still held out: none is ever trained on.
    """
    return training_dataset(ds)


def mirrored_take(take: MotionTake, part: str) -> MotionTake:
    """`take` (at 30 fps) with `part` left/right mirrored (`features.mirrored_part`) and every
    other joint as it is, named `name~mirrored` (as `with_mirrored` names its arrays)."""
    name = f"{take.name}~mirrored"
    mirrored = mirrored_part(part_features(take.motion, part), part)
    return MotionTake(name, take.source, replace(with_part_features(take.motion, part, mirrored), name=name))


def evaluation_takes(takes, part: str) -> list[MotionTake]:
    """The takes `evaluation_dataset` measures `part` on: `takes`, then their mirror images
    where the part is `mirrored_in_training`."""
    takes = list(takes)
    return takes + [mirrored_take(t, part) for t in takes] if get_part(part).mirrored_in_training else takes


def bandai_held_out(names, fraction: float = _HELD_OUT_FRACTION) -> list[str]:
    """The Bandai takes to hold out: per (dataset, content) group of >= 5 takes, ceil(fraction)
    of them, those whose names have the smallest sha256. Names not in the Bandai pattern are
    ignored. Sorted."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name in names:
        m = _BANDAI_NAME.match(name)
        if m:
            groups[(m.group(1), m.group(2))].append(name)
    held = []
    for group in groups.values():
        if len(group) >= _MIN_GROUP_FOR_HOLD_OUT:
            ranked = sorted(group, key=lambda n: hashlib.sha256(n.encode("utf-8")).hexdigest())
            held.extend(ranked[: math.ceil(fraction * len(group))])
    return sorted(held)


def manipnet_held_out(names) -> list[str]:
    """The ManipNet takes (paired objects, `{set}__{object}`) to hold out: per set, the object
    whose name has the smallest sha256. `names`: file stems (per-hand names are paired first);
    other names are ignored. Sorted."""
    objects: dict[str, set[str]] = defaultdict(set)
    for name in names:
        m = _MANIPNET_NAME.match(name)
        if m:
            objects[m.group(1)].add(f"{m.group(1)}__{m.group(2)}")
    held = [min(group, key=lambda n: hashlib.sha256(n.encode("utf-8")).hexdigest()) for group in objects.values()]
    return sorted(held)


def make_split_file(data_dirs, beat2_takes, path: str | os.PathLike = SPLIT_FILE) -> dict:
    """Write the split file for the motion files under `data_dirs` (done once; then committed).

    beat2_takes: names of the takes held out by their last 25% (takes too few to split).
    Folders of `.pose` files (fingerspelling) are held out by letter: every file of the
    `fingerspelling.letters_held_out` letters, in every language.
    """
    from .fingerspelling import is_pose_folder, letters_held_out, letters_of

    pose_dirs = [Path(d) for d in data_dirs if is_pose_folder(d)]
    names = [p.stem for p in motion_files([d for d in data_dirs if Path(d) not in pose_dirs])]
    missing = sorted(set(beat2_takes) - set(names))
    if missing:
        raise MissingFileError(Path(str(data_dirs[0])), f"no take named {', '.join(missing)} under the data folders")
    letters: dict[str, str] = {}
    for folder in pose_dirs:
        letters.update(letters_of(folder))
    held_letters = letters_held_out(letters.values()) if letters else []
    held_spelled = [stem for stem, letter in letters.items() if letter in held_letters]
    content = {
        "about": (
            "The fixed held-out split of the codec data (core/codecs/training/dataset.py). "
            "held_out_takes: whole takes never trained on; Bandai ones chosen per (dataset, content) "
            "group of >= 5 takes as the ceil(10%) with the smallest sha256 of the name (groups with "
            "fewer takes stay in training). held_out_tails: takes whose last fraction is held out as "
            "one contiguous block, because there are too few takes to split by take (BEAT2: one take); "
            "that held-out error is within-take (same speaker and session) and therefore optimistic. "
            "ManipNet takes (the two hand files of one object paired into one take, {set}__{object}) are held "
            "out per set (Dining, Primitive) as the object with the smallest sha256 of its name. "
            "Fingerspelling files (.pose, fitted) are held out by letter: every file, in every language, "
            "of the held_out_letters (among the letters spelled in >= 5 files, the ceil(10%) with the smallest sha256). "
            "Takes not listed are training takes."
        ),
        "held_out_letters": held_letters,
        "held_out_takes": sorted(bandai_held_out(names) + manipnet_held_out(names) + held_spelled),
        "held_out_tails": {n: _BEAT2_TAIL_FRACTION for n in sorted(beat2_takes)},
    }
    Path(path).write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    return content
