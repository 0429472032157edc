"""The generator's torch-free inference: numpy network against torch, seeded sampling, windows,
pins, the bundle format (core/generate)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from motion_tokens.core.codecs.bundle import load_bundle  # noqa: E402
from motion_tokens.core.errors import BundleError, MotionTokensError  # noqa: E402
from motion_tokens.core.generate import Generator, Pin, load_generator  # noqa: E402
from motion_tokens.core.generate.bundle import generator_tensors, write_generator_bundle  # noqa: E402
from motion_tokens.core.generate.config import GeneratorConfig  # noqa: E402
from motion_tokens.core.generate.model import GestureTransformer, state_arrays  # noqa: E402
from motion_tokens.core.generate.numpy_model import NumpyGestureTransformer  # noqa: E402
from motion_tokens.core.generate.sampling import sample_tokens  # noqa: E402
from motion_tokens.core.generate.windows import plan_windows  # noqa: E402
from motion_tokens.core.paths import MODELS_DIR  # noqa: E402

C = 20
CFG = GeneratorConfig(parts=("body", "hands"), vocab=(64, 8), levels=(1, 2), audio_dims=C, d_model=32,
                      layers=2, heads=4, ff=64, window=24, overlap=4, decode_steps=3)


def _model(cfg=CFG, seed=0) -> GestureTransformer:
    torch.manual_seed(seed)
    model = GestureTransformer(cfg).eval()
    with torch.no_grad():  # non-trivial normalisation and no-audio vector, so both are exercised
        model.audio_mean.uniform_(-1, 1)
        model.audio_std.uniform_(0.5, 2)
        model.no_audio.normal_()
    return model


def _manifest(cfg=CFG, families=("kmeans", "rqvae")) -> dict:
    return {"name": "gen-test", "model_config": cfg.to_dict(), "token_fps": 30.0, "codec": "test",
            "codecs": {p: {"name": f"test-{p}", "family": f, "sha256": "0" * 64} for p, f in zip(cfg.parts, families)}}


def _torch_forward(model):
    def forward(tokens, audio, has_audio):
        with torch.no_grad():
            out = model({p: torch.from_numpy(t) for p, t in tokens.items()}, torch.from_numpy(audio),
                        torch.from_numpy(has_audio))
        return {p: v.numpy() for p, v in out.items()}
    return forward


def _features(frames, seed=1):
    return np.random.default_rng(seed).normal(size=(frames, C)).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    return _model()


@pytest.fixture(scope="module")
def gen(model):
    return Generator(_manifest(), generator_tensors(state_arrays(model), {}))


def test_numpy_logits_equal_torch(model):
    numpy_model = NumpyGestureTransformer(CFG, state_arrays(model))
    rng = np.random.default_rng(0)
    tokens = {"body": rng.integers(0, 65, (3, 24, 1)), "hands": rng.integers(0, 9, (3, 24, 2))}
    audio, has_audio = rng.normal(size=(3, 24, C)).astype(np.float32), np.array([True, False, True])
    ours, theirs = numpy_model(tokens, audio, has_audio), _torch_forward(model)(tokens, audio, has_audio)
    for p in CFG.parts:
        assert ours[p].shape == (3, 24, CFG.levels[CFG.parts.index(p)], CFG.vocab[CFG.parts.index(p)])
        np.testing.assert_allclose(ours[p], theirs[p], atol=1e-4, rtol=0)


def test_numpy_tokens_equal_torch_tokens(model, gen):
    torch_gen = Generator(_manifest(), generator_tensors(state_arrays(model), {}), forward=_torch_forward(model))
    features = _features(100)
    ours, theirs = gen.generate(features, seed=7), torch_gen.generate(features, seed=7)
    for p in CFG.parts:
        np.testing.assert_array_equal(ours[p], theirs[p])


def test_shapes_seeds_and_batching(gen):
    features = _features(100)
    a = gen.generate(features, seed=3)
    assert a["body"].shape == (100,) and a["hands"].shape == (100, 2)  # k-means (T,), RQ-VAE (T, Q)
    assert a["body"].dtype == np.int64 and 0 <= a["body"].min() and a["body"].max() < 64
    b = gen.generate(features, seed=3)
    c = gen.generate(features, seed=4)
    for p in CFG.parts:
        np.testing.assert_array_equal(a[p], b[p])
    assert (a["body"] != c["body"]).mean() > 0.5  # 64 codes: another seed differs almost everywhere
    from motion_tokens.core.steps import run_steps
    one_at_a_time = run_steps(gen.generate_steps(features, seed=3, batch=1))
    for p in CFG.parts:
        np.testing.assert_array_equal(a[p], one_at_a_time[p])


def test_pins_stay_exactly(gen):
    features = _features(90)
    rng = np.random.default_rng(5)
    body = rng.integers(0, 64, 30)
    hands = rng.integers(0, 8, (10, 2))
    pins = [Pin("body", 10, 40, {"body": body}), Pin(None, 60, 70, {"body": body[:10], "hands": hands})]
    out = gen.generate(features, seed=0, pins=pins)
    np.testing.assert_array_equal(out["body"][10:40], body)
    np.testing.assert_array_equal(out["body"][60:70], body[:10])
    np.testing.assert_array_equal(out["hands"][60:70], hands)
    with pytest.raises(MotionTokensError, match="outside"):
        gen.generate(features, pins=[Pin("body", 80, 95, {"body": np.zeros(15, int)})])
    with pytest.raises(MotionTokensError, match="hands"):
        gen.generate(features, pins=[Pin(None, 0, 5, {"body": np.zeros(5, int)})])
    with pytest.raises(MotionTokensError, match=r"\[0, 8\)"):
        gen.generate(features, pins=[Pin("hands", 0, 2, {"hands": np.full((2, 2), 8)})])


def test_bad_inputs(gen):
    with pytest.raises(MotionTokensError, match=r"\(T, 20\)"):
        gen.generate(np.zeros((10, 3), np.float32))
    with pytest.raises(MotionTokensError, match="non-finite"):
        gen.generate(np.full((10, C), np.nan, np.float32))
    with pytest.raises(MotionTokensError, match="top_k"):
        gen.generate(_features(10), top_k=-1)


def test_window_plan_covers_with_overlaps():
    # 100 frames, windows of 24 overlapping by 4: starts every 20 frames, ceil(96 / 20) = 5 windows
    plan = plan_windows(100, 24, 4)
    assert plan.starts == (0, 20, 40, 60, 80) and plan.padded == 104
    anchors, fills = plan.passes
    assert anchors == (0, 2, 4) and fills == (1, 3)
    assert plan_windows(24, 24, 4).starts == (0,) and plan_windows(7, 24, 4).length == 7


def test_sampling_by_hand():
    logits = np.log(np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]], np.float32))
    # inverse CDF: u=0.25 falls in [0.1, 0.3) -> code 1; u=0.8 in [0.75, 1) -> code 2
    tokens, log_p = sample_tokens(logits, np.array([0.25, 0.8]), 1.0, 0)
    np.testing.assert_array_equal(tokens, [1, 2])
    np.testing.assert_allclose(log_p, np.log([0.2, 0.25]), atol=1e-6)
    # top-1 keeps only the largest; temperature 0 is argmax
    np.testing.assert_array_equal(sample_tokens(logits, np.array([0.0, 0.99]), 1.0, 1)[0], [2, 0])
    np.testing.assert_array_equal(sample_tokens(logits, np.array([0.0, 0.0]), 0.0, 0)[0], [2, 0])


def test_bundle_round_trip_and_codec_hashes(tmp_path, model):
    parts = ("body", "hands")
    cfg = GeneratorConfig(parts=parts, vocab=(1024, 1024), levels=(1, 1), audio_dims=C, d_model=32, layers=1,
                          heads=2, ff=32, window=16, overlap=2, decode_steps=2)
    manifest = _manifest(cfg, ("kmeans", "kmeans"))
    manifest["codecs"] = {p: {"name": f"kmeans-10-{p}", "family": "kmeans",
                              "sha256": load_bundle(MODELS_DIR / f"kmeans-10-{p}").weights_sha256} for p in parts}
    write_generator_bundle(tmp_path / "gen-x", manifest, state_arrays(_model(cfg)), {"mel": np.ones((2, 3))})
    gen = load_generator(tmp_path / "gen-x", models_dir=MODELS_DIR)
    assert gen.codec_names == {"body": "kmeans-10-body", "hands": "kmeans-10-hands"} and gen.token_fps == 30.0
    assert gen.generate(_features(40), seed=1)["body"].shape == (40,)
    manifest["codecs"]["hands"]["sha256"] = "1" * 64
    write_generator_bundle(tmp_path / "gen-y", manifest, state_arrays(_model(cfg)), {})
    with pytest.raises(BundleError, match="retrain"):
        load_generator(tmp_path / "gen-y", models_dir=MODELS_DIR)
    with pytest.raises(BundleError, match="no such bundle"):
        load_generator(tmp_path / "gen-none")


def test_ablation_without_cross_attention_matches_torch():
    from dataclasses import replace

    cfg = replace(CFG, cross_attention=False)
    model = _model(cfg, seed=3)
    rng = np.random.default_rng(2)
    tokens = {"body": rng.integers(0, 65, (2, 10, 1)), "hands": rng.integers(0, 9, (2, 10, 2))}
    audio, has_audio = rng.normal(size=(2, 10, C)).astype(np.float32), np.array([True, True])
    ours = NumpyGestureTransformer(cfg, state_arrays(model))(tokens, audio, has_audio)
    theirs = _torch_forward(model)(tokens, audio, has_audio)
    np.testing.assert_allclose(ours["hands"], theirs["hands"], atol=1e-4, rtol=0)
    # without cross-attention the body's logits do not depend on the hands' tokens
    other = dict(tokens, hands=(tokens["hands"] + 1) % 9)
    again = NumpyGestureTransformer(cfg, state_arrays(model))(other, audio, has_audio)
    np.testing.assert_array_equal(ours["body"], again["body"])


def test_inference_imports_no_torch(tmp_path):
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from motion_tokens.core.generate import load_generator, Generator, Pin\n"
            "import motion_tokens.core.generate.numpy_model, motion_tokens.core.generate.sampling\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    import os

    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert run.returncode == 0, run.stderr
