"""Model bundles: hashes verified, bitrate from the manifest, tampering refused."""

import hashlib
import json
import math
from pathlib import Path

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
from motion_tokens.core.codecs.registry import load_codec
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


# --- path traversal: the manifest names files inside its folder, never elsewhere ------------

def _bundle_listing(tmp_path, extra: dict) -> "Path":
    """A bundle whose manifest also lists `extra` (name -> sha256), weights valid."""
    folder = tmp_path / "models" / "b"
    write_bundle(folder, _manifest(), {"c": np.zeros((4, 3), np.float32)})
    m = json.loads((folder / MANIFEST).read_text())
    m["files"].update(extra)
    (folder / MANIFEST).write_text(json.dumps(m))
    return folder


@pytest.mark.parametrize("name", ["../other/weights.safetensors", "sub/x", "ABS"])
def test_manifest_file_names_with_a_folder_are_refused_and_never_read(tmp_path, monkeypatch, name):
    # The named file exists and its sha256 matches the manifest, so only the folder check
    # stands between the manifest and a file outside (or below) the bundle folder.
    other = tmp_path / "models" / "other"
    other.mkdir(parents=True)
    outside = other / "weights.safetensors"
    outside.write_bytes(b"a file that is not the bundle's")
    folder = tmp_path / "models" / "b"
    if name == "ABS":
        name = str(outside)
    elif name == "sub/x":
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "x").write_bytes(outside.read_bytes())
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    folder = _bundle_listing(tmp_path, {name: digest})

    import motion_tokens.core.codecs.bundle as bundle_module

    read = []
    real = bundle_module.sha256_of
    monkeypatch.setattr(bundle_module, "sha256_of", lambda p: (read.append(Path(p).resolve()), real(p))[1])
    with pytest.raises(BundleError, match="must not contain a folder") as err:
        load_bundle(folder)
    assert name in str(err.value) and str(folder / MANIFEST) in str(err.value)
    # Nothing but the bundle's own top-level files was hashed.
    assert all(p.parent == folder.resolve() for p in read), read
    with pytest.raises(BundleError, match="must not contain a folder"):
        list_bundles(tmp_path / "models")


# --- every refusal of a bundle, each naming the manifest or weights file -------------------

def _rewrite(folder, **changes):
    m = json.loads((folder / MANIFEST).read_text())
    m.update(changes)
    (folder / MANIFEST).write_text(json.dumps(m))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"format": 2}, r"field `format` is 2, not one of 1"),
        ({"format": "1"}, r"field `format` must be an integer, got '1'"),
        ({"kind": "model"}, r"field `kind` is 'model', not one of 'codec'"),
        ({"files": ["weights.safetensors"]}, r"field `files` must be an object"),
        ({"files": {}}, r"'files' must map"),
        ({"files": "weights.safetensors"}, r"field `files` must be an object"),
    ],
)
def test_manifest_fields_refused(tmp_path, changes, message):
    write_bundle(tmp_path / "b", _manifest(), {"c": np.zeros((4, 3), np.float32)})
    _rewrite(tmp_path / "b", **changes)
    with pytest.raises(BundleError, match=message) as err:
        load_bundle(tmp_path / "b")
    assert str(tmp_path / "b" / MANIFEST) in str(err.value)


def test_unreadable_safetensors_refused_even_with_a_matching_hash(tmp_path):
    folder = tmp_path / "kmeans-9-body"
    write_bundle(folder, _manifest(), {"centroids": np.zeros((512, 63), np.float32)})
    (folder / WEIGHTS).write_bytes(b"\xff" * 64)  # not a safetensors file
    _rewrite(folder, files={WEIGHTS: sha256_of(folder / WEIGHTS)})
    bundle = load_bundle(folder)  # the hash matches: reading the tensors is what fails
    with pytest.raises(BundleError, match="cannot be read as safetensors") as err:
        bundle.tensors()
    assert str(folder / WEIGHTS) in str(err.value)
    with pytest.raises(BundleError, match="cannot be read as safetensors"):
        load_codec(folder)


def _codec_bundle(folder, **changes):
    """A valid kmeans-6 body codec bundle, then `changes` written into its manifest."""
    tensors = {"centroids": np.zeros((64, 63), np.float32), "mean": np.zeros(63, np.float32),
               "std": np.ones(63, np.float32)}
    write_bundle(folder, {"name": "kmeans-6", "kind": "codec", "family": "kmeans", "part": "body", "k": 64,
                          "fps": 30.0, "bits_per_frame": 6.0}, tensors)
    _rewrite(folder, **changes)
    _rewrite(folder, files={WEIGHTS: sha256_of(folder / WEIGHTS)})
    return folder


def test_a_valid_codec_bundle_loads(tmp_path):
    codec = load_codec(_codec_bundle(tmp_path / "kmeans-6-body"))
    assert (codec.name, codec.part, codec.bits_per_frame) == ("kmeans-6", "body", 6)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"part": "legs"}, r"field `part` is 'legs', not one of 'body', 'hands'"),
        ({"part": None}, r"field `part` must be a string, got None"),
        ({"family": "rqvae"}, r"lacks D, Q, model_config"),
        ({"family": "pca", "name": "pca-6"}, r"name 'pca-6' is not 'pca-BITS'"),
        ({"name": "kmeans-9"}, r"the name says 9 bits per frame but k or D and Q give 6"),
        ({"k": 512}, r"the name says 6 bits per frame but k or D and Q give 9"),
        ({"bits_per_frame": 9}, r"bits_per_frame 9 disagrees with k or D and Q \(6\)"),
        ({"kind": "generator"}, r"kind is 'generator', not 'codec'"),
    ],
)
def test_inconsistent_codec_manifests_refused(tmp_path, changes, message):
    folder = _codec_bundle(tmp_path / "kmeans-6-body", **changes)
    with pytest.raises(BundleError, match=message) as err:
        load_codec(folder)
    # The schema names the field; the codec checks after it say the bundle is not usable.
    assert str(err.value).startswith(str(folder / MANIFEST))
    assert "field `" in str(err.value) or "lacks" in str(err.value) or "not a usable codec bundle" in str(err.value)


def test_centroids_of_the_wrong_part_width_refused(tmp_path):
    folder = _codec_bundle(tmp_path / "kmeans-6-hands", part="hands")  # 63-wide centroids, hands need 90
    with pytest.raises(BundleError, match=r"tensor `mean` is \(63,\), expected \(90,\) for the hands") as err:
        load_codec(folder)
    assert str(folder / "weights.safetensors") in str(err.value)
