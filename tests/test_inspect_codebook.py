"""What each code means (core/inspect/codebook.py), on shipped body bundles (not the hands,
which are being retrained).

References: the bundle's own centroids and normalisation read here (k-means); the codec's own
`decode` of a constant token sequence (RQ-VAE, per frame and downsampled), and the decoder run
here on a short constant latent sequence; the torch model the numpy inference mirrors; the
codebooks' norms for the held codes.
"""

import numpy as np
import pytest
from motion_tokens.core.codecs.registry import MODELS_DIR, load_codec
from motion_tokens.core.errors import OptionError
from motion_tokens.core.inspect.codebook import (
    code_features,
    code_tuples,
    held_codes,
    steady_reach,
    sum_of_codes_features,
)

RQVAE = ("rqvae-6-body", "rqvae4-6-body")


@pytest.fixture(scope="module")
def codecs():
    return {name: load_codec(MODELS_DIR / name) for name in ("kmeans-6-body", "kmeans-6-face", *RQVAE)}


def _constant_decode(codec, row, rows: int) -> np.ndarray:
    """The codec's own decode of the token row repeated `rows` times: (rows x fpl, F)."""
    return codec.decode(np.repeat(np.asarray(row)[None], rows, axis=0))


@pytest.mark.parametrize("name", ["kmeans-6-body", "kmeans-6-face"])
def test_kmeans_code_features_are_the_centroids(codecs, name):
    codec = codecs[name]
    tensors = codec.bundle.tensors()
    centroids = tensors["centroids"] * tensors["std"] + tensors["mean"]  # denormalised by hand
    features = code_features(codec)
    assert features.shape == (64, codec.num_features) and features.dtype == np.float32
    np.testing.assert_allclose(features, centroids, atol=1e-6)
    np.testing.assert_array_equal(code_features(codec, level=0), features)
    for k in (0, 17, 63):  # decoding the token [k] gives the code's features
        np.testing.assert_allclose(codec.decode(np.array([k]))[0], features[k], atol=1e-7)
    np.testing.assert_allclose(sum_of_codes_features(codec, np.array([[5], [9]])), features[[5, 9]], atol=1e-7)


@pytest.mark.parametrize("name", RQVAE)
def test_rqvae_tuples_decode_as_a_constant_token_sequence(codecs, name):
    codec = codecs[name]
    features = code_features(codec)
    tuples = code_tuples(codec)
    assert features.shape == (codec.D, codec.num_features) and tuples.shape == (codec.D, codec.Q)
    np.testing.assert_array_equal(tuples[:, 0], np.arange(codec.D))
    rows = 2 * steady_reach(codec) + 3
    for d in range(0, codec.D, max(1, codec.D // 8)):
        decoded = _constant_decode(codec, tuples[d], rows)
        np.testing.assert_allclose(decoded[len(decoded) // 2], features[d], atol=1e-5)
        # The steady state is exact at every frame (replicated edges): the middle frame is no choice.
        np.testing.assert_allclose(decoded, np.broadcast_to(decoded[0], decoded.shape), atol=1e-5)
    # Any tuples: the sum of their codes, as codec.decode of the tuple held constant.
    picks = np.random.default_rng(0).integers(0, codec.D, size=(3, codec.Q))
    ours = sum_of_codes_features(codec, picks)
    for row, feature in zip(picks, ours):
        decoded = _constant_decode(codec, row, 5)
        np.testing.assert_allclose(decoded[len(decoded) // 2], feature, atol=1e-5)
    assert sum_of_codes_features(codec, picks[0]).shape == (codec.num_features,)


@pytest.mark.parametrize("name", RQVAE)
def test_level_alone_is_the_decoder_of_that_code_held_constant(codecs, name):
    codec = codecs[name]
    books = codec.model.codebooks
    alone = {q: code_features(codec, level=q) for q in (0, codec.Q - 1)}
    for q, features in alone.items():
        assert features.shape == (codec.D, codec.num_features)
        for d in (0, codec.D - 1):
            frames = codec.model.decoder(np.repeat(books[q, d][None], 7, axis=0))  # a short sequence, alone
            np.testing.assert_allclose(features[d], codec.model_output(frames)[len(frames) // 2], atol=1e-5)
    # Level 0 alone is not the tuples' pose: the held codes add something.
    assert np.abs(alone[0] - code_features(codec)).max() > 1e-3


@pytest.mark.parametrize("name", RQVAE)
def test_held_codes_quantise_zero_residual(codecs, name):
    codec = codecs[name]
    books = codec.model.codebooks
    held = held_codes(codec)
    assert held.shape == (codec.Q - 1,)
    # By hand: level 1 takes the code nearest zero (the smallest); each next level the code nearest
    # minus the sum so far.
    residual = np.zeros(books.shape[2])
    for q, code in enumerate(held, start=1):
        assert code == np.argmin(np.linalg.norm(books[q] - residual, axis=1))
        residual = residual - books[q, code]


@pytest.mark.parametrize("name, levels", [("rqvae-6-body", (None, 0, 1)), ("rqvae4-6-body", (None,))])
def test_numpy_and_torch_code_features_agree(codecs, name, levels):
    pytest.importorskip("torch", reason="the reference model needs torch")
    torch_codec = load_codec(MODELS_DIR / name, backend="torch")
    numpy_codec = codecs[name]
    np.testing.assert_array_equal(held_codes(torch_codec), held_codes(numpy_codec))
    for level in levels:  # (rqvae4's levels alone take the same path as rqvae's, at 8 times the frames)
        np.testing.assert_allclose(code_features(torch_codec, level), code_features(numpy_codec, level), atol=1e-5)


def test_levels_a_codec_lacks_are_refused(codecs):
    with pytest.raises(OptionError, match=r"--level 1: codec kmeans-6 \(body\) has levels 0"):
        code_features(codecs["kmeans-6-body"], level=1)
    with pytest.raises(OptionError, match="has levels 0 to 1"):
        code_features(codecs["rqvae-6-body"], level=2)
    with pytest.raises(OptionError):
        code_features(codecs["rqvae-6-body"], level=-1)
    with pytest.raises(ValueError, match="expected"):
        sum_of_codes_features(codecs["rqvae-6-body"], np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="outside"):
        sum_of_codes_features(codecs["rqvae-6-body"], np.array([1, 8]))
