"""Tokens exported for language-model work, and read back: `.json`, `.jsonl` and `.npy`.

An export holds what a tokens file (core/formats/tokens.py) holds, in files any language
reads: each part's tokens, the codec and codebook that made them, the rates, and (unless
exported tokens-only) the side information decoding keeps from the motion (the root, the
translation, the uncoded joints and expressions, the body shape), so reading an export and
decoding it gives the motion the tokens file decodes to. Version 1.

The header H, common to the three formats (a JSON object):

    {"format": "motion-tokens", "version": 1,
     "source": "take",                  the motion's name
     "fps": 30.0, "num_frames": 150,    the motion's frame rate and frames (the codecs' rate)
     "parts": {"body": {"codec": "rqvae4-6", "sha256": "<64 hex: the bundle's weights>",
                        "family": "rqvae4", "size": {"D": 64, "Q": 4},  (or {"k": 64})
                        "token_fps": 7.5, "shape": [38, 4]}, ...},     (or [150] for k)
     "seam_frames": [],                 frames where generated windows met (decoding smooths them)
     "carried": null | {"joints": [0, 23, 24], "expressions": [16, 100] | null, "width": 96,
                        "betas": [...] | null, "gender": "neutral" | null}}

Parts come in the tokens file's order (body, hands, face). A part of T_p = ceil(num_frames x
token_fps / fps) rows has tokens of shape (T_p,) for a k-means codebook (integers in [0, k))
or (T_p, Q) for a residual one (Q levels, each in [0, D)); row i is at time i / token_fps
seconds. `carried` says what one frame of side information holds, `width` float32 values in
this order: the axis-angle rotations (3 each) of `joints` (the SMPL-X joints no part codes),
the translation (3, metres, Y up), the expression coefficients [first, stop) (those no part
codes); null when exported tokens-only (decoding then puts the root at the origin, at rest).
Floats are written as the shortest decimal that reads back as the same float32.

- `.json`: one object, H plus `"tokens": {part: nested lists of the part's shape}` and, when
  `carried` is not null, `"carried_frames"`: num_frames lists of `width` numbers.
- `.jsonl` (streaming: one record a line, nothing to hold whole): line 1 is H; then, sorted
  by time and at one time side information first, then the parts in H's order:
  `{"time": s, "frame": i, "carried": [width numbers]}` for each motion frame (when carried),
  `{"time": s, "part": "body", "frame": i, "tokens": [...]}` for each row of each part's
  tokens, `tokens` always a list (one token for a (T_p,) part, Q for (T_p, Q)). A reader may
  take the records in any order; each must be there once, at its own time (i / token_fps).
- `.npy` (`OUT.npy` and its header `OUT.npy.json`): one `.npy` holds one array, and an export
  holds several parts (rows of different rates and widths) and text, so the tokens go in one
  int32 array of the JSONL's token records, (R, 2 + L): each row `[part, frame, token_0, ...,
  token_L-1]`, part the index into H's parts, L the most tokens a row of any part has, a
  part's unused columns -1, rows in the JSONL's order; the sidecar `OUT.npy.json` holds H
  plus `carried_frames` as in `.json`. One memory-mappable, object-free array (no pickle;
  read with `allow_pickle=False`) in the order a language model reads the tokens.

Reading checks the layout and names what is wrong and where (LayoutError; CorruptFileError
for a file that does not parse): a missing header, another version, a part not in the
header or unknown, a token that is not an integer or outside its codebook's range, shapes
that disagree with the header, a record missing, repeated or at the wrong time.
"""

from __future__ import annotations

import heapq
import io
import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, LayoutError, OutputError, require_file
from .atomic import write_atomically
from .token_export_header import (
    Header,
    carried_frames,
    carried_of,
    float_array,
    header_of,
    integer,
    parse_header,
    require_part,
    shortest_floats,
    check_token_range,
    time_problem,
    token_array,
    tokens_file_of,
)
from .tokens import TokensFile

EXPORT_SUFFIXES = (".json", ".jsonl", ".npy")


@dataclass(frozen=True)
class TokenExport:
    """An export read back: `tokens_file` the in-memory tokens file (path the export; its
    template the carried side information, or a neutral motion), and whether the export
    carried side information."""

    tokens_file: TokensFile
    carries_side_information: bool


def npy_header_path(path: str | os.PathLike) -> Path:
    """The sidecar header of the `.npy` export at `path`: `OUT.npy.json`."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def export_files(path: str | os.PathLike) -> list[Path]:
    """The files an export at `path` consists of (the .npy and its header for .npy)."""
    path = Path(path)
    return [path, npy_header_path(path)] if path.suffix.lower() == ".npy" else [path]


def write_token_export(path: str | os.PathLike, tokens_file: TokensFile, with_side_information: bool = True) -> list[Path]:
    """Write `tokens_file` as the export at `path`, its suffix the format (module docstring),
    each file atomically; the files written. OutputError for another suffix or an unwritable
    path; LayoutError naming the tokens file when it records no codebook for a part."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise OutputError(f"{path}: unknown tokens export type {suffix or '(no suffix)'!r}; use one of "
                          f"{', '.join(EXPORT_SUFFIXES)}")
    header = header_of(tokens_file, with_side_information)
    frames = None
    if with_side_information:
        frames = shortest_floats(carried_frames(tokens_file, carried_of(tokens_file)))
    if suffix == ".jsonl":
        write_atomically(path, lambda f: _write_jsonl(f, header, tokens_file, frames))
        return [path]
    extra = {} if frames is None else {"carried_frames": frames}
    if suffix == ".json":
        tokens = {part: t.tolist() for part, t in tokens_file.tokens.items()}
        write_atomically(path, lambda f: f.write(_json_line({**header, "tokens": tokens, **extra})))
        return [path]
    sidecar = npy_header_path(path)
    records = _records_array(header, tokens_file)
    write_atomically(path, lambda f: np.save(f, records, allow_pickle=False))
    write_atomically(sidecar, lambda f: f.write(_json_line({**header, **extra})))
    return [path, sidecar]


def read_token_export(path: str | os.PathLike) -> TokenExport:
    """The export at `path` (.json, .jsonl, or .npy with its `.npy.json` header), checked.
    Raises MissingFileError, CorruptFileError (not JSON, not an .npy, truncated) or
    LayoutError (what the module docstring lists) naming the file at fault."""
    path = Path(require_file(path))
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl(path)
    if suffix == ".json":
        obj = _json_object(path)
        header = parse_header(path, obj)
        tokens = _tokens_object(path, obj.get("tokens"), header)
        return _export(path, header, _frames(path, obj, header), tokens)
    if suffix == ".npy":
        return _read_npy(path)
    raise LayoutError(path, f"is not a tokens export: its suffix {suffix or '(none)'!r} is not one of "
                      f"{', '.join(EXPORT_SUFFIXES)}")


def _export(path: Path, header: Header, frames, tokens) -> TokenExport:
    return TokenExport(tokens_file_of(path, header, tokens, frames), header.carried is not None)


# --- writing ----------------------------------------------------------------------------------


def _json_line(obj) -> bytes:
    return (json.dumps(obj, allow_nan=False) + "\n").encode("utf-8")


def _sorted_rows(header: dict, tokens_file: TokensFile, with_carried: bool):
    """(time, order, frame, part or None) of every record, sorted by time (exactly, as
    fractions: 7.5 rows a second meet 30 frames a second at 4 frames) then order: side
    information first, then the parts in the header's order."""
    def rows(order, part, count, rate):
        rate = Fraction(rate)
        return ((Fraction(i) / rate, order, i, part) for i in range(count))

    streams = [rows(i + 1, part, len(t), tokens_file.fps_of(part)) for i, (part, t) in enumerate(tokens_file.tokens.items())]
    if with_carried:
        streams.insert(0, rows(0, None, header["num_frames"], header["fps"]))
    return heapq.merge(*streams)


def _write_jsonl(f: io.BufferedWriter, header: dict, tokens_file: TokensFile, frames) -> None:
    f.write(_json_line(header))
    lists = {part: t.reshape(len(t), -1).tolist() for part, t in tokens_file.tokens.items()}
    for time, _, frame, part in _sorted_rows(header, tokens_file, frames is not None):
        if part is None:
            record = {"time": float(time), "frame": frame, "carried": frames[frame]}
        else:
            record = {"time": float(time), "part": part, "frame": frame, "tokens": lists[part][frame]}
        f.write(_json_line(record))


def _records_array(header: dict, tokens_file: TokensFile) -> np.ndarray:
    """(R, 2 + L) int32: the JSONL's token records as rows [part index, frame, tokens, -1...]."""
    parts = list(tokens_file.tokens)
    rows2d = {part: t.reshape(len(t), -1) for part, t in tokens_file.tokens.items()}
    width = max(t.shape[1] for t in rows2d.values())
    order = [(parts.index(part), frame) for _, _, frame, part in _sorted_rows(header, tokens_file, False)]
    records = np.full((len(order), 2 + width), -1, dtype=np.int32)
    for r, (p, frame) in enumerate(order):
        row = rows2d[parts[p]][frame]
        records[r, :2 + len(row)] = (p, frame, *row)
    return records


# --- reading ----------------------------------------------------------------------------------


def _json_object(path: Path):
    """The JSON document in the file at `path`; CorruptFileError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptFileError(path, f"is not UTF-8 text (byte {exc.start}): not a tokens export") from None
    except json.JSONDecodeError as exc:
        raise CorruptFileError(path, f"is not valid JSON (truncated or damaged?): {exc.msg} at line {exc.lineno} "
                               f"column {exc.colno}") from None


def _json_line_object(path: Path, n: int, line: bytes):
    """The JSON record on line `n` of the JSONL file at `path`; CorruptFileError naming both."""
    try:
        return json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise CorruptFileError(path, f"line {n} is not UTF-8 text (byte {exc.start}): not a tokens export") from None
    except json.JSONDecodeError as exc:
        raise CorruptFileError(path, f"line {n} is not valid JSON (truncated or damaged?): {exc.msg} at column "
                               f"{exc.colno}") from None


def _tokens_object(path: Path, tokens, header: Header) -> dict[str, np.ndarray]:
    """The `tokens` object of a .json export, each part checked against its header entry."""
    if not isinstance(tokens, dict):
        raise LayoutError(path, "`tokens` must be an object with the tokens of each part of the header")
    for part in tokens:
        require_part(path, part, "`tokens`")
        if part not in header.parts:
            raise LayoutError(path, f"missing part header: `tokens` holds the {part} but the header has no `parts.{part}`")
    missing = [p for p in header.parts if p not in tokens]
    if missing:
        raise LayoutError(path, f"`tokens` has no {missing[0]} tokens, which the header's `parts` lists")
    return {part: token_array(path, tokens[part], part, entry, "`tokens`") for part, entry in header.parts.items()}


def _frames(path: Path, obj: dict, header: Header) -> np.ndarray | None:
    """The (T, width) carried side information of a .json export (or an .npy's header)."""
    if header.carried is None:
        return None
    if "carried_frames" not in obj:
        raise LayoutError(path, "the header's `carried` describes side information but there is no `carried_frames`")
    return float_array(path, obj["carried_frames"], (header.num_frames, header.carried.width), "`carried_frames`")


def _read_jsonl(path: Path) -> TokenExport:
    with open(path, "rb") as f:  # a line at a time: an export of a long take is never held whole
        lines = ((n, raw) for n, raw in enumerate(f, start=1) if raw.strip())
        first = next(lines, None)
        if first is None:
            raise LayoutError(path, "missing header: the file holds no lines")
        header = _jsonl_header(path, *first)
        collected = _Collected(path, header)
        for n, line in lines:
            collected.add(n, _json_line_object(path, n, line))
    return _export(path, header, collected.frames, collected.tokens())


def _jsonl_header(path: Path, n: int, line: bytes) -> Header:
    first = _json_line_object(path, n, line)
    if isinstance(first, dict) and "format" not in first and ("tokens" in first or "carried" in first):
        raise LayoutError(path, f"missing header: line {n} is a record, but a tokens export's first line is its "
                          "header (format, version, fps, num_frames, parts)")
    return parse_header(path, first, f"line {n}")


class _Collected:
    """The records of a JSONL export gathered into arrays, each checked as it comes."""

    def __init__(self, path: Path, header: Header):
        self.path, self.header = path, header
        self.rows = {p: np.full((e.shape[0], e.levels), -1, dtype=np.int64) for p, e in header.parts.items()}
        self.seen = {p: np.zeros(e.shape[0], dtype=bool) for p, e in header.parts.items()}
        carried = header.carried
        self.frames = None if carried is None else np.zeros((header.num_frames, carried.width), dtype=np.float32)
        self.frames_seen = np.zeros(header.num_frames, dtype=bool)

    def add(self, n: int, record) -> None:
        path, where = self.path, f"line {n}"
        if not isinstance(record, dict) or "format" in record:
            what = "a second header" if isinstance(record, dict) else "not a record (an object)"
            raise LayoutError(path, f"{where} is {what}; after the header each line is one record")
        if "carried" in record:
            self._add_carried(where, record)
        elif "part" in record:
            part = require_part(path, record["part"], where)
            entry = self.header.parts.get(part)
            if entry is None:
                raise LayoutError(path, f"missing part header: {where} is a {part} record but the header has no "
                                  f"`parts.{part}`")
            frame = self._frame(where, record, part, entry.shape[0], entry.time_of)
            tokens = record.get("tokens")
            if not (isinstance(tokens, list) and len(tokens) == entry.levels
                    and all(isinstance(t, int) and not isinstance(t, bool) for t in tokens)):
                raise LayoutError(path, f"{where}: `tokens` must be a list of {entry.levels} integer(s) (the "
                                  f"{part}'s shape is {list(entry.shape)}), got {tokens!r}")
            row = np.asarray(tokens, dtype=np.int64)[None]
            check_token_range(path, row, part, entry, where)
            self.rows[part][frame] = row[0]
        else:
            raise LayoutError(path, f"{where} is neither a token record (time, part, frame, tokens) nor a side "
                              "information record (time, frame, carried)")

    def _add_carried(self, where: str, record: dict) -> None:
        carried = self.header.carried
        if carried is None:
            raise LayoutError(self.path, f"{where} carries side information but the header's `carried` is null")
        frame = self._frame(where, record, None, self.header.num_frames, lambda i: i / self.header.fps)
        self.frames[frame] = float_array(self.path, record["carried"], (carried.width,), f"{where}: `carried`")

    def _frame(self, where: str, record: dict, part: str | None, count: int, time_of) -> int:
        frame = integer(self.path, record.get("frame"), f"{where}: `frame`", 0, count - 1)
        seen = self.frames_seen if part is None else self.seen[part]
        of = "side information" if part is None else f"{part} tokens"
        if seen[frame]:
            raise LayoutError(self.path, f"{where} repeats frame {frame} of the {of}")
        if time_problem(record.get("time"), time_of(frame)):
            raise LayoutError(self.path, f"{where}: `time` is {record.get('time')!r} but frame {frame} of the {of} is "
                              f"at {time_of(frame):.6f} s")
        seen[frame] = True
        return frame

    def tokens(self) -> dict[str, np.ndarray]:
        """Each part's tokens, every row there (LayoutError naming the first missing one)."""
        if self.frames is not None and not self.frames_seen.all():
            raise LayoutError(self.path, f"has no side information record of frame {int(np.argmin(self.frames_seen))} "
                              f"(of {self.header.num_frames}): truncated?")
        for part, seen in self.seen.items():
            if not seen.all():
                raise LayoutError(self.path, f"has no record of row {int(np.argmin(seen))} of the {part} tokens (of "
                                  f"{len(seen)}): truncated?")
        return {p: rows.reshape(self.header.parts[p].shape).astype(np.int32) for p, rows in self.rows.items()}


def _read_npy(path: Path) -> TokenExport:
    sidecar = npy_header_path(path)
    if not sidecar.is_file():
        raise LayoutError(path, f"missing header: its sidecar {sidecar.name} is not there (an .npy tokens export is the "
                          "array and OUT.npy.json beside it)")
    obj = _json_object(sidecar)
    header = parse_header(sidecar, obj)
    frames = _frames(sidecar, obj, header)
    try:
        records = np.load(path, allow_pickle=False)
    except ValueError as exc:  # object arrays (pickles) are refused, truncated files fail to reshape
        raise CorruptFileError(path, f"is not a tokens array (.npy of integers): {exc}") from None
    except (OSError, EOFError) as exc:
        raise CorruptFileError(path, f"cannot be read as an .npy file: {exc}") from None
    return _export(path, header, frames, _npy_tokens(path, records, header))


def _npy_tokens(path: Path, records, header: Header) -> dict[str, np.ndarray]:
    """Each part's tokens from the (R, 2 + L) records array, checked."""
    parts = list(header.parts.items())
    width = 2 + max(e.levels for _, e in parts)
    if not isinstance(records, np.ndarray) or records.ndim != 2 or records.shape[1] != width:
        shape = getattr(records, "shape", None)
        raise LayoutError(path, f"holds an array of shape {shape}; the header's parts make rows of {width} "
                          "(part, frame, tokens)")
    if records.dtype.kind not in "iu":
        raise LayoutError(path, f"holds {records.dtype} values; a tokens array holds integers")
    index = records[:, 0]
    if len(index) and (index.min() < 0 or index.max() >= len(parts)):
        bad = int(index[(index < 0) | (index >= len(parts))][0])
        raise LayoutError(path, f"a row names part {bad} (column 0) but the header has {len(parts)} parts: unknown part")
    tokens = {}
    for p, (part, entry) in enumerate(parts):
        rows = records[index == p]
        frames = rows[:, 1]
        if not np.array_equal(np.sort(frames), np.arange(entry.shape[0])):
            raise LayoutError(path, f"the {part} rows (part {p}) must hold frames 0-{entry.shape[0] - 1} once each, got "
                              f"{len(frames)} rows")
        if (rows[:, 2 + entry.levels:] != -1).any():
            raise LayoutError(path, f"the {part} rows (part {p}) hold more than {entry.levels} token(s); the unused "
                              "columns are -1")
        part_tokens = rows[np.argsort(frames), 2:2 + entry.levels].reshape(entry.shape)
        check_token_range(path, part_tokens, part, entry, "the array")
        tokens[part] = part_tokens.astype(np.int32)
    return tokens
