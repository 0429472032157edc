"""`codecs` and the Codec panel's catalogue list only bundles that `encode` then loads: listing
runs the checks loading does (registry.codec_of_bundle). Each bundle here is damaged past its
hash (the manifest's sha256 recomputed), so only those later checks can refuse it."""

import contextlib
import io
import time

import codec_figures
import numpy as np
import pytest
from bundle_damage import (
    HAS_SHIPPED,
    WEIGHTS,
    copy_bundle,
    edit_manifest,
    edit_tensors,
    rehash,
)
from motion_tokens.cli import main
from motion_tokens.core.codecs.registry import MODELS_DIR, available_codecs, load_codec
from motion_tokens.core.errors import BundleError

pytestmark = pytest.mark.skipif(not HAS_SHIPPED, reason="models/ holds no bundles")


def _truncate(folder):
    data = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(data[: len(data) // 2])
    rehash(folder)


def _other_weights(source):
    def damage(folder):
        (folder / WEIGHTS).write_bytes((folder.parent.parent / "src" / source / WEIGHTS).read_bytes())
        rehash(folder)
    return damage


def _fewer_centroids(folder):
    edit_tensors(folder, lambda t: t.update(centroids=t["centroids"][:32]))


def _nan_centroid(folder):
    def change(t):
        t["centroids"][5, 2] = np.nan
    edit_tensors(folder, change)


def _zero_std(folder):
    def change(t):
        t["std"][0] = 0.0
    edit_tensors(folder, change)


# (bundle, damage, what the message says)
CASES = [
    ("kmeans-6-body", _truncate, "safetensors"),
    ("kmeans-6-body", _other_weights("kmeans-9-body"), "centroids"),
    ("kmeans-6-body", _other_weights("kmeans-6-hands"), "expected (63,)"),
    ("rqvae-6-body", _other_weights("rqvae-9-body"), "codebook layers"),
    ("kmeans-6-body", _fewer_centroids, "centroids (32, 63)"),
    ("kmeans-6-body", _nan_centroid, "tensor `centroids` holds 1 non-finite"),
    ("rqvae-6-hands", _zero_std, "tensor `std`"),
    ("kmeans-6-body", lambda f: edit_manifest(f, fps=24), "fps is 24"),
    ("kmeans-6-body", lambda f: edit_manifest(f, fps=0), "`fps`"),
    ("rqvae-6-body", lambda f: edit_manifest(f, model_config=None), "lacks model_config"),
]


@pytest.mark.parametrize("bundle, damage, message", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_listing_refuses_what_loading_refuses(tmp_path, bundle, damage, message):
    for source in ("kmeans-9-body", "kmeans-6-hands", "rqvae-9-body"):
        copy_bundle(tmp_path / "src", source)
    folder = copy_bundle(tmp_path / "models", bundle)
    damage(folder)
    with pytest.raises(BundleError) as loading:
        load_codec(folder)
    with pytest.raises(BundleError) as listing:
        available_codecs(tmp_path / "models")
    assert str(listing.value) == str(loading.value) and message in str(listing.value), listing.value
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main(["codecs", "--models", str(tmp_path / "models")]) == 2
    assert err.getvalue().count("\n") == 1 and str(folder) in err.getvalue()


def test_checking_every_shipped_bundle_is_fast():
    """The panel lists the bundles on registering: full checking of every codec bundle in
    models/ (their manifests say kind 'codec', read as plain JSON) must stay quick (about
    0.04 s measured for 16; 1 s allows a slow machine and a few dozen bundles)."""
    shipped = codec_figures.shipped_bundles(MODELS_DIR)
    assert len(shipped) >= 20
    available_codecs()
    start = time.perf_counter()
    infos = available_codecs()
    elapsed = time.perf_counter() - start
    assert sorted(f"{c.name}-{c.part}" for c in infos) == shipped and elapsed < 1.0
