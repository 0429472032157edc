"""Lexicon folders: labelled reference clips of isolated signs (issue #17).

A lexicon is a folder of clips, one sign each: `.pose` (MediaPipe Holistic landmarks), video
(`.mp4 .mov .m4v .avi .mkv .webm`), `.npz` (SMPL-X motion) or `.bvh`. Each clip's label comes from

- an `index.csv` in the folder, laid out like the shared fingerspelling index
  (`path,spoken_language,signed_language,start,end,words,glosses,priority`; only `path` and
  `words` are required): the label is the `words` column, the language `signed_language`
  (empty where the column is absent), `path` relative to the folder holding the index;
- else an `index.csv` in the parent folder that lists clips of this folder (the fingerspelling
  layout: `fingerspelling/index.csv` with one sub-folder per signed language): its rows for this
  folder's clips, as above;
- else the file name without its suffix (`A.pose` -> label "A"), language "" (or `language`).

A label may have a recorded word, `LABEL.wav` (or .flac, .ogg, .mp3), in the clip's folder or
in the lexicon folder: what the spot job speaks for a detection of that label (`entry.audio`).

`lexicon_entries` only lists; it does not read the clips: a clip's own layout (e.g. a `.pose`
that is not Holistic) is checked, with its own error, when features are built from it.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import CorruptFileError, InputFileError, LayoutError, MissingFileError

CLIP_SUFFIXES = (".pose", ".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".npz", ".bvh")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
INDEX_NAME = "index.csv"
REQUIRED_COLUMNS = ("path", "words")


@dataclass(frozen=True)
class LexiconEntry:
    """One reference clip: its `label` (sign / word), `path` to the clip, signed `language`
    ("" where unknown), `audio`: its label's recorded word (None where there is none)."""

    label: str
    path: Path
    language: str
    audio: Path | None = None


def lexicon_entries(folder: str | os.PathLike, language: str | None = None) -> list[LexiconEntry]:
    """The lexicon's entries, in index order (or sorted by file name without an index).

    `language` keeps only index rows of that signed language (and is the language given to
    entries labelled by file name). Raises MissingFileError (no such folder, an index row naming
    a missing clip), LayoutError (an index without `path`/`words`, an empty label, a clip of an
    unknown kind, no clips at all) or CorruptFileError (an index that is not CSV text)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(folder, "no such lexicon folder")
    index = folder / INDEX_NAME
    if index.is_file():
        entries = _indexed_entries(index, folder, language, within=None)
    elif (folder.parent / INDEX_NAME).is_file() and _lists_clips_of(folder.parent / INDEX_NAME, folder):
        entries = _indexed_entries(folder.parent / INDEX_NAME, folder.parent, language, within=folder)
    else:
        entries = _named_entries(folder, language or "")
    if not entries:
        what = f" of signed language {language!r}" if language else ""
        raise LayoutError(folder, f"the lexicon holds no clips{what} ({' '.join(CLIP_SUFFIXES)})")
    return [replace(e, audio=label_audio(e.label, (e.path.parent, folder))) for e in entries]


def label_audio(label: str, folders) -> Path | None:
    """The first `label` + AUDIO_SUFFIXES file in `folders`, or None."""
    for folder in folders:
        for suffix in AUDIO_SUFFIXES:
            candidate = Path(folder) / f"{label}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def _named_entries(folder: Path, language: str) -> list[LexiconEntry]:
    """Entries labelled by file name; other files (LICENSE, README, audio) are not clips."""
    clips = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES)
    return [LexiconEntry(p.stem, p, language) for p in clips]


def _index_rows(index: Path) -> list[dict[str, str]]:
    """The index's rows, or LayoutError/CorruptFileError naming what is wrong with it."""
    try:
        with open(index, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise LayoutError(index, f"not a lexicon index: it lacks the column(s) {', '.join(missing)} "
                                  f"(found {', '.join(columns) or 'none'}; needs path,words[,signed_language])")
            return list(reader)
    except UnicodeDecodeError:
        raise CorruptFileError(index, "not a CSV text file (not UTF-8)") from None
    except csv.Error as exc:
        raise CorruptFileError(index, f"not a readable CSV file ({exc})") from None


def _lists_clips_of(index: Path, folder: Path) -> bool:
    """Whether the parent's index names files inside `folder` (the one-folder-per-language layout)."""
    try:
        rows = _index_rows(index)
    except InputFileError:
        return False  # not ours to judge: the folder is then read by file names
    return any((index.parent / row["path"]).parent.resolve() == folder.resolve() for row in rows if row.get("path"))


def _indexed_entries(index: Path, root: Path, language: str | None, within: Path | None) -> list[LexiconEntry]:
    entries = []
    for line, row in enumerate(_index_rows(index), start=2):  # line 1 is the header
        rel = (row.get("path") or "").strip()
        lang = (row.get("signed_language") or "").strip()
        label = (row.get("words") or "").strip()
        if not rel:
            raise LayoutError(index, f"line {line}: empty path")
        path = root / rel
        if within is not None and path.parent.resolve() != within.resolve():
            continue
        if language is not None and lang != language:
            continue
        if not label:
            raise LayoutError(index, f"line {line}: empty words (the label) for {rel}")
        if path.suffix.lower() not in CLIP_SUFFIXES:
            raise LayoutError(index, f"line {line}: {rel} is not a lexicon clip ({' '.join(CLIP_SUFFIXES)})")
        if not path.is_file():
            raise MissingFileError(path, f"listed in {index} (line {line}) but not found")
        entries.append(LexiconEntry(label, path, lang))
    return entries
