"""Model bundles: hashes verified, bitrate from the manifest, tampering refused."""

import json
import math

import numpy as np
import pytest

from motion_tokens.core.codecs.bundle import (
    MANIFEST,
    WEIGHTS,
    bits_per_frame,
    list_bundles,
    load_bundle,
    sha256_of,
    write_bundle,
)
from motion_tokens.core.errors import BundleError, MotionTokensError


def _manifest(**kw):
    m = {"name": "kmeans-9", "kind": "codec", "family": "kmeans", "part": "body", "fps": 30, "k": 512}
    m.update(kw)
    return m


def test_write_then_load_round_trip(tmp_path):
    centroids = np.arange(512 * 63, dtype=np.float32).reshape(512, 63)
    bundle = write_bundle(tmp_path / "kmeans-9", _manifest(), {"centroids": centroids})
    again = load_bundle(tmp_path / "kmeans-9")
    np.testing.assert_array_equal(again.tensors()["centroids"], centroids)
    # The manifest's hash is the file's real sha256 (hashlib on the bytes, checked here apart).
    import hashlib

    digest = hashlib.sha256((tmp_path / "kmeans-9" / WEIGHTS).read_bytes()).hexdigest()
    assert again.manifest["files"][WEIGHTS] == digest == sha256_of(tmp_path / "kmeans-9" / WEIGHTS)
    assert bundle.name == "kmeans-9" and bundle.kind == "codec"


@pytest.mark.parametrize(
    "fields, bits",
    [({"k": 64}, 6), ({"k": 512}, 9), ({"k": 1024}, 10), ({"k": 4096}, 12),
     ({"D": 8, "Q": 2}, 6), ({"D": 8, "Q": 3}, 9), ({"D": 32, "Q": 2}, 10), ({"D": 8, "Q": 4}, 12)],
)
def test_bits_per_frame_from_manifest(fields, bits):
    assert bits_per_frame(fields) == pytest.approx(bits)


def test_bits_per_second_uses_fps(tmp_path):
    b = write_bundle(tmp_path / "b", _manifest(k=1024, fps=25), {"c": np.zeros((2, 2), np.float32)})
    assert b.bits_per_second() == pytest.approx(10 * 25)


def test_tampered_weights_refused(tmp_path):
    write_bundle(tmp_path / "b", _manifest(), {"c": np.zeros((4, 3), np.float32)})
    weights = tmp_path / "b" / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256") as err:
        load_bundle(tmp_path / "b")
    assert WEIGHTS in str(err.value)
    assert isinstance(err.value, MotionTokensError)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / MANIFEST).unlink(), "no manifest.json"),
        (lambda d: (d / MANIFEST).write_text("{not json"), "not valid JSON"),
        (lambda d: (d / MANIFEST).write_text(json.dumps({"name": "x"})), "lacks format"),
        (lambda d: (d / WEIGHTS).unlink(), "missing"),
    ],
)
def test_broken_bundles_refused(tmp_path, damage, message):
    write_bundle(tmp_path / "b", _manifest(), {"c": np.zeros((4, 3), np.float32)})
    damage(tmp_path / "b")
    with pytest.raises(BundleError, match=message):
        load_bundle(tmp_path / "b")


def test_missing_folder_and_listing(tmp_path):
    with pytest.raises(BundleError, match="no such bundle folder"):
        load_bundle(tmp_path / "nope")
    assert list_bundles(tmp_path / "nope") == []
    write_bundle(tmp_path / "b2", _manifest(name="b2"), {"c": np.zeros(1, np.float32)})
    write_bundle(tmp_path / "b1", _manifest(name="b1"), {"c": np.zeros(1, np.float32)})
    assert [b.name for b in list_bundles(tmp_path)] == ["b1", "b2"]
    assert not list(tmp_path.glob("**/*.tmp"))


def test_bitrate_is_log2_not_a_lookup():
    assert bits_per_frame({"k": 100}) == pytest.approx(math.log2(100))
