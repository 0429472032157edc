"""A command that reads a file and writes one refuses to write onto its input: the same path,
a symbolic link to it or a hard link (the same device and inode), before anything is read.
Exit status 2, one line, and the input's bytes unchanged."""

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest
from motion_tokens.cli import main
from motion_tokens.pipelines.encode import EncodeOptions, encode

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"
BANDAI = REPO / "demo" / "bandai_excerpt.bvh"
HAS_KMEANS6 = (REPO / "models" / "kmeans-6-body" / "manifest.json").is_file()


def _cli(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def _same(kind: str, source: Path) -> Path:
    """The output path for `source`: itself, a symbolic link to it, or a hard link to it."""
    if kind == "path":
        return source
    link = source.with_name(f"{source.stem}-{kind}{source.suffix}")
    (link.symlink_to if kind == "symlink" else link.hardlink_to)(source)
    return link


def _refused(argv, source: Path):
    before = source.read_bytes()
    code, stderr = _cli(argv)
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert "is the input" in stderr and "Traceback" not in stderr
    assert source.read_bytes() == before


@pytest.mark.parametrize("kind", ["path", "symlink", "hardlink"])
@pytest.mark.parametrize("demo", [DEMO, BANDAI], ids=["npz", "bvh"])
def test_import_onto_its_input(tmp_path, kind, demo):
    source = Path(shutil.copy(demo, tmp_path / demo.name))
    _refused(["import", source, "--out", _same(kind, source)], source)


@pytest.mark.skipif(not HAS_KMEANS6, reason="models/ holds no kmeans-6 bundles")
@pytest.mark.parametrize("kind", ["path", "symlink", "hardlink"])
def test_encode_and_decode_onto_their_input(tmp_path, kind):
    source = Path(shutil.copy(DEMO, tmp_path / "take.npz"))
    _refused(["encode", source, "--codec", "kmeans-6", "--out", _same(kind, source)], source)
    tokens = tmp_path / "tokens.npz"
    encode(EncodeOptions(source, "kmeans-6", tokens))
    _refused(["decode", tokens, "--out", _same(kind, tokens)], tokens)


def test_evaluate_report_or_plot_onto_the_data(tmp_path):
    data = Path(shutil.copy(DEMO, tmp_path / "take.npz"))
    report = tmp_path / "take.md"
    report.write_text("data\n")
    _refused(["evaluate-codecs", "--data", data, report, "--out", report], report)
    _refused(["evaluate-codecs", "--data", data, "--out", tmp_path / "r.md", "--plot", _same("symlink", data)], data)


def test_train_codec_into_a_data_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    take = Path(shutil.copy(DEMO, data / "take.npz"))
    os.symlink(data, tmp_path / "alias")
    _refused(["train-codec", "--family", "kmeans", "--bits", "6", "--part", "body", "--data", data,
              "--out", tmp_path / "alias"], take)
    assert sorted(p.name for p in data.iterdir()) == ["take.npz"]


def test_another_output_is_written(tmp_path):
    source = Path(shutil.copy(DEMO, tmp_path / "take.npz"))
    code, stderr = _cli(["import", source, "--out", tmp_path / "copy.npz"])
    assert code == 0 and (tmp_path / "copy.npz").is_file()
