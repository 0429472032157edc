"""The generator's fast paths against the plain ones (core/generate): the network run on the
masked frames only, top-k on the k codes only, decode steps at inference, bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from motion_tokens.core.errors import MotionTokensError
from motion_tokens.core.generate import Generator
from motion_tokens.core.generate.bundle import generator_tensors
from motion_tokens.core.generate.config import GeneratorConfig
from motion_tokens.core.generate.numpy_model import NumpyGestureTransformer, _expected_shapes
from motion_tokens.core.generate.sampling import masked_decode, sample_tokens
from motion_tokens.core.steps import run_steps

C = 12
CFG = GeneratorConfig(parts=("body", "hands", "face"), vocab=(96, 16, 40), levels=(1, 2, 1), audio_dims=C,
                      d_model=32, layers=2, heads=4, ff=64, window=20, overlap=4, decode_steps=4)


def _weights(cfg=CFG, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    w = {name: rng.normal(scale=0.3, size=shape).astype(np.float32) for name, shape in _expected_shapes(cfg).items()}
    w["audio_std"] = np.abs(w["audio_std"]) + 0.5
    return w


def _generator(cfg=CFG, forward=None) -> Generator:
    manifest = {"name": "gen-speed-test", "model_config": cfg.to_dict(), "token_fps": 30.0, "codec": "test",
                "codecs": {p: {"name": f"test-{p}", "family": "rqvae", "sha256": "0" * 64} for p in cfg.parts}}
    return Generator(manifest, generator_tensors(_weights(cfg), {}), forward=forward)


def _plain(model):
    """The same network seen as a bare Forward (no `bind`): every frame's logits, every step."""
    return lambda tokens, audio, has_audio: model(tokens, audio, has_audio)


def _reference_sample(logits, u, temperature, top_k):
    """The sampling rule of sampling.py written out plainly over all K codes: top-k by masking
    the codes under the k-th largest, inverse CDF in float64."""
    logits = np.asarray(logits, np.float64)
    K = logits.shape[1]
    if 0 < top_k < K:
        kth = np.sort(logits, axis=1)[:, K - top_k][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    p = np.exp((logits - logits.max(axis=1, keepdims=True)) / temperature)
    cdf = np.cumsum(p, axis=1)
    with np.errstate(divide="ignore"):  # log 0 of the codes top-k drops
        return np.minimum((cdf <= u[:, None] * cdf[:, -1:]).sum(axis=1), K - 1), np.log(p / cdf[:, -1:])


def test_selected_frames_logits_equal_the_full_ones():
    model = NumpyGestureTransformer(CFG, _weights())
    rng = np.random.default_rng(1)
    B, T = 3, 20
    tokens = {p: rng.integers(0, k + 1, (B, T, q)) for p, k, q in zip(CFG.parts, CFG.vocab, CFG.levels)}
    audio, has_audio = rng.normal(size=(B, T, C)).astype(np.float32), np.array([True, False, True])
    full = model(tokens, audio, has_audio)
    select = {p: rng.random((B, T)) < f for p, f in zip(CFG.parts, (0.5, 0.1, 0.9))}
    select["hands"][1] = False  # a window with no frame selected for a part
    some = model.bind(audio, has_audio)(tokens, select)
    for i, p in enumerate(CFG.parts):
        assert some[p].shape == (select[p].sum(), CFG.levels[i], CFG.vocab[i])
        np.testing.assert_allclose(some[p], full[p][select[p]], atol=2e-5, rtol=0)


@pytest.mark.parametrize("temperature, top_k", [(1.0, 0), (0.7, 16), (0.5, 5), (0.0, 8)])
def test_masked_frames_only_gives_the_tokens_of_the_full_path(temperature, top_k):
    fast = _generator()
    plain = _generator(forward=_plain(fast.forward))
    features = np.random.default_rng(2).normal(size=(70, C)).astype(np.float32)
    a = fast.generate(features, seed=11, temperature=temperature, top_k=top_k)
    b = plain.generate(features, seed=11, temperature=temperature, top_k=top_k)
    for p in CFG.parts:
        np.testing.assert_array_equal(a[p], b[p])


def test_top_k_sampling_equals_the_plain_rule():
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(500, 64)).astype(np.float32)
    logits[:5, :10] = 3.0  # ties at the k-th largest: all of them stay candidates
    u = rng.random(500)
    for temperature, top_k in [(1.0, 0), (1.0, 16), (0.5, 64), (0.7, 1), (2.0, 5)]:
        tokens, log_p = sample_tokens(logits, u, temperature, top_k)
        ref_tokens, ref_log = _reference_sample(logits, u, temperature, top_k)
        np.testing.assert_array_equal(tokens, ref_tokens)
        np.testing.assert_allclose(log_p, ref_log[np.arange(500), ref_tokens], atol=1e-4)
    # by hand: top-2 of [0.1, 0.2, 0.7] keeps codes 1 and 2 (p 2/9, 7/9); u = 0.3 -> code 2
    tokens, log_p = sample_tokens(np.log(np.array([[0.1, 0.2, 0.7]], np.float32)), np.array([0.3]), 1.0, 2)
    assert tokens[0] == 2 and log_p[0] == pytest.approx(np.log(7 / 9), abs=1e-6)


def test_decode_steps_at_inference():
    gen = _generator()
    features = np.random.default_rng(4).normal(size=(50, C)).astype(np.float32)
    default = gen.generate(features, seed=1)
    same = gen.generate(features, seed=1, decode_steps=CFG.decode_steps)
    for p in CFG.parts:
        np.testing.assert_array_equal(default[p], same[p])
    one = gen.generate(features, seed=1, decode_steps=1)
    assert one["body"].shape == (50, 1) and one["hands"].shape == (50, 2)  # rqvae-family: (T, Q)
    for bad in (0, 2.5, True, 65):
        with pytest.raises(MotionTokensError, match="decode_steps"):
            gen.generate(features, decode_steps=bad)


def test_one_step_fills_every_frame_at_once():
    """decode_steps 1: every unknown frame is sampled in the single pass, nothing re-masked."""
    model = NumpyGestureTransformer(CFG, _weights())
    B, T = 2, 20
    tokens = {p: np.zeros((B, T, q), np.int64) for p, q in zip(CFG.parts, CFG.levels)}
    known = {p: np.zeros((B, T), bool) for p in CFG.parts}
    known["body"][:, :4] = True
    out = masked_decode(model, CFG.parts, {p: CFG.mask_id(p) for p in CFG.parts}, tokens, known,
                        np.zeros((B, T, C), np.float32), np.ones(B, bool),
                        [np.random.default_rng(i) for i in range(B)], 1, 1.0, 0)
    for i, p in enumerate(CFG.parts):
        assert (out[p] < CFG.vocab[i]).all()  # no MASK left
    np.testing.assert_array_equal(out["body"][:, :4], 0)


def _peak_bytes(gen, frames: int) -> int:
    features = np.random.default_rng(5).normal(size=(frames, C)).astype(np.float32)
    tracemalloc.start()
    try:
        run_steps(gen.generate_steps(features, seed=0, batch=4))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_whatever_the_length():
    """20x the input (80 windows, 4 at a time) adds no more than the input and the token arrays
    themselves (a few bytes per frame), far under what keeping every window's logits would take."""
    gen = _generator()
    short, long = _peak_bytes(gen, 16 * 40), _peak_bytes(gen, 16 * 40 * 20)
    frames_extra = 16 * 40 * 19
    per_frame = 2 * 4 * C + 2 * (8 * 4 + 3)  # features and their padded copy; tokens and masks, and theirs
    assert long - short < per_frame * frames_extra, (short, long)
    logits_per_frame = 4 * sum(k * q for k, q in zip(CFG.vocab, CFG.levels))
    assert long - short < logits_per_frame * frames_extra / 4, (short, long)
