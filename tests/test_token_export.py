"""Tokens exported to .json, .jsonl and .npy (core/formats/token_export.py) and read back,
and the export and import jobs (pipelines/tokens.py).

References: the tokens file's own arrays read here with numpy (the tokens, `poses`, `trans`,
the sha256 keys), the layouts parsed here with json and numpy alone, times worked by hand
(row i of a 7.5-per-second part at i x 4 / 30 s), and decode-after-read against decoding
the tokens file itself. Tokens files come from the real encode command on the demo excerpt:
kmeans-6 (a row per frame) and rqvae4-6 (a row per 4 frames, 38 rows for 150 frames).
Comparisons are decoded against decoded (no figures of the hands bundles, being retrained).
"""

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.core.codecs.coding import decoded_motion, load_tokens_codecs
from motion_tokens.core.codecs.registry import MODELS_DIR
from motion_tokens.core.errors import CorruptFileError, LayoutError, MissingFileError, OutputError
from motion_tokens.core.formats.token_export import npy_header_path, read_token_export, write_token_export
from motion_tokens.core.formats.tokens import read_tokens_file
from motion_tokens.pipelines.tokens import (
    TokensExportOptions,
    TokensImportOptions,
    export_tokens,
    import_tokens,
)

DEMO = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"
FORMATS = ("json", "jsonl", "npy")
CODECS = ("kmeans-6", "rqvae4-6")
#: The shipped rqvae4-6 body's codebook size D and levels Q (the export's layout follows them).
_BODY4 = json.loads((MODELS_DIR / "rqvae4-6-body" / "manifest.json").read_text())
D4, Q4 = int(_BODY4["D"]), int(_BODY4["Q"])


@pytest.fixture(scope="module")
def coded(tmp_path_factory) -> dict[str, Path]:
    """codec name -> the demo excerpt's tokens file, made by the encode command."""
    folder = tmp_path_factory.mktemp("coded")
    files = {}
    for codec in CODECS:
        files[codec] = folder / f"{codec}.npz"
        assert main(["encode", str(DEMO), "--codec", codec, "--out", str(files[codec])]) == 0
    return files


def arrays(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def exported(coded, tmp_path, codec: str, fmt: str, **kw) -> Path:
    out = tmp_path / f"{codec}.{fmt}"
    write_token_export(out, read_tokens_file(coded[codec]), **kw)
    return out


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_reads_back_the_tokens_file_and_decodes_to_its_motion(coded, tmp_path, codec, fmt):
    source = arrays(coded[codec])
    back = read_token_export(exported(coded, tmp_path, codec, fmt))
    assert back.carries_side_information
    tf = back.tokens_file
    assert list(tf.tokens) == ["body", "hands", "face"]
    for part, tokens in tf.tokens.items():
        assert tokens.dtype == np.int32 and np.array_equal(tokens, source[f"tokens_{part}"])
        assert tf.codebooks[part].sha256 == str(source[f"codec_sha256_{part}"])
        assert tf.codebooks[part].layout == str(source[f"codec_layout_{part}"])
        assert tf.codec_names[part] == codec
        assert tf.fps_of(part) == (7.5 if codec == "rqvae4-6" else 30.0)
    assert tf.template.num_frames == len(source["poses"]) == 150 and tf.token_fps == 30.0
    if codec == "rqvae4-6":
        assert tf.tokens["body"].shape == (38, Q4)  # ceil(150 / 4) rows of Q
    original = read_tokens_file(coded[codec])
    want = decoded_motion(original, load_tokens_codecs(original))
    got = decoded_motion(tf, load_tokens_codecs(tf))
    np.testing.assert_allclose(got.rotations, want.rotations, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.trans, want.trans, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.expressions, want.expressions, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got.betas, source["betas"].astype(np.float64))
    assert got.gender == str(source["gender"])


def test_the_jsonl_layout_read_with_json_alone(coded, tmp_path):
    source = arrays(coded["rqvae4-6"])
    lines = exported(coded, tmp_path, "rqvae4-6", "jsonl").read_text().splitlines()
    header, records = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["format"] == "motion-tokens" and header["version"] == 1
    assert header["fps"] == 30 and header["num_frames"] == 150
    assert header["parts"]["body"] == {"codec": "rqvae4-6", "sha256": str(source["codec_sha256_body"]),
                                       "family": "rqvae4", "size": {"D": D4, "Q": Q4}, "token_fps": 7.5, "shape": [38, Q4]}
    # every motion frame carries the root, the eyes and the translation, and expressions 16-99
    assert header["carried"]["joints"] == [0, 23, 24] and header["carried"]["expressions"] == [16, 100]
    side = [r for r in records if "carried" in r]
    tokens = [r for r in records if "tokens" in r]
    assert len(side) == 150 and len(tokens) == 3 * 38 and len(records) == 150 + 3 * 38
    carried = np.array([r["carried"] for r in side], dtype=np.float32)
    np.testing.assert_array_equal(carried[:, :3], source["poses"][:, :3])  # the root, as the file stores it
    np.testing.assert_array_equal(carried[:, 9:12], source["trans"])
    np.testing.assert_array_equal(carried[:, 12:], source["expressions"][:, 16:])
    for part in ("body", "hands", "face"):
        rows = sorted((r for r in tokens if r["part"] == part), key=lambda r: r["frame"])
        assert np.array_equal([r["tokens"] for r in rows], source[f"tokens_{part}"])
    row = next(r for r in tokens if r["part"] == "face" and r["frame"] == 1)
    assert row["time"] == pytest.approx(4 / 30, abs=1e-12)  # a row per 4 frames at 30 fps
    # sorted by time, then side information before the parts in the header's order
    order = {None: 0, "body": 1, "hands": 2, "face": 3}
    keys = [(Fraction(r["time"]).limit_denominator(1000), order[r.get("part")]) for r in records]
    assert keys == sorted(keys)
    assert [r.get("part") for r in records[:5]] == [None, "body", "hands", "face", None]


def test_the_npy_layout_read_with_numpy_alone(coded, tmp_path):
    source = arrays(coded["kmeans-6"])
    out = exported(coded, tmp_path, "kmeans-6", "npy")
    records = np.load(out, allow_pickle=False)
    header = json.loads(npy_header_path(out).read_text())
    assert records.dtype == np.int32 and records.shape == (3 * 150, 3)  # [part, frame, token]
    assert list(header["parts"]) == ["body", "hands", "face"] and len(header["carried_frames"]) == 150
    for index, part in enumerate(header["parts"]):
        rows = records[records[:, 0] == index]
        assert np.array_equal(rows[:, 1], np.arange(150))
        assert np.array_equal(rows[:, 2], source[f"tokens_{part}"])
    assert np.array_equal(records[:6, :2], [[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]])


def test_the_json_layout_read_with_json_alone(coded, tmp_path):
    source = arrays(coded["rqvae4-6"])
    document = json.loads(exported(coded, tmp_path, "rqvae4-6", "json").read_text())
    assert set(document) >= {"format", "version", "fps", "num_frames", "parts", "carried", "tokens", "carried_frames"}
    assert np.array_equal(document["tokens"]["hands"], source["tokens_hands"])
    assert np.array(document["carried_frames"]).shape == (150, document["carried"]["width"]) == (150, 96)


def test_a_tokens_only_export_decodes_the_same_parts_at_the_origin(coded, tmp_path):
    out = exported(coded, tmp_path, "kmeans-6", "jsonl", with_side_information=False)
    assert not any("carried" in json.loads(line) for line in out.read_text().splitlines()[1:])
    back = read_token_export(out)
    assert not back.carries_side_information and json.loads(out.read_text().splitlines()[0])["carried"] is None
    got = decoded_motion(back.tokens_file, load_tokens_codecs(back.tokens_file))
    original = read_tokens_file(coded["kmeans-6"])
    want = decoded_motion(original, load_tokens_codecs(original))
    assert np.array_equal(got.trans, np.zeros((150, 3)))
    np.testing.assert_allclose(np.abs(got.rotations[:, 0, 0]), 1.0)  # the root at rest
    np.testing.assert_allclose(got.rotations[:, 1:22], want.rotations[:, 1:22], atol=1e-12)  # the body


# --- refused files ----------------------------------------------------------------------------


def _edit_json(path: Path, edit) -> Path:
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    return path


def _edit_jsonl(path: Path, edit) -> Path:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in edit(lines)))
    return path


def _truncated(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[:-200])
    return path


def _set_token(document, value):
    document["tokens"]["body"][3] = value


JSON_DAMAGE = {
    "truncated": (_truncated, CorruptFileError, "not valid JSON"),
    "another version": (lambda p: _edit_json(p, lambda d: d.update(version=2)), LayoutError, "version 2"),
    "token = k": (lambda p: _edit_json(p, lambda d: _set_token(d, 64)), LayoutError, "outside [0, 64)"),
    "negative token": (lambda p: _edit_json(p, lambda d: _set_token(d, -1)), LayoutError, "is -1, outside"),
    "float token": (lambda p: _edit_json(p, lambda d: _set_token(d, 3.5)), LayoutError, "non-integer"),
    "short tokens": (lambda p: _edit_json(p, lambda d: d["tokens"]["body"].pop()), LayoutError, "shape [149]"),
    "no part header": (lambda p: _edit_json(p, lambda d: d["parts"].pop("hands")), LayoutError, "missing part header"),
    "unknown part": (lambda p: _edit_json(p, lambda d: d["parts"].update(tail=d["parts"]["body"])), LayoutError,
                     "unknown part 'tail'"),
    "no header": (lambda p: _edit_json(p, lambda d: d.pop("format")), LayoutError, "missing header"),
    "bad sha256": (lambda p: _edit_json(p, lambda d: d["parts"]["body"].update(sha256="beef")), LayoutError, "sha256"),
    "bad shape": (lambda p: _edit_json(p, lambda d: d["parts"]["body"].update(shape=[150, 1])), LayoutError,
                  "parts.body`.shape"),
}


@pytest.mark.parametrize("damage", JSON_DAMAGE)
def test_a_damaged_json_export_is_refused_naming_the_file(coded, tmp_path, damage):
    spoil, error, words = JSON_DAMAGE[damage]
    path = spoil(exported(coded, tmp_path, "kmeans-6", "json"))
    with pytest.raises(error) as caught:
        read_token_export(path)
    assert str(caught.value).startswith(str(path)) and words in str(caught.value), str(caught.value)


JSONL_DAMAGE = {
    "record before the header": (lambda lines: lines[1:2] + lines[:1] + lines[2:], "missing header: line 1 is a record"),
    "repeated record": (lambda lines: lines + lines[-1:], "repeats frame"),
    "missing record": (lambda lines: lines[:-1], "truncated?"),
    "token outside": (lambda lines: lines[:2] + [{**lines[2], "tokens": [D4] + [0] * (Q4 - 1)}] + lines[3:], f"outside [0, {D4})"),
    "part not in the header": (lambda lines: lines + [{**lines[2], "part": "whole"}], "missing part header"),
    "wrong time": (lambda lines: lines[:2] + [{**lines[2], "time": 0.5}] + lines[3:], "`time` is 0.5"),
    "short row": (lambda lines: lines[:2] + [{**lines[2], "tokens": [1, 2]}] + lines[3:], f"list of {Q4} integer"),
}


@pytest.mark.parametrize("damage", JSONL_DAMAGE)
def test_a_damaged_jsonl_export_is_refused_naming_the_file_and_line(coded, tmp_path, damage):
    edit, words = JSONL_DAMAGE[damage]
    path = _edit_jsonl(exported(coded, tmp_path, "rqvae4-6", "jsonl"), edit)
    with pytest.raises(LayoutError) as caught:
        read_token_export(path)
    assert str(caught.value).startswith(str(path)) and words in str(caught.value), str(caught.value)


def test_a_damaged_npy_export_is_refused_and_nothing_is_unpickled(coded, tmp_path):
    path = exported(coded, tmp_path, "rqvae4-6", "npy")
    records = np.load(path)
    spoiled = records.copy()
    spoiled[5, 3] = 64
    np.save(path, spoiled)
    with pytest.raises(LayoutError, match=r"is 64, outside \[0, (16|64)\) of the rqvae4"):
        read_token_export(path)
    np.save(path, np.array([{"tokens": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptFileError, match="not a tokens array"):
        read_token_export(path)
    np.save(path, records[:-1])  # a row missing
    with pytest.raises(LayoutError, match="once each"):
        read_token_export(path)
    npy_header_path(path).unlink()
    with pytest.raises(LayoutError, match="missing header: its sidecar"):
        read_token_export(path)
    with pytest.raises(MissingFileError):
        read_token_export(tmp_path / "none.json")


# --- the jobs -----------------------------------------------------------------------------------


def test_export_import_export_gives_the_same_export_and_tokens_file(coded, tmp_path):
    first = tmp_path / "first.jsonl"
    export_tokens(TokensExportOptions(coded["rqvae4-6"], first))
    result = import_tokens(TokensImportOptions(first, tmp_path / "back.npz"))
    assert "decoded with rqvae4-6-body, rqvae4-6-hands, rqvae4-6-face" in result.lines[-1] and not result.warnings
    source, back = arrays(coded["rqvae4-6"]), arrays(tmp_path / "back.npz")
    assert sorted(source) == sorted(back)
    for key in source:
        np.testing.assert_array_equal(back[key], source[key], err_msg=key)
    second = tmp_path / "second.jsonl"
    export_tokens(TokensExportOptions(tmp_path / "back.npz", second))
    a, b = first.read_text().splitlines(), second.read_text().splitlines()
    assert json.loads(a[0]) | {"source": ""} == json.loads(b[0]) | {"source": ""}  # named after their files
    assert a[1:] == b[1:]


def test_the_jobs_refuse_bad_outputs_before_reading(coded, tmp_path):
    with pytest.raises(OutputError, match="unknown output type '.txt'"):
        export_tokens(TokensExportOptions(coded["kmeans-6"], tmp_path / "out.txt"))
    link = tmp_path / "link.json"  # an output name that is the input under another name
    link.symlink_to(coded["kmeans-6"])
    with pytest.raises(OutputError, match="is the input"):
        export_tokens(TokensExportOptions(coded["kmeans-6"], link))
    out = exported(coded, tmp_path, "kmeans-6", "npy")
    onto_header = tmp_path / "header.npz"  # the .npy's header under an .npz name: an input too
    onto_header.symlink_to(npy_header_path(out))
    with pytest.raises(OutputError, match="is the input"):
        import_tokens(TokensImportOptions(out, onto_header))
    with pytest.raises(OutputError, match="SMPL-X"):
        import_tokens(TokensImportOptions(out, tmp_path / "on.npz", rig="mixamo"))


def test_a_tokens_file_without_codebook_records_is_not_exported(coded, tmp_path):
    data = {k: v for k, v in arrays(coded["kmeans-6"]).items() if not k.startswith(("codec_sha256", "codec_layout"))}
    old = tmp_path / "old.npz"
    np.savez(old, **data)
    with pytest.raises(LayoutError, match="records no codebook"):
        export_tokens(TokensExportOptions(old, tmp_path / "old.json"))
