"""Non-finite numbers never reach a written motion: a bundle with a NaN weight or a zero
normaliser is refused on loading (BundleError naming the weights file and the tensor), and the
writers (npz, bvh, tokens file) refuse motion holding NaN or infinity, naming what is non-finite."""

from pathlib import Path

import numpy as np
import pytest
from bundle_damage import HAS_SHIPPED, WEIGHTS, copy_bundle, edit_tensors
from motion_tokens.core.codecs.registry import load_codec
from motion_tokens.core.errors import BundleError, OutputError
from motion_tokens.core.formats import read_motion, write_bvh, write_smplx_npz
from motion_tokens.core.formats.tokens import write_tokens_file

DEMO = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"


@pytest.mark.skipif(not HAS_SHIPPED, reason="models/ holds no bundles")
@pytest.mark.parametrize("bundle, tensor, value, problem", [
    ("kmeans-6-body", "centroids", np.nan, "non-finite"),
    ("rqvae-6-body", "model.decoder.0.weight", np.inf, "non-finite"),
    ("kmeans-9-hands", "std", 0.0, "a normaliser must be positive"),
    ("rqvae-6-hands", "mean", np.nan, "non-finite"),
])
def test_bad_weights_refused_on_loading(tmp_path, bundle, tensor, value, problem):
    folder = copy_bundle(tmp_path, bundle)

    def spoil(tensors):
        tensors[tensor].flat[3] = value
    edit_tensors(folder, spoil)
    with pytest.raises(BundleError) as err:
        load_codec(folder)
    message = str(err.value)
    assert message.startswith(str(folder / WEIGHTS)) and f"`{tensor}`" in message and problem in message


def _spoiled():
    motion = read_motion(DEMO)
    motion.rotations[3:8, 1] = np.nan  # left_hip, frames 3-7
    return motion


@pytest.mark.parametrize("write", [
    lambda path, motion: write_smplx_npz(path.with_suffix(".npz"), motion),
    lambda path, motion: write_bvh(path.with_suffix(".bvh"), motion),
    lambda path, motion: write_tokens_file(path.with_suffix(".npz"), motion, {"body": np.zeros(150, int)},
                                           {"body": "kmeans-6"}, 30.0),
], ids=["npz", "bvh", "tokens"])
def test_writers_refuse_non_finite_motion(tmp_path, write):
    with pytest.raises(OutputError) as err:
        write(tmp_path / "out", _spoiled())
    assert "rotations of left_hip (frames 3-7)" in str(err.value)
    assert not list(tmp_path.iterdir())


def test_non_finite_translation_and_expressions_named(tmp_path):
    motion = read_motion(DEMO)
    motion.trans[10] = np.inf
    motion.expressions[4, 0] = np.nan
    with pytest.raises(OutputError, match=r"trans \(frame 10\); expressions \(frame 4\)"):
        write_smplx_npz(tmp_path / "out.npz", motion)
