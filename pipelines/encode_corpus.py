"""The corpus encode job: every motion file under folders (and the files named) coded with one
codec into a tokens file each, by a pool of processes, resumable, with an index: how a corpus
is prepared for a language model on motion tokens.

    result = run_steps(encode_corpus_steps(CorpusOptions(["bandai/"], "kmeans-6", Path("tokens"), jobs=2)))

Inputs are files (.npz, .bvh) and folders, searched recursively (hidden files and folders left
out: editors' and macOS's `._x.bvh` are not motion). Each output mirrors its input's path
relative to the folder it was found in (a file named: its name): `bandai/dataset-2/x.bvh` ->
`tokens/dataset-2/x.npz`, the tokens file `encode` writes for one file (the same tokens and
decoded motion; the joint position error encode prints is not measured here, it would double
the time). Every output is planned before anything is read: two inputs writing one output,
an output folder inside an input folder (its tokens files would be read as motion next time)
and an output onto an input are refused (OutputError, the command's exit 2).

Resuming: a file whose output exists and whose index row (pipelines.corpus_index) records the
same size and modification time and the same bundles' sha256 is skipped. Outputs are written
atomically and a row is appended only once its output is complete, so a killed run never
counts a half file as done. A file that cannot be read or coded is listed failed with its
one-line reason and the rest goes on; an output that cannot be written stops the job.

Processes: `jobs` 1 codes in this process; more start a ProcessPoolExecutor with the 'spawn'
context (fork would copy this process's threads and locks, and inside Blender the whole
Blender; spawn behaves the same on every OS), each worker loading and verifying the codecs once
(its initializer), the largest files sent first so the last to finish is a small one.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..core.codecs.coding import encode_parts_steps, load_codecs, write_encoded
from ..core.codecs.registry import installed_parts
from ..core.errors import InputFileError, MissingFileError, MotionTokensError, OptionError, OutputError
from ..core.formats import MOTION_SUFFIXES
from ..core.retarget import read_smplx_motion
from ..core.steps import Progress, Steps, run_steps
from .corpus_index import ROW_KEYS, IndexAppender, index_path, is_up_to_date, read_index_rows, write_index_rows
from .outputs import same_file


@dataclass(frozen=True)
class CorpusOptions:
    """inputs: motion files and folders; codec: a name such as kmeans-6, used for every part it
    has a bundle for; out_dir: the folder the tokens files and index.jsonl go in (made if
    missing); jobs: processes coding at once; models_dir: None for the extension's models/."""

    inputs: tuple
    codec: str
    out_dir: Path
    jobs: int = 1
    models_dir: str | os.PathLike | None = None


@dataclass(frozen=True)
class PlannedFile:
    """One input and its output: root the folder it was found in, rel its path from there
    (posix), output_rel the output's path relative to the output folder."""

    source: Path
    root: Path
    rel: str
    output: Path
    output_rel: str


@dataclass
class CorpusResult:
    """rows: the index rows of this run's inputs, in input order; failed: those that failed;
    frames and seconds: the input frames encoded by this run and the time it took."""

    rows: list[dict]
    lines: list[str]
    warnings: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    frames: int = 0
    seconds: float = 0.0


def is_corpus(inputs, out) -> bool:
    """Whether `encode INPUTS --out OUT` is a corpus job: several inputs, a folder among them,
    or an existing folder as OUT; else it is the one-file encode (pipelines.encode)."""
    return len(inputs) > 1 or any(Path(p).is_dir() for p in inputs) or Path(out).is_dir()


def motion_files_under(folder: Path) -> list[Path]:
    """The motion files (MOTION_SUFFIXES) under `folder`, sorted, hidden files and folders left out."""
    found = []
    for parent, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        found += [Path(parent) / name for name in sorted(names)
                  if not name.startswith(".") and Path(name).suffix.lower() in MOTION_SUFFIXES]
    return found


def _found_inputs(inputs) -> list[tuple[Path, Path, str]]:
    """(file, root, relative path) of every input file, each file once; MissingFileError for a
    missing input or a folder without motion files, InputFileError for a file that is not one."""
    found, seen = [], set()
    for given in map(Path, inputs):
        if given.is_dir():
            files = motion_files_under(given)
            if not files:
                kinds = " or ".join(MOTION_SUFFIXES)
                raise MissingFileError(given, f"no motion files ({kinds}) in this folder or below")
            entries = [(f, given, f.relative_to(given).as_posix()) for f in files]
        elif given.is_file():
            if given.suffix.lower() not in MOTION_SUFFIXES:
                raise InputFileError(given, f"is not a motion file; motion files are {' or '.join(MOTION_SUFFIXES)}")
            entries = [(given, given.parent, given.name)]
        else:
            raise MissingFileError(given, "no such file or folder")
        for entry in entries:
            key = entry[0].resolve()
            if key not in seen:  # a file named and inside a folder named: coded once
                seen.add(key)
                found.append(entry)
    return found


def _refuse_out_dir(out_dir: Path, inputs) -> None:
    """OutputError when `out_dir` is a file, or is (inside) an input folder."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: is a file; with several inputs or a folder, --out is the folder the tokens "
                          "files go in")
    resolved = out_dir.resolve()
    for folder in (Path(p) for p in inputs if Path(p).is_dir()):
        if same_file(out_dir, folder) or folder.resolve() in (resolved, *resolved.parents):
            raise OutputError(f"{out_dir}: is inside the input folder {folder}; its tokens files would be read as "
                              "motion by the next run, so nothing was written: choose an output folder outside it")


def plan_corpus(inputs, out_dir: str | os.PathLike) -> list[PlannedFile]:
    """Every input file and its output under `out_dir` (module docstring), checked before
    anything is read: MissingFileError, InputFileError for the inputs; OutputError for an
    --out that is a .npz file name or an existing file, inside an input folder, two inputs
    writing one output, or an output that is an input."""
    out_dir = Path(out_dir)
    if out_dir.suffix.lower() == ".npz" and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: several inputs or a folder write one tokens file each: give --out a folder")
    _refuse_out_dir(out_dir, inputs)
    found = _found_inputs(inputs)
    plan, by_output = [], {}
    for source, root, rel in found:
        output_rel = Path(rel).with_suffix(".npz").as_posix()
        planned = PlannedFile(source, root, rel, out_dir / output_rel, output_rel)
        if output_rel in by_output:
            raise OutputError(f"{planned.output}: both {by_output[output_rel].source} and {source} would write this "
                              "one file; rename one or encode them into separate folders")
        by_output[output_rel] = planned
        plan.append(planned)
    sources = {source.resolve() for source, _, _ in found}
    inodes = {_inode(source) for source in sources}
    for planned in plan:
        if planned.output.resolve() in sources or (planned.output.exists() and _inode(planned.output) in inodes):
            raise OutputError(f"{planned.output}: is the input {planned.source} (the same file); writing it would "
                              "destroy the input, so nothing was written: choose another output folder")
    return plan


def _inode(path: Path) -> tuple[int, int]:
    """(device, inode) of `path`: a hard or symbolic link to an input is that input."""
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def codec_records(codecs: dict) -> dict[str, dict]:
    """part -> {"bundle": NAME-PART, "sha256": its weights' sha256}: which codebooks code."""
    return {part: {"bundle": f"{codec.name}-{part}", "sha256": codec.bundle.weights_sha256}
            for part, codec in codecs.items()}


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def failure_reason(source: Path, exc: BaseException) -> str:
    """One line saying why `source` failed, starting with its path."""
    if isinstance(exc, MotionTokensError):
        text = str(exc)
    elif isinstance(exc, OSError):
        text = exc.strerror or str(exc)
    else:  # not a refusal of the file but an error of ours on it: say so, so it gets reported
        text = f"unexpected {type(exc).__name__}: {exc} (please report this file with the message)"
    text = " ".join(text.split())
    return text if text.startswith(str(source)) else f"{source}: {text}"


def encoded_fields(codecs: dict, source: Path, output: Path) -> dict:
    """Code `source` with `codecs` (part -> Codec) into the tokens file `output`; the index
    fields of the input (size, time, status ... pipelines.corpus_index). A file that cannot be
    read or coded gives status failed and its reason; an output that cannot be written raises
    OutputError (the output folder's fault, not the file's: every file would fail)."""
    started = time.perf_counter()
    fields: dict = {"size": None, "mtime_ns": None}
    warnings: list[str] = []
    try:
        stat = source.stat()  # before reading: a file changed while being read is encoded again next time
        fields.update(size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        motion = read_smplx_motion(source, None, None, warnings)
        encoded = run_steps(encode_parts_steps(motion, codecs))
        digest = _sha256_of(source)
    except Exception as exc:  # one bad file is listed in the index and the corpus goes on
        return {**fields, "status": "failed", "reason": failure_reason(source, exc)}
    output.parent.mkdir(parents=True, exist_ok=True)
    write_encoded(output, encoded)
    name = next(iter(codecs.values())).name
    return {**fields, "status": "done", "reason": None, "sha256": digest, "frames": motion.num_frames,
            "fps": float(motion.fps), "token_fps": float(next(iter(codecs.values())).fps),
            "token_frames": {part: int(len(tokens)) for part, tokens in encoded.tokens.items()},
            "codec": name, "codecs": codec_records(codecs), "warnings": warnings,
            "seconds": round(time.perf_counter() - started, 3)}


_worker_codecs: dict | None = None


def _start_worker(codec_names: dict[str, str], models_dir) -> None:
    """A pool worker's initializer: load (and verify) the codecs once for all its files."""
    global _worker_codecs
    _worker_codecs = load_codecs(codec_names, models_dir)


def _encode_in_worker(source: str, output: str) -> dict:
    return encoded_fields(_worker_codecs, Path(source), Path(output))


def _pooled_results(todo: list[PlannedFile], codec_names: dict[str, str], models_dir, jobs: int):
    """(planned, fields) of each file as the pool's workers finish them. A worker that dies
    (killed, out of memory) fails the files it had not finished, with that reason."""
    context = multiprocessing.get_context("spawn")
    models = None if models_dir is None else str(models_dir)
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=context,
                               initializer=_start_worker, initargs=(codec_names, models))
    try:
        biggest_first = sorted(todo, key=lambda p: -_size_or_zero(p.source))
        with _one_blas_thread_each():  # the workers start on these submits, with this environment
            futures = {pool.submit(_encode_in_worker, str(p.source), str(p.output)): p for p in biggest_first}
        for future in as_completed(futures):
            planned = futures[future]
            try:
                fields = future.result()
            except BrokenProcessPool as exc:
                fields = {"size": None, "mtime_ns": None, "status": "failed",
                          "reason": f"{planned.source}: its worker process died before finishing it ({exc})"}
            yield planned, fields
    finally:  # an error, a stopped job: no new files; the ones being coded finish their atomic write
        pool.shutdown(wait=True, cancel_futures=True)


#: The thread counts of the BLAS libraries numpy may use, read when a process imports numpy.
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _one_blas_thread_each():
    """The environment spawned workers start with: one BLAS thread each, unless the user set
    one. A worker codes one file at a time and the pool is the parallelism; BLAS threads of
    their own spin waiting for work (Bandai, 2 workers on 2 cores: 3.1 s of system time
    against 0.6 s). Put back afterwards: this process and the others it starts keep theirs."""
    saved = {name: os.environ.get(name) for name in _BLAS_THREADS}
    for name in _BLAS_THREADS:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _row(planned: PlannedFile, fields: dict) -> dict:
    """The index row of `planned` (every ROW_KEYS, null where coding gave none): where it is,
    then what coding it gave."""
    where = {"source": planned.rel, "output": planned.output_rel, "root": str(planned.root.resolve())}
    return {key: where.get(key, fields.get(key)) for key in ROW_KEYS}


def _coded_rows_steps(todo: list[PlannedFile], codecs: dict, options: CorpusOptions, appender: IndexAppender,
                      before: int, total: int) -> Steps:
    """Steps coding the `todo` files, a Progress (in files, from `before` of `total`) as each
    is finished, its row appended to the index; output_rel -> row."""
    rows: dict[str, dict] = {}
    jobs = min(options.jobs, len(todo))
    yield Progress(before, total, f"coding {_files(len(todo))} with {options.codec} in {jobs} "
                                  f"process{'es' if jobs > 1 else ''}")
    if jobs > 1:
        names = {part: codec.name for part, codec in codecs.items()}
        results = _pooled_results(todo, names, options.models_dir, jobs)
    else:
        results = ((p, encoded_fields(codecs, p.source, p.output)) for p in todo)
    started, frames = time.perf_counter(), 0
    with closing(results):  # a stopped job stops the pool
        for done, (planned, fields) in enumerate(results, 1):
            row = rows[planned.output_rel] = _row(planned, fields)
            appender.append(row)
            frames += row.get("frames") or 0
            rate = frames / max(time.perf_counter() - started, 1e-9)
            yield Progress(before + done, total, f"{row['status']} {planned.rel} ({rate:.0f} frames/s)")
    return rows


def _plan_against_index(plan: list[PlannedFile], out_dir: Path, codecs: dict, warnings: list[str]):
    """(rows of the files up to date, marked skipped; the files to code; the earlier index's
    rows of other inputs whose outputs are still there, kept so the index describes the folder)."""
    previous = read_index_rows(index_path(out_dir), warnings)
    current, skipped, todo = codec_records(codecs), {}, []
    for planned in plan:
        row = previous.get(planned.output_rel)
        try:
            stat = planned.source.stat()
        except OSError:
            todo.append(planned)  # coding it reports why
            continue
        if is_up_to_date(row, planned.rel, stat.st_size, stat.st_mtime_ns, current, planned.output):
            skipped[planned.output_rel] = {**row, "status": "skipped"}
        else:
            todo.append(planned)
    planned_outputs = {p.output_rel for p in plan}
    kept = [row for output, row in previous.items() if output not in planned_outputs
            and row["status"] != "failed" and (out_dir / output).is_file()]
    return skipped, todo, kept


def encode_corpus_steps(options: CorpusOptions) -> Steps:
    """The corpus encode as steps (core.steps): bundles loaded and verified, every output
    planned and checked (plan_corpus), the index read, the files not up to date coded
    (Progress counts files), the index written; the CorpusResult. OptionError for jobs < 1,
    MotionTokensError when the codec has no bundle, before anything is read."""
    if isinstance(options.jobs, bool) or not isinstance(options.jobs, int) or options.jobs < 1:
        raise OptionError(f"--jobs is {options.jobs!r}; give the number of processes, 1 or more")
    parts = installed_parts(options.codec, options.models_dir)
    codecs = load_codecs({part: options.codec for part in parts}, options.models_dir)
    out_dir = Path(options.out_dir)
    plan = plan_corpus(options.inputs, out_dir)
    yield Progress(0, len(plan), f"{len(plan)} motion files found; reading the index")
    out_dir.mkdir(parents=True, exist_ok=True)
    warnings: list[str] = []
    skipped, todo, kept = _plan_against_index(plan, out_dir, codecs, warnings)
    index = index_path(out_dir)
    # Rewritten first: the torn line of a killed run is dropped before lines are appended after it.
    write_index_rows(index, [skipped[p.output_rel] for p in plan if p.output_rel in skipped] + kept)
    started = time.perf_counter()
    appender = IndexAppender(index)
    try:
        coded = (yield from _coded_rows_steps(todo, codecs, options, appender, len(skipped), len(plan))) if todo else {}
    finally:
        appender.close()
    seconds = time.perf_counter() - started
    rows = [skipped.get(p.output_rel) or coded[p.output_rel] for p in plan]
    write_index_rows(index, rows + kept)
    return _corpus_result(rows, options, index, seconds, warnings, min(options.jobs, max(len(todo), 1)))


def _corpus_result(rows: list[dict], options: CorpusOptions, index: Path, seconds: float, warnings: list[str],
                   jobs: int) -> CorpusResult:
    """The lines (counts, frames per second), the failures and a summary of the reading notes."""
    count = {status: sum(row["status"] == status for row in rows) for status in ("done", "skipped", "failed")}
    failed = [row for row in rows if row["status"] == "failed"]
    frames = sum(row["frames"] or 0 for row in rows if row["status"] == "done")
    lines = [f"{options.out_dir}: {_files(len(rows))}: {count['done']} encoded, {count['skipped']} up to date, "
             f"{count['failed']} failed; index {index}"]
    if count["done"]:
        lines.append(f"{_files(count['done'])}, {frames} frames in {seconds:.1f} s: {frames / max(seconds, 1e-9):.0f} "
                     f"frames/s with {jobs} process{'es' if jobs > 1 else ''} ({options.codec})")
    elif not failed:
        lines.append("nothing to encode: every output is up to date")
    noted = [row for row in rows if row["status"] == "done" and row.get("warnings")]
    if noted:
        warnings.append(f"{_files(len(noted))} were read with notes (e.g. {noted[0]['source']}: "
                        f"{noted[0]['warnings'][0][:120]}); each file's are in the index (`warnings`)")
    warnings += [f"failed: {row['reason']}" for row in failed]
    return CorpusResult(rows, lines, warnings, failed, frames, seconds)


def _files(n: int) -> str:
    return f"{n} file{'' if n == 1 else 's'}"
