"""A tokens file records the codebook of each part (weights sha256, family and size fields), so
decoding refuses another codebook: a renamed `codec`, a retrained bundle of the same name, a
file that records none. --accept-other-codebook decodes anyway, with a warning.

References: the sha256 of the bundles' weights files computed here with hashlib."""

import contextlib
import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from bundle_damage import HAS_SHIPPED, edit_tensors
from motion_tokens.cli import main
from motion_tokens.core.codecs.registry import MODELS_DIR
from motion_tokens.core.errors import LayoutError
from motion_tokens.core.formats import read_smplx_npz
from motion_tokens.core.formats.tokens import read_tokens_file
from motion_tokens.pipelines.decode import DecodeOptions, decode
from motion_tokens.pipelines.encode import EncodeOptions, encode
from motion_tokens.pipelines.outputs import FileSink

pytestmark = pytest.mark.skipif(not HAS_SHIPPED, reason="models/ holds no bundles")
DEMO = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"


def _sha(bundle: str, models: Path = MODELS_DIR) -> str:
    return hashlib.sha256((models / bundle / "weights.safetensors").read_bytes()).hexdigest()


def _rewritten(path: Path, out: Path, **changes) -> Path:
    """A copy of the npz at `path` with arrays replaced (None: removed)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(changes)
    np.savez(out, **{k: v for k, v in arrays.items() if v is not None})
    return out


def _cli(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in argv])
    return code, err.getvalue()


def _parts(tokens: Path) -> list[str]:
    """The parts a tokens file codes, from its own `tokens_<part>` arrays."""
    with np.load(tokens, allow_pickle=False) as data:
        return sorted(k.removeprefix("tokens_") for k in data.files if k.startswith("tokens_"))


def _relabelled(tokens: Path, out: Path) -> tuple[Path, list[str]]:
    """A copy of the kmeans-6 tokens file whose `codec` names kmeans-12 for every part it codes."""
    parts = _parts(tokens)
    assert {"body", "hands"} <= set(parts)
    return _rewritten(tokens, out, codec=np.asarray(" ".join(f"kmeans-12-{p}" for p in parts))), parts


@pytest.fixture(scope="module")
def tokens6(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "k6.npz"
    encode(EncodeOptions(DEMO, "kmeans-6", out))
    return out


def test_the_file_records_each_codebook(tokens6):
    with np.load(tokens6, allow_pickle=False) as data:
        for part in _parts(tokens6):
            assert str(data[f"codec_sha256_{part}"]) == _sha(f"kmeans-6-{part}")
            assert str(data[f"codec_layout_{part}"]) == "kmeans k=64"
    record = read_tokens_file(tokens6).codebooks["body"]
    assert (record.sha256, record.family, record.size) == (_sha("kmeans-6-body"), "kmeans", {"k": 64})


def test_a_renamed_codec_is_refused_naming_both_hashes(tokens6, tmp_path):
    """The report's case: kmeans-6 tokens relabelled kmeans-12 decoded 0.23 rad off, exit 0."""
    bad, _ = _relabelled(tokens6, tmp_path / "renamed.npz")
    with pytest.raises(LayoutError) as err:
        decode(DecodeOptions(bad), FileSink(tmp_path / "out.npz"))
    message = str(err.value)
    assert message.startswith(str(bad)) and "--accept-other-codebook" in message
    assert _sha("kmeans-6-body") in message and _sha("kmeans-12-body") in message
    assert "kmeans k=64" in message and "kmeans k=4096" in message
    assert not (tmp_path / "out.npz").exists()
    code, stderr = _cli(["decode", bad, "--out", tmp_path / "out.npz"])
    assert code == 2 and stderr.count("\n") == 1 and not (tmp_path / "out.npz").exists()


def test_a_retrained_bundle_of_the_same_name_is_refused(tmp_path):
    models = tmp_path / "models"
    for part in ("body", "hands"):
        shutil.copytree(MODELS_DIR / f"kmeans-6-{part}", models / f"kmeans-6-{part}")
    tokens = tmp_path / "t.npz"
    encode(EncodeOptions(DEMO, "kmeans-6", tokens, models))
    old = _sha("kmeans-6-body", models)

    def retrain(t):
        t["centroids"] = t["centroids"][::-1].copy()  # the same codebook size, other poses
    edit_tensors(models / "kmeans-6-body", retrain)
    new = _sha("kmeans-6-body", models)
    with pytest.raises(LayoutError) as err:
        decode(DecodeOptions(tokens, models), FileSink(tmp_path / "out.npz"))
    assert old in str(err.value) and new in str(err.value) and "tokens_body" in str(err.value)
    result = decode(DecodeOptions(tokens, models, accept_other_codebook=True), FileSink(tmp_path / "out.npz"))
    assert len(result.warnings) == 1 and new in result.warnings[0] and "may be wrong" in result.warnings[0]
    assert (tmp_path / "out.npz").is_file()


def test_accept_other_codebook_decodes_and_warns(tokens6, tmp_path):
    bad, parts = _relabelled(tokens6, tmp_path / "renamed.npz")
    code, stderr = _cli(["decode", bad, "--out", tmp_path / "out.npz", "--accept-other-codebook"])
    # One warning per part whose recorded codebook differs from the bundle now named.
    assert code == 0 and stderr.count("warning:") == len(parts) and "kmeans k=64" in stderr
    assert read_smplx_npz(tmp_path / "out.npz").num_frames == 150


def test_a_file_without_records_is_refused_with_the_hints(tokens6, tmp_path):
    """Files written before the records: nothing shows which codebook made them (module docstring)."""
    parts = _parts(tokens6)
    old = _rewritten(tokens6, tmp_path / "old.npz", **{f"codec_{what}_{part}": None for what in ("sha256", "layout")
                                                       for part in parts})
    with pytest.raises(LayoutError) as err:
        decode(DecodeOptions(old), FileSink(tmp_path / "out.npz"))
    assert "records no codebook" in str(err.value) and "re-encode" in str(err.value)
    assert "--accept-other-codebook" in str(err.value)
    result = decode(DecodeOptions(old, accept_other_codebook=True), FileSink(tmp_path / "out.npz"))
    assert len(result.warnings) == len(parts)
    np.testing.assert_allclose(read_smplx_npz(tmp_path / "out.npz").rotations, read_smplx_npz(tokens6).rotations,
                               atol=1e-5)


@pytest.mark.parametrize("changes, problem", [
    ({"codec_sha256_body": np.asarray("abc")}, "`codec_sha256_body` is 'abc', not a sha256"),
    ({"codec_layout_body": np.asarray("k=64")}, "`codec_layout_body` is 'k=64', not a codebook layout"),
    ({"codec_layout_body": None}, "missing key `codec_layout_body`"),
    ({"codec_sha256_body": np.zeros(3)}, "`codec_sha256_body` must be one string"),
])
def test_a_malformed_record_is_refused(tokens6, tmp_path, changes, problem):
    bad = _rewritten(tokens6, tmp_path / "bad.npz", **changes)
    with pytest.raises(LayoutError) as err:
        read_tokens_file(bad)
    assert str(err.value).startswith(str(bad)) and problem in str(err.value)
