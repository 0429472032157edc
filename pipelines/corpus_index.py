"""The index of a tokenised corpus: `OUT_DIR/index.jsonl`, one JSON object a line, one line
per input file (pipelines.encode_corpus).

JSON Lines rather than CSV: a row holds nested values (token rows per part, each part's
bundle and sha256, the reading notes) that CSV would flatten into a column per part; each line
is a complete record, so the job appends a line as each file is finished and a run that is
killed keeps every line but maybe a torn last one, which reading drops; and it is what
language-model data tools read directly (`datasets.load_dataset("json", ...)`, pandas
`read_json(lines=True)`). A row:

    {"source": "dataset-2/walk_001.bvh", "output": "dataset-2/walk_001.npz", "status": "done",
     "reason": null, "root": "/data/bandai", "size": 300222, "mtime_ns": 1733140980000000000,
     "sha256": "9f2c...", "frames": 244, "fps": 30.0, "token_fps": 30.0,
     "token_frames": {"body": 244, "hands": 244, "face": 244}, "codec": "kmeans-6",
     "codecs": {"body": {"bundle": "kmeans-6-body", "sha256": "..."}, ...},
     "warnings": ["units: ... read as cm"], "seconds": 0.21}

`source` is the path relative to the folder it was found in (`root`; a file named on the
command line: its name, root its folder); `output` is relative to the index's folder, the same
relative path with `.npz`. `frames` and `fps` are the input's own, `token_frames` the rows of
tokens per part at `token_fps` (30; rqvae4: a row per 4 frames at their own rate, 7.5).
`status`: `done` (encoded by this run), `skipped` (up to date from an earlier run: the
row is the one that run wrote), `failed` (`reason`: the one-line error; the other fields
but `source`, `output`, `root`, `size` and `mtime_ns` are null). `size` and `mtime_ns` of the
input and each part's bundle sha256 decide whether an output is up to date
(`is_up_to_date`); `sha256` of the input is provenance (to find duplicates in a corpus).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.formats.atomic import write_atomically

INDEX_NAME = "index.jsonl"
STATUSES = ("done", "skipped", "failed")
#: Every row's keys, in the order written.
ROW_KEYS = ("source", "output", "status", "reason", "root", "size", "mtime_ns", "sha256", "frames", "fps",
            "token_fps", "token_frames", "codec", "codecs", "warnings", "seconds")
#: What a row must have to be used: a file someone else named index.jsonl is not ours.
_REQUIRED = ("source", "output", "status", "size", "mtime_ns")


def index_path(out_dir: str | os.PathLike) -> Path:
    """The index file of the corpus output folder `out_dir`."""
    return Path(out_dir) / INDEX_NAME


def read_index_rows(path: str | os.PathLike, warnings: list[str]) -> dict[str, dict]:
    """output -> the last row for it in the index at `path` ({} when there is none). A line
    that is not a row (torn by a killed run, edited by hand) is left out with a warning: its
    file is then encoded again, never counted as done."""
    path = Path(path)
    if not path.is_file():
        return {}
    rows: dict[str, dict] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if not isinstance(row, dict) or any(key not in row for key in _REQUIRED) or row["status"] not in STATUSES:
                warnings.append(f"{path}: line {number} is not an index row (a torn or edited line); left out, "
                                "so its file is encoded again")
                continue
            rows[str(row["output"])] = row
    return rows


def is_up_to_date(row: dict | None, source: str, size: int, mtime_ns: int, codecs: dict, output: Path) -> bool:
    """Whether the earlier `row` still stands for this input: it was encoded (done or skipped)
    from the same relative `source`, of the same size and modification time, by the same
    bundles (`codecs`: part -> {"bundle", "sha256"}), and its `output` file is still there.
    The modification time, as make and rsync use it, so touching a file encodes it again."""
    return (row is not None and row["status"] in ("done", "skipped") and row["source"] == source
            and row["size"] == size and row["mtime_ns"] == mtime_ns and row.get("codecs") == codecs
            and output.is_file())


def _line(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n"


def write_index_rows(path: str | os.PathLike, rows: list[dict]) -> Path:
    """Write `rows` as the whole index at `path`, atomically (a reader never sees half)."""
    text = "".join(_line(row) for row in rows).encode("utf-8")
    return write_atomically(path, lambda f: f.write(text))


class IndexAppender:
    """The index open for appending: `append(row)` writes one line and flushes it, so the rows
    of a killed run's finished files survive it (their outputs were written atomically first)."""

    def __init__(self, path: str | os.PathLike):
        self._file = open(path, "a", encoding="utf-8")

    def append(self, row: dict) -> None:
        self._file.write(_line(row))
        self._file.flush()

    def close(self) -> None:
        self._file.close()
