"""Matching a query's sign features against a lexicon by DTW over sliding windows (issue #17).

Lexicon: built once from `LexiconEntry`s (core.signs.lexicon): each clip is read (`.pose`:
MediaPipe Holistic landmarks; a video: through MediaPipe; both fitted by core.capture.fit; `.npz`
or `.bvh`: SMPL-X motion, a BVH retargeted onto SMPL-X) and turned into sign features at 30 fps
(core.signs.features): entry k is a (n_k, 48) array, its length n_k in frames at 30 fps. Saved
as an .npz (`save_lexicon`) with `version`, `layout` (the feature layout), `labels`,
`languages`, `paths`, `audio` (each entry's recorded word, "" where none), the features of all
entries stacked (`features`, (sum n_k, 48)) with `offsets` ((E + 1,) row starts) and `scale`;
`load_lexicon` refuses any other version, layout or shapes.

Windows over a query's feature rows (the frames where its signing hand is found):
window = the median entry length, hop = max(1, window // 4) (rows at 30 fps) unless given.
Window i covers rows [i * hop, i * hop + window); a query shorter than a window is one window.
Each window is also compared at WINDOW_SCALES (0.67x, 1x, 1.33x its length, about its centre):
a window of fixed length over a sign signed faster than the lexicon's holds much of the rest or
the next sign, which whole-window DTW must align too; the best scale's confidence is the window's
(it keeps its nominal span for NMS).

Distance: DTW between the window (n rows) and each entry (m rows), both compared whole (no
subsequence matching: the window is the candidate sign), with the Euclidean distance between
rows as the local cost, steps (1,1), (1,0), (0,1), and the accumulated cost divided by the length
of the path it took (so long and short entries compare; DTW's warping gives speed invariance:
a sign signed 0.75x or 1.33x as fast aligns along a steeper or flatter path).

Confidence: exp(-d / scale) per window and entry, and per label the highest of its entries'.
`scale` is the lexicon's own: the median over entries of the DTW distance to the nearest entry of
another label (what "a different sign" costs), so a window matching a sign costs little next to
it (confidence near 1) and one on another sign or between signs about `scale` or more (<= 0.37).
A threshold of 0.5 thus keeps windows closer to a label than half the typical gap between signs.

Cost: the DTW recursion is one Python loop over the n x m_max cells (m_max the longest entry),
each step numpy over all (windows, entries) at once (entries padded; a shorter entry's result is
read at its own last cell, which padding never reaches): a minute of query (1800 rows, ~280
windows) against 26 entries is about a second per scale.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, InputFileError, LayoutError, OptionError, require_file
from ..steps import Progress, Steps, run_steps
from .features import FEATURE_LAYOUT, NUM_SIGN_FEATURES, SignFeatures, motion_sign_features, sign_features
from .lexicon import LexiconEntry

LEXICON_VERSION = 2
WINDOW_SCALES = (0.67, 1.0, 1.33)
_KEYS = ("version", "layout", "labels", "languages", "paths", "audio", "features", "offsets", "scale")
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")
MOTION_SUFFIXES = (".npz", ".bvh")


@dataclass(frozen=True)
class Lexicon:
    """labels/languages/paths: (E,) per entry; features: E arrays (n_k, NUM_SIGN_FEATURES) at
    SIGN_FPS; scale: the confidence scale (module docstring); audio: (E,) each entry's recorded
    word ("" where the lexicon has none for its label)."""

    labels: tuple[str, ...]
    languages: tuple[str, ...]
    paths: tuple[str, ...]
    features: tuple[np.ndarray, ...]
    scale: float
    audio: tuple[str, ...] = ()

    def audio_of(self, label: str) -> str:
        """The recorded word of `label` ("" where none)."""
        for entry_label, audio in zip(self.labels, self.audio):
            if entry_label == label and audio:
                return audio
        return ""

    @property
    def lengths(self) -> np.ndarray:
        """(E,) entry lengths in frames at SIGN_FPS."""
        return np.array([len(f) for f in self.features], dtype=int)

    @property
    def label_order(self) -> list[str]:
        """The distinct labels, in first-entry order."""
        return list(dict.fromkeys(self.labels))


def clip_features(path: str | os.PathLike) -> SignFeatures:
    """The sign features of one lexicon clip or query file: a .pose read and fitted; a video
    through MediaPipe (core.capture.video); an .npz or .bvh read as SMPL-X motion. LayoutError
    naming the file for other kinds."""
    return run_steps(clip_feature_steps(Path(path)))


def clip_feature_steps(path: Path) -> Steps:
    """clip_features as steps (a video a few frames a step, for the Blender operator)."""
    from ..capture.fit import fit_landmarks

    suffix = path.suffix.lower()
    if suffix in MOTION_SUFFIXES:
        from ..retarget.reading import read_smplx_motion

        yield Progress(0, 1, f"reading {path.name}")
        return motion_sign_features(read_smplx_motion(path, None, warnings=[]))
    if suffix == ".pose":
        from ..formats.pose import read_pose_landmarks

        yield Progress(0, 1, f"reading {path.name}")
        landmarks = read_pose_landmarks(path)
    elif suffix in VIDEO_SUFFIXES:
        landmarks = yield from video_landmark_steps(Path(require_file(path)))
    else:
        raise LayoutError(path, f"cannot take sign features from {suffix or 'a file without a suffix'}: give MediaPipe "
                                f"landmarks in a .pose file, a video ({' '.join(VIDEO_SUFFIXES)}) or SMPL-X motion "
                                f"({' '.join(MOTION_SUFFIXES)})")
    return sign_features(fit_landmarks(landmarks))


def video_landmark_steps(path: Path, frames_per_step: int = 8) -> Steps:
    """A video's MediaPipe landmarks, `frames_per_step` frames a step (closing the steps
    closes the video)."""
    from ..capture.video import VideoLandmarkReader

    with VideoLandmarkReader(path) as reader:
        total, done = max(reader.num_frames, 1), 0
        while True:
            yield Progress(min(done, total), total, f"MediaPipe on {path.name}, frame {done + 1} of {total}")
            read = reader.read(frames_per_step)
            if read == 0:
                return reader.landmarks()
            done += read


def build_lexicon(entries: list[LexiconEntry]) -> Lexicon:
    """The lexicon of `entries`' clips (module docstring). Raises OptionError for no entries,
    LayoutError naming a clip of an unknown kind, of another layout, or with no hand found."""
    return run_steps(lexicon_build_steps(entries))


def lexicon_build_steps(entries: list[LexiconEntry]) -> Steps:
    """build_lexicon as steps, one or more per clip (Progress in clips)."""
    if not entries:
        raise OptionError("the lexicon is empty: give a folder of sign clips")
    features = []
    for k, entry in enumerate(entries):
        yield Progress(k, len(entries), f"lexicon clip {k + 1} of {len(entries)}: {entry.path.name}")
        f = yield from clip_feature_steps(entry.path)
        if f.num_found == 0:
            raise LayoutError(entry.path, "no hand is found in any frame: it cannot be a lexicon sign")
        features.append(f.values)
    yield Progress(len(entries), len(entries), "comparing the lexicon's signs with each other")
    labels = tuple(e.label for e in entries)
    return Lexicon(labels, tuple(e.language for e in entries), tuple(str(e.path) for e in entries),
                   tuple(features), lexicon_scale(labels, features),
                   tuple(str(e.audio) if e.audio else "" for e in entries))


def lexicon_scale(labels, features) -> float:
    """The median over entries of the DTW distance to the nearest entry of another label; 1.0
    where there is only one label."""
    labels = np.asarray(labels)
    if len(set(labels.tolist())) < 2:
        return 1.0
    nearest = []
    for k, f in enumerate(features):
        d = dtw_distances(f[None], list(features))[0]  # (E,)
        nearest.append(np.min(d[labels != labels[k]]))
    return float(max(np.median(nearest), 1e-6))


def save_lexicon(lexicon: Lexicon, path: str | os.PathLike) -> None:
    """Write `lexicon` to an .npz (module docstring for the layout)."""
    offsets = np.concatenate([[0], np.cumsum(lexicon.lengths)])
    np.savez(path, version=np.int64(LEXICON_VERSION), layout=np.str_(FEATURE_LAYOUT),
             labels=np.array(lexicon.labels, dtype=str), languages=np.array(lexicon.languages, dtype=str),
             paths=np.array(lexicon.paths, dtype=str),
             audio=np.array(lexicon.audio or ("",) * len(lexicon.labels), dtype=str), features=np.concatenate(lexicon.features, axis=0),
             offsets=offsets.astype(np.int64), scale=np.float64(lexicon.scale))


def load_lexicon(path: str | os.PathLike) -> Lexicon:
    """The lexicon saved in `path`; CorruptFileError for a file that is not an .npz, LayoutError
    for another version, feature layout or inconsistent shapes."""
    path = require_file(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CorruptFileError(path, f"is not a lexicon .npz ({exc})") from None
    with data:
        missing = [k for k in _KEYS if k not in data.files]
        if missing:
            raise LayoutError(path, f"is not a sign lexicon (no {', '.join(missing)}): build one with `spot --lexicon DIR`")
        version, layout = int(data["version"]), str(data["layout"])
        if version != LEXICON_VERSION or layout != FEATURE_LAYOUT:
            raise LayoutError(path, f"is a lexicon of version {version}, layout {layout!r}; this build reads version "
                                    f"{LEXICON_VERSION}, {FEATURE_LAYOUT!r}: rebuild it from its folder")
        labels, languages, paths, audio = (tuple(str(x) for x in data[k])
                                           for k in ("labels", "languages", "paths", "audio"))
        features, offsets, scale = data["features"], data["offsets"], float(data["scale"])
    E = len(labels)
    if (E == 0 or len(languages) != E or len(paths) != E or len(audio) != E or offsets.shape != (E + 1,) or features.ndim != 2
            or features.shape[1] != NUM_SIGN_FEATURES or offsets[0] != 0 or offsets[-1] != len(features)
            or np.any(np.diff(offsets) <= 0) or not np.isfinite(scale) or scale <= 0):
        raise LayoutError(path, "the lexicon's entries, offsets and features do not agree: rebuild it from its folder")
    rows = tuple(np.asarray(features[offsets[k]:offsets[k + 1]], dtype=np.float64) for k in range(E))
    return Lexicon(labels, languages, paths, rows, scale, audio)


def default_windowing(lexicon: Lexicon) -> tuple[int, int]:
    """(window, hop) in rows at SIGN_FPS: the median entry length and a quarter of it."""
    window = max(int(round(float(np.median(lexicon.lengths)))), 1)
    return window, max(window // 4, 1)


def sliding_windows(values: np.ndarray, window: int, hop: int) -> np.ndarray:
    """(W, window, F) windows of the (N, F) rows, window i from row i * hop; a query shorter
    than `window` gives one window of all of it."""
    n = len(values)
    if n <= window:
        return values[None]
    starts = np.arange(0, n - window + 1, hop)
    return values[starts[:, None] + np.arange(window)[None, :]]


def dtw_distances(windows: np.ndarray, entries: list[np.ndarray], chunk: int = 64) -> np.ndarray:
    """(W, E) path-length-normalised DTW distances between each of the (W, n, F) windows and each
    (m_k, F) entry (module docstring); `chunk` windows at a time bound the memory."""
    W, n, F = windows.shape
    lengths = np.array([len(e) for e in entries])
    padded = np.zeros((len(entries), int(lengths.max()), F))
    for k, e in enumerate(entries):
        padded[k, : len(e)] = e
    return np.concatenate([_dtw_chunk(windows[s:s + chunk], padded, lengths) for s in range(0, W, chunk)])


def _dtw_chunk(windows: np.ndarray, padded: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    W, n, _ = windows.shape
    E, m, _ = padded.shape
    # (W, E, n, m) Euclidean local costs by |a|^2 + |b|^2 - 2 a.b (no (.., F) difference tensor).
    sq = (np.sum(windows ** 2, -1)[:, None, :, None] + np.sum(padded ** 2, -1)[None, :, None, :]
          - 2.0 * np.einsum("wnf,emf->wenm", windows, padded))
    cost = np.sqrt(np.maximum(sq, 0.0))
    acc = np.empty((W, E, n, m))
    steps = np.empty((W, E, n, m))
    acc[:, :, 0] = np.cumsum(cost[:, :, 0], axis=-1)
    steps[:, :, 0] = np.arange(1, m + 1)
    acc[:, :, :, 0] = np.cumsum(cost[:, :, :, 0], axis=-1)
    steps[:, :, :, 0] = np.arange(1, n + 1)
    for i in range(1, n):
        for j in range(1, m):
            cands = np.stack([acc[:, :, i - 1, j - 1], acc[:, :, i - 1, j], acc[:, :, i, j - 1]])
            cand_steps = np.stack([steps[:, :, i - 1, j - 1], steps[:, :, i - 1, j], steps[:, :, i, j - 1]])
            best = np.argmin(cands, axis=0)[None]
            acc[:, :, i, j] = np.take_along_axis(cands, best, 0)[0] + cost[:, :, i, j]
            steps[:, :, i, j] = np.take_along_axis(cand_steps, best, 0)[0] + 1
    e_idx = np.arange(E)
    last = lengths - 1
    return acc[:, e_idx, n - 1, last] / steps[:, e_idx, n - 1, last]


def window_confidences(query: np.ndarray, lexicon: Lexicon, window: int, hop: int,
                       scales: tuple[float, ...] = WINDOW_SCALES) -> dict[str, np.ndarray]:
    """Per label, (W,) confidences exp(-d / scale) of the windows over the (N, F) `query` rows:
    for window i the best over its label's entries and over the window `scales` (window i's
    span shrunk or grown about its centre, clipped to the query); empty for an empty query."""
    if window < 1 or hop < 1:
        raise OptionError(f"window and hop must be at least one frame, got {window} and {hop}")
    query = np.asarray(query, dtype=np.float64)
    if len(query) == 0:
        return {label: np.zeros(0) for label in lexicon.label_order}
    n = len(query)
    starts = np.arange(0, n - window + 1, hop) if n > window else np.zeros(1, dtype=int)
    entries = list(lexicon.features)
    best = np.zeros((len(starts), len(entries)))
    for s in scales:
        length = min(max(int(round(window * s)), 1), n)
        # Centred on window i's centre, kept inside the query.
        scaled = np.clip(starts + (min(window, n) - length) // 2, 0, n - length)
        rows = query[scaled[:, None] + np.arange(length)[None, :]]
        best = np.maximum(best, np.exp(-dtw_distances(rows, entries) / lexicon.scale))  # (W, E)
    labels = np.asarray(lexicon.labels)
    return {label: best[:, labels == label].max(axis=1) for label in lexicon.label_order}
