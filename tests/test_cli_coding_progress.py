"""The encode and decode commands run as steps (core.codecs.coding, pipelines.progress): plain
progress lines off a terminal, and the same files as the one-piece coding of
core.codecs.coding (encode_parts, decoded_motion), sliced or not."""

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.cli.common import file_sink
from motion_tokens.core import steps as chunks
from motion_tokens.core.codecs.coding import (
    decoded_motion,
    encode_parts,
    load_tokens_codecs,
    write_encoded,
)
from motion_tokens.core.formats.tokens import read_tokens_file
from motion_tokens.core.retarget import read_smplx_motion

DEMO = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"


def _parts(codec: str) -> list[str]:
    """The parts `codec` has bundles for in models/ (the excerpt moves every part)."""
    from motion_tokens.core.parts import PARTS
    from motion_tokens.core.paths import MODELS_DIR

    return [p for p in PARTS if (MODELS_DIR / f"{codec}-{p}").is_dir()]


def run_main(*args):
    """main(ARGS) in this process, stderr not a terminal: (exit status, stdout lines)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue().splitlines()


def assert_same_arrays(path, reference):
    with np.load(path, allow_pickle=False) as got, np.load(reference, allow_pickle=False) as want:
        assert sorted(got.files) == sorted(want.files)
        for key in want.files:
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)


@pytest.mark.parametrize("chunk", [None, 7])
def test_encode_prints_plain_progress_and_writes_what_the_one_piece_coding_writes(tmp_path, monkeypatch, chunk):
    if chunk:
        monkeypatch.setattr(chunks, "CHUNK_FRAMES", chunk)
    out = tmp_path / "t.npz"
    code, lines = run_main("encode", DEMO, "--codec", "rqvae-9", "--out", out)
    assert code == 0
    progress = [line for line in lines if line.startswith("encode: ")]
    assert progress[0] == "encode: reading beat2_excerpt.npz (0%)"
    assert "encode: coding the body, frames 1-" in progress[1] and progress[1].endswith(" of 150 (20%)")
    parts = _parts("rqvae-9")
    assert any(line.startswith("encode: decoding the hands, frames ") for line in progress)
    assert progress[-2].startswith(f"encode: measuring the joint position error of the {parts[-1]}, frames 1-150 of 150 (")
    assert progress[-1] == "encode: writing 150 frames and their tokens (80%)"
    assert len(progress) == 2 + len(parts) * (1 + 2 * len(chunks.frame_chunks(150, chunk)))
    assert lines[len(progress)].startswith(f"{out}: 150 frames at 30 fps coded with rqvae-9")
    reference = tmp_path / "reference.npz"
    write_encoded(reference, encode_parts(read_smplx_motion(DEMO, None, None, []), {p: "rqvae-9" for p in parts}))
    assert_same_arrays(out, reference)


@pytest.mark.parametrize("chunk", [None, 7])
def test_decode_prints_plain_progress_and_writes_what_the_one_piece_decoding_writes(tmp_path, monkeypatch, chunk):
    tokens = tmp_path / "t.npz"
    assert run_main("encode", DEMO, "--codec", "rqvae-12", "--out", tokens)[0] == 0
    if chunk:
        monkeypatch.setattr(chunks, "CHUNK_FRAMES", chunk)
    out = tmp_path / "decoded.npz"
    code, lines = run_main("decode", tokens, "--out", out)
    assert code == 0
    progress = [line for line in lines if line.startswith("decode: ")]
    assert progress[0] == "decode: reading t.npz (0%)"
    assert progress[1].startswith("decode: decoding the body, frames 1-") and " of 150 (" in progress[1]
    assert progress[-1].startswith("decode: writing 150 frames (")
    parts = _parts("rqvae-12")
    assert len(progress) == 2 + len(parts) * len(chunks.frame_chunks(150, chunk))
    assert lines[len(progress)].startswith(str(out))
    assert lines[-1].endswith("decoded with " + ", ".join(f"rqvae-12-{p}" for p in parts))
    tokens_file = read_tokens_file(tokens)
    reference = tmp_path / "reference.npz"
    file_sink(reference, "smplx").write(decoded_motion(tokens_file, load_tokens_codecs(tokens_file)))
    assert_same_arrays(out, reference)
