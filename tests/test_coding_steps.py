"""Coding and decoding in slices of frames (core.codecs.coding): the same tokens and motion as
core.codecs.coding's one-piece encode_parts and decode_parts, for the per-frame k-means and
for the RQ-VAE, whose slices are coded with their convolutions' reach of context."""

from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import steps as chunks
from motion_tokens.core.codecs.coding import (
    decode_parts,
    decode_parts_steps,
    encode_parts,
    encode_parts_steps,
    load_codecs,
)
from motion_tokens.core.formats import read_motion
from motion_tokens.core.steps import run_steps

EXCERPT = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"


@pytest.mark.parametrize("codec", ["kmeans-9", "rqvae-9", "rqvae-12"])
def test_the_sliced_coding_is_the_whole_coding(monkeypatch, codec):
    motion = read_motion(EXCERPT)
    names = {"body": codec, "hands": codec}
    whole = encode_parts(motion, names)
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 7)  # many boundaries inside the 150 frames
    shown = []
    sliced = run_steps(encode_parts_steps(motion, load_codecs(names)), shown.append)
    assert len(shown) == 4 * 22 and shown[-1].total == 4 * 150
    assert [p.done for p in shown] == sorted(p.done for p in shown)
    for part in names:
        np.testing.assert_array_equal(sliced.tokens[part], whole.tokens[part])
    np.testing.assert_array_equal(sliced.decoded.rotations, whole.decoded.rotations)
    assert sliced.decoded.name == whole.decoded.name
    again = run_steps(decode_parts_steps(whole.tokens, whole.codecs, whole.decoded))
    np.testing.assert_array_equal(again.rotations, decode_parts(whole.tokens, whole.codecs, whole.decoded).rotations)


def test_too_little_context_would_differ(monkeypatch):
    """The reach is needed: a slice coded with one frame less of context decodes otherwise."""
    motion = read_motion(EXCERPT)
    codecs = load_codecs({"body": "rqvae-9"})
    whole = encode_parts(motion, {"body": "rqvae-9"})
    monkeypatch.setattr(chunks, "CHUNK_FRAMES", 7)
    reach = codecs["body"].context_frames
    assert reach == (41, 42)  # dilations (1, 3, 9, 27)
    monkeypatch.setattr(type(codecs["body"]), "context_frames", property(lambda self: (reach[0], reach[1] - 1)))
    sliced = run_steps(encode_parts_steps(motion, codecs))
    np.testing.assert_array_equal(sliced.tokens["body"], whole.tokens["body"])
    assert not np.array_equal(sliced.decoded.rotations, whole.decoded.rotations)
