"""The tokens file as a format (core/formats/tokens.py), the codecs' family attributes
(core/codecs/base.py), and checking a tokens file against its bundles (core/codecs/coding.py).

References: values written here by hand (codebook sizes, shapes, the messages' numbers), the
arrays as numpy reads them back, and encode/decode round trips. The command line's handling
of bad tokens files is in test_cli_codecs.py.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.codecs.bundle import write_bundle
from motion_tokens.core.codecs.coding import (
    decoded_motion,
    encode_parts,
    load_tokens_codecs,
    write_encoded,
)
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.codecs.registry import (
    MODELS_DIR,
    available_codecs,
    codec_from_arrays,
    installed_parts,
    load_codec,
    require_codec_folder,
)
from motion_tokens.core.errors import LayoutError, MotionTokensError
from motion_tokens.core.formats import read_motion
from motion_tokens.core.formats.tokens import read_tokens_file, write_tokens_file

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"


def _kmeans_arrays(part: str, k: int = 64):
    """A kmeans-6 manifest and weights: k frames of the demo excerpt as centroids."""
    features = part_features(read_motion(DEMO), part)
    F = features.shape[1]
    tensors = {"centroids": features[np.linspace(0, len(features) - 1, k).astype(int)].astype(np.float32),
               "mean": np.zeros(F, np.float32), "std": np.ones(F, np.float32)}
    return {"name": "kmeans-6", "kind": "codec", "family": "kmeans", "part": part, "k": k, "fps": 30.0}, tensors


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A models folder with kmeans-6 for the body only."""
    folder = tmp_path_factory.mktemp("models")
    write_bundle(folder / "kmeans-6-body", *_kmeans_arrays("body"))
    return folder


@pytest.fixture
def shipped_rqvae():
    return load_codec(MODELS_DIR / "rqvae-9-body")  # committed: missing fails, never skips


# --- the format, without codecs -------------------------------------------------------------

def test_write_and_read_a_tokens_file(tmp_path):
    motion = read_motion(DEMO)
    tokens = {"body": np.arange(150) % 64, "hands": np.arange(450).reshape(150, 3) % 8}
    path = write_tokens_file(tmp_path / "t.npz", motion, tokens, {"body": "kmeans-6", "hands": "rqvae-9"}, 30.0)
    with np.load(path, allow_pickle=False) as data:
        assert str(data["codec"]) == "kmeans-6-body rqvae-9-hands"
        assert data["tokens_body"].dtype == np.int32 and data["tokens_hands"].shape == (150, 3)
        assert float(data["token_fps"]) == 30.0
    back = read_tokens_file(path)
    assert back.path == path and back.codec_names == {"body": "kmeans-6", "hands": "rqvae-9"}
    assert back.token_fps == 30.0 and back.template.num_frames == 150
    for part, part_tokens in tokens.items():
        np.testing.assert_array_equal(back.tokens[part], part_tokens)
    np.testing.assert_allclose(back.template.trans, motion.trans, atol=1e-6)
    assert back.seam_frames == ()  # encoded motion has none
    seamed = read_tokens_file(write_tokens_file(tmp_path / "s.npz", motion, tokens, back.codec_names, 30.0,
                                                seam_frames=(56, 120)))
    assert seamed.seam_frames == (56, 120)


def test_the_format_refuses_a_bad_layout(tmp_path):
    motion = read_motion(DEMO)
    good = write_tokens_file(tmp_path / "good.npz", motion, {"body": np.zeros(150, int)}, {"body": "kmeans-6"}, 30.0)
    with np.load(good, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    cases = [
        ({"tokens_body": None}, "holds no tokens"),
        ({"codec": np.asarray("kmeans-6-body kmeans-9-body")}, "two bundles for the body"),
        ({"codec": np.asarray("kmeans-6-hands")}, "no bundle named for `tokens_body`"),
        ({"tokens_body": np.zeros(150, np.float32)}, "`tokens_body` holds float32 values; tokens are integers"),
        ({"token_fps": np.zeros(2)}, "`token_fps` must be one number"),
        ({"seam_frames": np.array([0.5])}, "`seam_frames` must be a list of frame indices"),
        ({"seam_frames": np.array([10, 150])}, "`seam_frames` must be increasing frames in [0, 150)"),
        ({"seam_frames": np.array([20, 10])}, "`seam_frames` must be increasing frames"),
    ]
    for i, (changes, problem) in enumerate(cases):
        bad = {k: v for k, v in {**arrays, **changes}.items() if v is not None}
        path = tmp_path / f"bad{i}.npz"
        np.savez(path, **bad)
        with pytest.raises(LayoutError, match="^" + str(path)) as err:
            read_tokens_file(path)
        assert problem in str(err.value)


def test_the_format_knows_no_codec():
    """formats sit below codecs: reading a tokens file imports nothing of core.codecs."""
    script = ("import sys, motion_tokens.core.formats.tokens\n"
              "print([m for m in sys.modules if m.startswith('motion_tokens.core.codecs')])")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# --- what the families say about themselves -------------------------------------------------

def test_family_attributes(shipped_rqvae):
    km = codec_from_arrays(*_kmeans_arrays("body"))
    assert (km.size_label, km.codebook_size, km.codebooks, km.token_shape(5)) == ("k=64", 64, 1, (5,))
    rq = shipped_rqvae
    assert (rq.size_label, rq.codebook_size, rq.codebooks, rq.token_shape(5)) == ("D=8 x Q=3", 8, 3, (5, 3))
    for info in available_codecs():
        assert info.size == load_codec(info.folder).size_label


def test_check_tokens_says_what_is_wrong(shipped_rqvae):
    km = codec_from_arrays(*_kmeans_arrays("body"))
    np.testing.assert_array_equal(km.check_tokens(np.array([0, 63], np.int32), 2), [0, 63])
    for tokens, frames, message in [
        (np.zeros(3), None, "holds float64 values; tokens are integers"),
        (np.zeros(3, int), 4, "has shape (3,), expected (4,) (k-means codec kmeans-6: k=64; 4 frames)"),
        (np.array([0, 64]), None, "holds tokens in [0, 64], outside [0, 64) (k-means codec kmeans-6: k=64)"),
    ]:
        with pytest.raises(ValueError) as err:
            km.check_tokens(tokens, frames)
        assert str(err.value) == message
    with pytest.raises(ValueError) as err:
        shipped_rqvae.check_tokens(np.zeros((4, 2), int))
    assert str(err.value) == "has shape (4, 2), expected (T, 3) (RQ-VAE codec rqvae-9: D=8, Q=3)"
    with pytest.raises(MotionTokensError, match=r"codec kmeans-6 \(body\): the token array holds tokens in \[-1, 0\]"):
        km.decode(np.array([-1, 0]))


# --- a tokens file against its bundles ------------------------------------------------------

def test_tokens_file_decodes_to_the_encoded_motion(models, tmp_path):
    encoded = encode_parts(read_motion(DEMO), {"body": "kmeans-6"}, models)
    tokens_file = read_tokens_file(write_encoded(tmp_path / "t.npz", encoded))
    codecs = load_tokens_codecs(tokens_file, models)
    assert list(codecs) == ["body"] and codecs["body"].name == "kmeans-6"
    decoded = decoded_motion(tokens_file, codecs)
    np.testing.assert_allclose(decoded.rotations, encoded.decoded.rotations, atol=1e-6)


def test_tokens_file_checked_against_its_bundles(models, tmp_path):
    motion = read_motion(DEMO)
    cases = [
        ({"hands": np.zeros(150, int)}, {"hands": "kmeans-6"}, 30.0,
         "names the codec bundle kmeans-6-hands, which is not installed"),
        ({"body": np.zeros(150, int)}, {"body": "kmeans-6"}, 25.0, "`token_fps` is 25 but codec kmeans-6-body codes 30"),
        ({"body": np.zeros((150, 2), int)}, {"body": "kmeans-6"}, 30.0,
         "`tokens_body` has shape (150, 2), expected (150,) (k-means codec kmeans-6: k=64; 150 frames in `poses`)"),
        ({"body": np.full(150, 64)}, {"body": "kmeans-6"}, 30.0, "`tokens_body` holds tokens in [64, 64], outside [0, 64)"),
    ]
    for i, (tokens, names, fps, problem) in enumerate(cases):
        tokens_file = read_tokens_file(write_tokens_file(tmp_path / f"t{i}.npz", motion, tokens, names, fps))
        with pytest.raises(LayoutError) as err:
            load_tokens_codecs(tokens_file, models)
        assert str(err.value).startswith(str(tokens_file.path)) and problem in str(err.value), err.value


def test_installed_codecs_named_when_one_is_missing(models, tmp_path):
    assert require_codec_folder("kmeans-6", "body", models) == models / "kmeans-6-body"
    assert installed_parts("kmeans-6", models) == ["body"]
    with pytest.raises(MotionTokensError) as err:
        require_codec_folder("kmeans-6", "hands", models)
    assert str(err.value) == (f"codec 'kmeans-6' is not installed for the hands: no bundle kmeans-6-hands in {models} "
                              "(installed: kmeans-6-body); list them with `motion-tokens codecs`")
    with pytest.raises(MotionTokensError, match="not a codec name"):
        require_codec_folder("../kmeans-6", "body", models)
    with pytest.raises(MotionTokensError) as err:
        installed_parts("rqvae-9", tmp_path / "none")
    assert str(err.value) == (f"no codec bundle named 'rqvae-9' in {tmp_path / 'none'} (installed: none); "
                              "list them with `motion-tokens codecs`")
