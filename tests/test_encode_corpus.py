"""`encode DIR... --out DIR [--jobs N]`: a corpus of motion files to tokens files and an index
(pipelines/encode_corpus.py, pipelines/corpus_index.py).

References: the one-file `encode` of the same input (its tokens and decoded motion, which the
corpus job must reproduce exactly), the corpus as built here (which files, which are broken),
and the files' own modification times (what was rewritten). The codec is a snapshot of the
shipped kmeans-6 bundles copied at the start, so a bundle retrained meanwhile changes nothing.
"""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.core.codecs.registry import MODELS_DIR
from motion_tokens.core.formats.tokens import read_tokens_file
from motion_tokens.pipelines.encode_corpus import plan_corpus

REPO = Path(__file__).resolve().parents[1]
BEAT = REPO / "demo" / "beat2_excerpt.npz"
BANDAI = REPO / "demo" / "bandai_excerpt.bvh"
#: The corpus: relative path -> the demo file it copies (None: broken on purpose).
GOOD = {"beat/take.npz": BEAT, "beat/nested/deep/take2.npz": BEAT, "bandai/one.bvh": BANDAI,
        "bandai/sub/two.bvh": BANDAI, "top.bvh": BANDAI}
BROKEN = {"broken/corrupt.bvh": b"this is not a BVH file\n", "broken/truncated.npz": None}


def cli(*args, timeout=300):
    """`python -m motion_tokens ARGS` in a fresh process: (exit status, stdout, stderr)."""
    run = subprocess.run([sys.executable, "-m", "motion_tokens", *map(str, args)], capture_output=True, text=True,
                         timeout=timeout, cwd=REPO)
    return run.returncode, run.stdout, run.stderr


def run_main(*args):
    """main(ARGS) in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def make_corpus(root: Path) -> Path:
    """The corpus of GOOD copies and BROKEN files, plus a text file and a hidden BVH (broken)
    that the job must leave out."""
    for rel, source in GOOD.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / rel)
    (root / "broken").mkdir()
    (root / "broken/corrupt.bvh").write_bytes(BROKEN["broken/corrupt.bvh"])
    (root / "broken/truncated.npz").write_bytes(BEAT.read_bytes()[:2000])
    (root / "notes.txt").write_text("not motion")
    (root / "bandai/.hidden.bvh").write_text("not a BVH either")
    return root


def index_rows(out: Path) -> dict[str, dict]:
    lines = (out / "index.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == len({row["source"] for row in rows}), "one row per input"
    return {row["source"]: row for row in rows}


def mtimes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*.npz")}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A snapshot of the shipped kmeans-6 bundles (every part it has)."""
    folder = tmp_path_factory.mktemp("models")
    for bundle in MODELS_DIR.glob("kmeans-6-*"):
        shutil.copytree(bundle, folder / bundle.name)
    return folder


@pytest.fixture(scope="module")
def reference(models, tmp_path_factory):
    """demo file -> its one-file `encode` tokens file (read back)."""
    out = tmp_path_factory.mktemp("single")
    files = {}
    for source in (BEAT, BANDAI):
        tokens = out / f"{source.stem}.npz"
        code, _, err = run_main("encode", source, "--codec", "kmeans-6", "--out", tokens, "--models", models)
        assert code == 0, err
        files[source] = read_tokens_file(tokens)
    return files


@pytest.fixture(scope="module")
def runs(models, tmp_path_factory):
    """jobs -> (corpus, out folder, exit status, stdout, stderr) of the command run to the end."""
    corpus = make_corpus(tmp_path_factory.mktemp("corpus"))
    results = {}
    for jobs in (1, 2):
        out = tmp_path_factory.mktemp(f"tokens-{jobs}") / "tokens"
        results[jobs] = (corpus, out, *cli("encode", corpus, "--codec", "kmeans-6", "--out", out, "--jobs", jobs,
                                           "--models", models))
    return results


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_output_is_the_one_file_encode(runs, reference, jobs):
    corpus, out, code, stdout, stderr = runs[jobs]
    assert code == 1, (stdout, stderr)  # some inputs failed: 1, the others written
    assert "Traceback" not in stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npz")) == sorted(
        str(Path(rel).with_suffix(".npz")) for rel in GOOD)
    for rel, source in GOOD.items():
        got, want = read_tokens_file(out / Path(rel).with_suffix(".npz")), reference[source]
        assert got.codec_names == want.codec_names == {"body": "kmeans-6", "hands": "kmeans-6", "face": "kmeans-6"}
        assert set(got.tokens) == set(want.tokens)
        for part in want.tokens:
            np.testing.assert_array_equal(got.tokens[part], want.tokens[part])
        assert got.codebooks == want.codebooks
        np.testing.assert_array_equal(got.template.rotations, want.template.rotations)
        np.testing.assert_array_equal(got.template.trans, want.template.trans)
    assert f"{len(GOOD) + len(BROKEN)} files: {len(GOOD)} encoded, 0 up to date, {len(BROKEN)} failed" in stdout
    assert f"with {jobs} process" in stdout and "frames/s" in stdout


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_index_lists_every_input_with_its_status(runs, reference, jobs):
    corpus, out, code, stdout, stderr = runs[jobs]
    rows = index_rows(out)
    assert set(rows) == set(GOOD) | set(BROKEN)  # not notes.txt, not the hidden .bvh
    for rel, source in GOOD.items():
        row, want = rows[rel], reference[source]
        assert row["status"] == "done" and row["reason"] is None
        assert row["output"] == Path(rel).with_suffix(".npz").as_posix() and Path(row["root"]) == corpus.resolve()
        assert row["size"] == source.stat().st_size == (corpus / rel).stat().st_size
        assert row["mtime_ns"] == (corpus / rel).stat().st_mtime_ns
        assert row["frames"] == want.template.num_frames and row["fps"] == 30.0 and row["token_fps"] == 30.0
        assert row["token_frames"] == {part: len(t) for part, t in want.tokens.items()}
        assert row["codecs"] == {part: {"bundle": f"kmeans-6-{part}", "sha256": book.sha256}
                                 for part, book in want.codebooks.items()}
    for rel in BROKEN:
        row = rows[rel]
        assert row["status"] == "failed" and row["frames"] is None
        assert str(corpus / rel) in row["reason"] and "\n" not in row["reason"]
        assert f"warning: failed: {row['reason']}" in stderr.splitlines()
    assert "not a BVH" in rows["broken/corrupt.bvh"]["reason"]


def test_a_second_run_skips_and_a_changed_input_is_encoded_again(models, tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    for rel in BROKEN:  # the failures are retried each run; here every input is good
        (corpus / rel).unlink()
    out = tmp_path / "tokens"
    args = ("encode", corpus, "--codec", "kmeans-6", "--out", out, "--jobs", 2, "--models", models)
    started = time.perf_counter()
    code, stdout, stderr = cli(*args)
    first_s = time.perf_counter() - started
    assert code == 0, stderr
    before = mtimes(out)
    started = time.perf_counter()
    code, stdout, stderr = cli(*args)
    again_s = time.perf_counter() - started
    assert code == 0, stderr
    assert f"{len(GOOD)} files: 0 encoded, {len(GOOD)} up to date, 0 failed" in stdout
    assert "every output is up to date" in stdout
    assert mtimes(out) == before and {row["status"] for row in index_rows(out).values()} == {"skipped"}
    assert again_s < first_s  # no pool was started, nothing read
    # Touch one input (same bytes, a new time) and change another: those two only are coded again.
    touched, changed = corpus / "bandai/one.bvh", corpus / "beat/take.npz"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 5 * 10**9))
    with np.load(BEAT, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["poses"] = arrays["poses"][:90]
    arrays["trans"] = arrays["trans"][:90]
    arrays["expressions"] = arrays["expressions"][:90]
    np.savez(changed, **arrays)
    code, stdout, stderr = cli(*args)
    assert code == 0, stderr
    rows = index_rows(out)
    assert {rel for rel, row in rows.items() if row["status"] == "done"} == {"bandai/one.bvh", "beat/take.npz"}
    assert {row["status"] for rel, row in rows.items() if rel not in ("bandai/one.bvh", "beat/take.npz")} == {"skipped"}
    after = mtimes(out)
    assert {rel for rel in after if after[rel] != before[rel]} == {"bandai/one.npz", "beat/take.npz"}
    assert rows["beat/take.npz"]["frames"] == 90 and read_tokens_file(out / "beat/take.npz").template.num_frames == 90


def test_outputs_without_their_row_are_not_trusted(models, tmp_path):
    """A killed run leaves outputs whose rows may be missing, and a torn last line: those files
    are coded again, the torn line dropped with a warning."""
    corpus = tmp_path / "corpus"
    for name in ("a", "b", "c"):
        (corpus / name).mkdir(parents=True)
        shutil.copyfile(BANDAI, corpus / name / "take.bvh")
    out = tmp_path / "tokens"
    args = ("encode", corpus, "--codec", "kmeans-6", "--out", out, "--models", models)
    assert run_main(*args)[0] == 0
    lines = (out / "index.jsonl").read_text().splitlines()
    (out / "index.jsonl").write_text(lines[0] + "\n" + lines[1][:40])  # c's row gone, b's torn
    code, stdout, stderr = run_main(*args)
    assert code == 0, stderr
    assert "3 files: 2 encoded, 1 up to date, 0 failed" in stdout
    assert "line 2 is not an index row" in stderr
    assert {rel: row["status"] for rel, row in index_rows(out).items()} == {
        "a/take.bvh": "skipped", "b/take.bvh": "done", "c/take.bvh": "done"}


def test_a_killed_run_resumes_with_every_counted_output_whole(models, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(24):
        shutil.copyfile(BANDAI if i % 2 else BEAT, corpus / f"take{i:02d}{'.bvh' if i % 2 else '.npz'}")
    out = tmp_path / "tokens"
    args = ["encode", str(corpus), "--codec", "kmeans-6", "--out", str(out), "--models", str(models)]
    run = subprocess.Popen([sys.executable, "-m", "motion_tokens", *args], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, cwd=REPO)
    for line in run.stdout:
        if line.startswith("encode: done"):
            run.kill()  # SIGKILL: no cleanup of any kind runs
            break
    run.wait(timeout=60)
    run.stdout.close()
    counted = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines() if line.endswith("}")]
    for row in counted:
        assert read_tokens_file(out / row["output"]).template.num_frames == row["frames"]
    code, stdout, stderr = cli(*args, "--jobs", 2)
    assert code == 0, stderr
    rows = index_rows(out)
    assert len(rows) == 24 and {row["status"] for row in rows.values()} <= {"done", "skipped"}
    assert sum(row["status"] == "skipped" for row in rows.values()) == len({row["output"] for row in counted})


def test_refusals_exit_2_with_one_line(models, tmp_path):
    corpus = make_corpus(tmp_path / "corpus")

    def refused(*args, expected, codec="kmeans-6"):
        code, stdout, stderr = run_main("encode", *args, "--codec", codec, "--models", models)
        assert code == 2, (stdout, stderr)
        assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
        assert expected in stderr, stderr

    refused(corpus, "--out", corpus / "beat" / "tokens", expected="inside the input folder")
    refused(corpus, "--out", corpus, expected="inside the input folder")
    assert not (corpus / "beat" / "tokens").exists() and not (corpus / "index.jsonl").exists()
    # An output onto an input: the file named and the folder the outputs go in.
    refused(corpus / "top.bvh", corpus / "beat" / "take.npz", "--out", corpus / "beat", expected="is the input")
    assert (corpus / "beat" / "take.npz").read_bytes() == BEAT.read_bytes()
    shutil.copyfile(BANDAI, corpus / "beat" / "take.bvh")  # take.bvh and take.npz: one output
    refused(corpus / "beat", "--out", tmp_path / "o", expected="would write this one file")
    (corpus / "beat" / "take.bvh").unlink()
    refused(corpus, "--out", tmp_path / "o", "--jobs", "0", expected="--jobs")
    refused(corpus / "top.bvh", corpus / "bandai/one.bvh", "--out", tmp_path / "o.npz", expected="give --out a folder")
    refused(corpus / "notes.txt", corpus / "top.bvh", "--out", tmp_path / "o", expected="not a motion file")
    refused(corpus / "top.bvh", corpus / "missing", "--out", tmp_path / "o", expected="no such file or folder")
    (tmp_path / "empty").mkdir()
    refused(tmp_path / "empty", "--out", tmp_path / "o", expected="no motion files")
    refused(corpus, "--out", tmp_path / "o", codec="kmeans-7", expected="kmeans-7")
    assert not (tmp_path / "o").exists()


def test_the_plan_mirrors_the_folders_and_codes_each_file_once(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    plan = plan_corpus([corpus / "bandai", corpus / "top.bvh", corpus / "bandai" / "sub" / "two.bvh"], tmp_path / "o")
    assert [(p.rel, p.output_rel) for p in plan] == [
        ("one.bvh", "one.npz"), ("sub/two.bvh", "sub/two.npz"), ("top.bvh", "top.npz")]
    assert [p.output for p in plan] == [tmp_path / "o" / p.output_rel for p in plan]
