"""Code usage (core/inspect/usage.py) and where it is counted (core/inspect/sources.py).

References: hand-worked counts, entropies and perplexities; core.codecs.metrics' code_usage and
perplexity (another implementation, from tokens); tokens written by encode's own path
(core.codecs.coding.write_encoded) against the same motion coded here; the figures the bundle's
manifest recorded on its training data when it was trained.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.codecs.coding import encode_parts, write_encoded
from motion_tokens.core.codecs.metrics import code_usage, perplexity
from motion_tokens.core.codecs.registry import MODELS_DIR, load_codec
from motion_tokens.core.errors import LayoutError
from motion_tokens.core.formats import read_motion
from motion_tokens.core.inspect.sources import file_tokens, is_tokens_file, stored_tokens, training_usage
from motion_tokens.core.inspect.usage import (
    code_counts,
    code_usage_stats,
    stats_from_frequencies,
    usage_from_counts,
    usage_order,
)

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"


def test_usage_by_hand():
    # Codes 0, 0, 1, 3 of 4: counts 2, 1, 0, 1; p = 1/2, 1/4, 1/4: H = 1.5 bits, perplexity 2^1.5.
    (stats,) = code_usage_stats(np.array([0, 0, 1, 3]), 4)
    np.testing.assert_array_equal(stats.counts, [2, 1, 0, 1])
    assert stats.rows == 4 and stats.usage_percent == 75.0
    assert stats.entropy_bits == pytest.approx(1.5)
    assert stats.perplexity == pytest.approx(2 ** 1.5)
    np.testing.assert_array_equal(stats.unused, [2])
    np.testing.assert_allclose(stats.share_percent, [50, 25, 0, 25])
    assert stats.line() == "3/4 codes used (75.0%), perplexity 2.8, entropy 1.50 bits over 4 rows"


def test_usage_per_level_of_residual_tokens():
    tokens = np.array([[0, 1], [0, 1], [1, 1], [2, 0], [2, 1]])  # (T, Q) = (5, 2), D = 3
    level0, level1 = code_usage_stats(tokens, 3)
    np.testing.assert_array_equal(level0.counts, [2, 1, 2])
    np.testing.assert_array_equal(level1.counts, [1, 4, 0])
    assert level0.rows == level1.rows == 5  # counts sum to the rows of tokens
    # Level 1: p = 1/5, 4/5: H = -(0.2 log2 0.2 + 0.8 log2 0.8) = 0.7219 bits.
    assert level1.entropy_bits == pytest.approx(0.7219280949)
    np.testing.assert_array_equal(level1.unused, [2])
    # Another implementation from the tokens: the same usage % and perplexity per level.
    assert [s.usage_percent for s in (level0, level1)] == pytest.approx(code_usage(tokens, 3).per_quantizer)
    assert [s.perplexity for s in (level0, level1)] == pytest.approx(perplexity(tokens, 3).per_quantizer)


def test_uniform_and_empty_usage():
    (uniform,) = code_usage_stats(np.tile(np.arange(8), 3), 8)
    assert uniform.perplexity == pytest.approx(8) and uniform.entropy_bits == pytest.approx(3)
    (empty,) = code_usage_stats(np.zeros(0, dtype=np.int64), 5)
    assert empty.rows == 0 and empty.usage_percent == 0 and math.isnan(empty.perplexity)
    np.testing.assert_array_equal(empty.unused, np.arange(5))


@pytest.mark.parametrize("tokens, codes, match", [
    (np.array([0.0, 1.0]), 4, "integers"),
    (np.array([0, 4]), 4, r"outside \[0, 4\)"),
    (np.array([-1, 0]), 4, "outside"),
    (np.zeros((2, 2, 2), dtype=int), 4, "integers"),
    (np.array([0]), 0, "positive integer"),
])
def test_bad_tokens_are_refused(tokens, codes, match):
    with pytest.raises(ValueError, match=match):
        code_counts(tokens, codes)


def test_stats_from_frequencies_and_order():
    (stats,) = stats_from_frequencies(np.array([0.5, 0.25, 0.25, 0.0]), 8)
    np.testing.assert_array_equal(stats.counts, [4, 2, 2, 0])
    np.testing.assert_array_equal(usage_from_counts(np.array([1, 3, 3, 0])).unused, [3])
    by_usage = usage_order(usage_from_counts(np.array([1, 3, 3, 0])), 4, "usage")
    np.testing.assert_array_equal(by_usage, [1, 2, 0, 3])  # ties keep id order
    np.testing.assert_array_equal(usage_order(None, 4, "id"), [0, 1, 2, 3])
    with pytest.raises(ValueError):
        usage_order(None, 4, "usage")


# --- sources --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kmeans():
    return load_codec(MODELS_DIR / "kmeans-6-body")


def test_tokens_file_and_motion_file_count_the_same(tmp_path, kmeans):
    encoded = encode_parts(read_motion(DEMO), {"body": "kmeans-6"})
    tokens_path = write_encoded(tmp_path / "take.npz", encoded)
    assert is_tokens_file(tokens_path) and not is_tokens_file(DEMO)
    stored = stored_tokens(tokens_path, kmeans)
    np.testing.assert_array_equal(stored, encoded.tokens["body"])
    np.testing.assert_array_equal(file_tokens(DEMO, kmeans), stored)  # coded on the fly
    (stats,) = code_usage_stats(stored, 64)
    assert stats.rows == read_motion(DEMO).num_frames == 150


def test_tokens_of_another_codebook_are_refused(tmp_path, kmeans):
    encoded = encode_parts(read_motion(DEMO), {"body": "rqvae-6"})
    path = write_encoded(tmp_path / "rq.npz", encoded)
    with pytest.raises(LayoutError, match=r"rq.npz: its body tokens were made by rqvae-6-body, not kmeans-6-body"):
        stored_tokens(path, kmeans)
    with pytest.raises(LayoutError, match="not of the face"):
        stored_tokens(path, load_codec(MODELS_DIR / "kmeans-6-face"))


@pytest.mark.parametrize("name", ["kmeans-6-body", "rqvae-6-body"])
def test_training_usage_matches_the_manifest(name):
    codec = load_codec(MODELS_DIR / name)
    manifest = json.loads((MODELS_DIR / name / "manifest.json").read_text())
    train = manifest["evaluation"]["train"]
    stats = training_usage(codec)
    assert len(stats) == codec.codebooks
    for s in stats:  # counts rebuilt from float32 frequencies: the training frames, to rounding
        assert abs(s.rows - manifest["training"]["train"]["frames"]) <= codec.codebook_size / 2
    layers = train.get("per_layer", [train])
    for s, recorded in zip(stats, layers):
        assert s.usage_percent == pytest.approx(recorded["usage_percent"], abs=0.01)
        assert s.perplexity == pytest.approx(recorded["perplexity"], abs=0.01)
