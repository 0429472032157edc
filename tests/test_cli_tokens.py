"""`tokens export` and `tokens import` on the command line: tokens files made by the real
encode command (kmeans-6, and rqvae4-6 at 7.5 rows of tokens a second) exported to each
format and imported back.

References: the tokens file's own arrays (numpy), the decode command's output for the same
tokens file (another command, the same bundles), the BVH read back with core's reader, and a
sha256 taken from another bundle's manifest. Bad input exits with status 2 and one line
naming the file, never a traceback.
"""

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.core.codecs.registry import MODELS_DIR
from motion_tokens.core.formats import read_bvh, read_smplx_npz

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"
FORMATS = ("json", "jsonl", "npy")
CODECS = ("kmeans-6", "rqvae4-6")
BVH_TOLERANCE_M = 1e-5  # the BVH writer's decimals (six for angles, cm offsets), far below a pose's


def run_main(*args):
    """main(ARGS) in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def assert_refused(args, *expected, fresh_process=False):
    """Exit status 2, one line on stderr holding each of `expected`, no traceback."""
    if fresh_process:
        run = subprocess.run([sys.executable, "-m", "motion_tokens", *map(str, args)], capture_output=True,
                             text=True, timeout=300, cwd=REPO)
        code, out, err = run.returncode, run.stdout, run.stderr
    else:
        code, out, err = run_main(*args)
    assert code == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for text in expected:
        assert str(text) in err, err


def arrays(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def coded(tmp_path_factory) -> dict[str, Path]:
    """codec name -> the demo excerpt's tokens file (encode command) and its decode (.npz)."""
    folder = tmp_path_factory.mktemp("coded")
    for codec in CODECS:
        assert main(["encode", str(DEMO), "--codec", codec, "--out", str(folder / f"{codec}.npz")]) == 0
        assert main(["decode", str(folder / f"{codec}.npz"), "--out", str(folder / f"{codec}.decoded.npz")]) == 0
    return {codec: folder / f"{codec}.npz" for codec in CODECS}


def export(tokens: Path, out: Path, *flags) -> Path:
    code, stdout, err = run_main("tokens", "export", tokens, "--out", out, *flags)
    assert code == 0, err
    assert stdout.startswith(f"{out}: 150 frames at 30 fps, tokens of body")
    return out


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_exported_tokens_import_to_the_same_tokens_and_decode_to_the_same_motion(coded, tmp_path, codec, fmt):
    exported = export(coded[codec], tmp_path / f"take.{fmt}")
    back = tmp_path / "back.npz"
    code, out, err = run_main("tokens", "import", exported, "--out", back)
    assert code == 0 and not err.strip(), err
    assert f"{back}: tokens file with 150 frames at 30 fps" in out
    source, imported = arrays(coded[codec]), arrays(back)
    assert sorted(imported) == sorted(source)
    for part in ("body", "hands", "face"):
        assert imported[f"tokens_{part}"].dtype == np.int32
        np.testing.assert_array_equal(imported[f"tokens_{part}"], source[f"tokens_{part}"])
        assert str(imported[f"codec_sha256_{part}"]) == str(source[f"codec_sha256_{part}"])
    if codec == "rqvae4-6":
        Q = json.loads((MODELS_DIR / "rqvae4-6-body" / "manifest.json").read_text())["Q"]
        assert imported["tokens_body"].shape == (38, Q) and float(imported["token_fps_body"]) == 7.5
    # the imported file decodes to what the original decodes to
    decoded = tmp_path / "decoded.npz"
    assert main(["decode", str(back), "--out", str(decoded)]) == 0
    want = arrays(coded[codec].with_name(f"{codec}.decoded.npz"))
    got = arrays(decoded)
    for key in ("poses", "trans", "expressions", "betas"):
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-7, err_msg=key)


def test_import_to_bvh_reads_back_as_the_decoded_motion(coded, tmp_path):
    exported = export(coded["rqvae4-6"], tmp_path / "take.jsonl")
    bvh = tmp_path / "take.bvh"
    code, out, err = run_main("tokens", "import", exported, "--out", bvh)
    assert code == 0, err
    assert out.strip().endswith("decoded with rqvae4-6-body, rqvae4-6-hands, rqvae4-6-face")
    written = read_bvh(bvh)
    decoded = read_smplx_npz(coded["rqvae4-6"].with_name("rqvae4-6.decoded.npz"))
    assert written.num_frames == 150 and written.fps == 30
    columns = [written.skeleton.index(name) for name in decoded.skeleton.names]
    np.testing.assert_allclose(written.positions()[:, columns], decoded.positions(), rtol=0, atol=BVH_TOLERANCE_M)


def _other_bundle_sha256(bundle: str) -> str:
    return json.loads((MODELS_DIR / bundle / "manifest.json").read_text())["files"]["weights.safetensors"]


@pytest.mark.parametrize("fmt", ("json", "jsonl", "npy"))
def test_tokens_from_another_bundle_are_refused_unless_accepted(coded, tmp_path, fmt):
    exported = export(coded["kmeans-6"], tmp_path / f"take.{fmt}")
    header_file = exported.with_name(exported.name + ".json") if fmt == "npy" else exported
    other = _other_bundle_sha256("kmeans-9-body")  # made by another codebook than the installed kmeans-6-body
    lines = header_file.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    assert header["parts"]["body"]["sha256"] != other
    header["parts"]["body"]["sha256"] = other
    header_file.write_text(json.dumps(header) + "\n" + "".join(lines[1:]))
    out = tmp_path / "back.bvh"
    assert_refused(["tokens", "import", exported, "--out", out], exported, other, "--accept-other-codebook",
                   fresh_process=fmt == "json")
    assert not out.exists()
    code, stdout, err = run_main("tokens", "import", exported, "--out", out, "--accept-other-codebook")
    assert code == 0 and "decoded anyway" in err and out.is_file(), err


def test_a_tokens_only_export_imports_with_a_warning(coded, tmp_path):
    exported = export(coded["kmeans-6"], tmp_path / "take.npy", "--tokens-only")
    code, out, err = run_main("tokens", "import", exported, "--out", tmp_path / "back.npz")
    assert code == 0 and "carries no side information" in err and str(exported) in err
    back, source = arrays(tmp_path / "back.npz"), arrays(coded["kmeans-6"])
    np.testing.assert_array_equal(back["tokens_hands"], source["tokens_hands"])
    assert not back["trans"].any()


def _spoiled_json(path: Path, edit) -> Path:
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    return path


def _jsonl_record_first(path: Path) -> Path:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[1] + lines[0] + "".join(lines[2:]))
    return path


def _set_body_token(value):
    return lambda d: d["tokens"]["body"].__setitem__(0, value)


BAD_FILES = {
    "truncated JSON": ("json", lambda p: p.write_text(p.read_text()[:1000]) and p, "not valid JSON"),
    "wrong version": ("json", lambda p: _spoiled_json(p, lambda d: d.update(version=7)), "version 7"),
    "token = k": ("json", lambda p: _spoiled_json(p, _set_body_token(64)), "outside [0, 64)"),
    "negative token": ("json", lambda p: _spoiled_json(p, _set_body_token(-3)), "is -3, outside"),
    "missing part header": ("json", lambda p: _spoiled_json(p, lambda d: d["parts"].pop("face")),
                            "missing part header"),
    "record before the header": ("jsonl", _jsonl_record_first, "missing header: line 1 is a record"),
    "npy without its header": ("npy", lambda p: p.with_name(p.name + ".json").unlink() or p, "missing header"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_exits_2_with_one_line_naming_it(coded, tmp_path, case):
    fmt, spoil, words = BAD_FILES[case]
    bad = spoil(export(coded["kmeans-6"], tmp_path / f"bad.{fmt}"))
    assert_refused(["tokens", "import", bad, "--out", tmp_path / "back.npz"], bad, words,
                   fresh_process=case == "truncated JSON")
    assert not (tmp_path / "back.npz").exists()


def test_bad_outputs_exit_2_before_anything_is_read(coded, tmp_path):
    assert_refused(["tokens", "export", coded["kmeans-6"], "--out", tmp_path / "take.csv"], "take.csv", ".json")
    exported = export(coded["kmeans-6"], tmp_path / "take.json")
    assert_refused(["tokens", "import", exported, "--out", tmp_path / "take.csv"], "take.csv", ".bvh")
    assert_refused(["tokens", "import", exported, "--out", tmp_path / "on.npz", "--rig", "mixamo"], "SMPL-X")
    assert_refused(["tokens", "export", tmp_path / "missing.npz", "--out", tmp_path / "m.json"], "missing.npz",
                   "no such file")
