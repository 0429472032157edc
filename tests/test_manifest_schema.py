"""Every manifest field is checked for type and range by one schema (core/codecs/manifest_schema.py)
on loading and on listing: one BundleError naming the manifest file and the field, and exit
status 2 with one line from `codecs` and `encode`, never a traceback."""

import contextlib
import io
import math
from pathlib import Path

import pytest
from bundle_damage import HAS_SHIPPED, MANIFEST, copy_bundle, edit_manifest
from motion_tokens.cli import main
from motion_tokens.core.codecs.registry import available_codecs, load_codec
from motion_tokens.core.errors import BundleError

pytestmark = pytest.mark.skipif(not HAS_SHIPPED, reason="models/ holds no bundles")
DEMO = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"

# (bundle, field, bad value): a wrong type or a value out of range, each alone.
CASES = [
    ("kmeans-6-body", "fps", "thirty"),
    ("kmeans-6-body", "fps", 0),
    ("kmeans-6-body", "fps", math.nan),
    ("kmeans-6-body", "k", "64"),
    ("kmeans-6-body", "k", True),
    ("kmeans-6-body", "k", 1),
    ("kmeans-6-body", "format", "1"),
    ("kmeans-6-body", "name", 6),
    ("kmeans-6-body", "part", "legs"),
    ("kmeans-6-body", "bits_per_frame", "6"),
    ("kmeans-6-body", "files", {"weights.safetensors": "abc"}),
    ("kmeans-6-body", "seed", 0.5),
    ("kmeans-6-body", "training", "long"),
    ("rqvae-6-body", "D", 0),
    ("rqvae-6-body", "Q", "2"),
    ("rqvae-6-body", "model_config", [1, 2]),
]


def _run(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


@pytest.mark.parametrize("bundle, field, value", CASES, ids=[f"{b}-{f}-{v!r}" for b, f, v in CASES])
def test_a_bad_field_is_named_on_loading_and_listing(tmp_path, bundle, field, value):
    folder = copy_bundle(tmp_path / "models", bundle)
    edit_manifest(folder, **{field: value})
    for load in (lambda: load_codec(folder), lambda: available_codecs(tmp_path / "models")):
        with pytest.raises(BundleError) as err:
            load()
        message = str(err.value)
        assert message.startswith(str(folder / MANIFEST)) and f"`{field}`" in message, message
    code, stderr = _run(["codecs", "--models", str(tmp_path / "models")])
    assert code == 2 and stderr.count("\n") == 1 and f"`{field}`" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("bundle, field", [("kmeans-6-body", "k"), ("kmeans-6-body", "fps"), ("rqvae-6-body", "model_config"),
                                           ("kmeans-6-body", "part")])
def test_a_missing_field_is_named(tmp_path, bundle, field):
    folder = copy_bundle(tmp_path / "models", bundle)
    edit_manifest(folder, **{field: None})
    with pytest.raises(BundleError, match=f"lacks {field}") as err:
        available_codecs(tmp_path / "models")
    assert str(err.value).startswith(str(folder / MANIFEST))


def test_encode_with_a_bad_manifest_exits_2(tmp_path):
    """The report's case: "fps": "thirty" gave a traceback from registry.py / bundle.py."""
    folder = copy_bundle(tmp_path / "models", "kmeans-6-body")
    edit_manifest(folder, fps="thirty")
    code, stderr = _run(["encode", str(DEMO), "--codec", "kmeans-6", "--out", str(tmp_path / "t.npz"),
                         "--models", str(tmp_path / "models")])
    assert code == 2 and stderr.count("\n") == 1 and "`fps`" in stderr and "thirty" in stderr
    assert not (tmp_path / "t.npz").exists()
