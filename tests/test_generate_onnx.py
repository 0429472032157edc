"""The generator network on onnxruntime (core/generate/onnx_network.py, onnx_export.py): the
exported graph gives torch's and numpy's logits, the Generator runs it where the bundle has it,
and a damaged or missing network is caught."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from motion_tokens.core.errors import BundleError  # noqa: E402
from motion_tokens.core.generate import load_generator  # noqa: E402
from motion_tokens.core.generate.bundle import write_generator_bundle  # noqa: E402
from motion_tokens.core.generate.model import state_arrays  # noqa: E402
from motion_tokens.core.generate.numpy_model import NumpyGestureTransformer  # noqa: E402
from motion_tokens.core.generate.onnx_export import add_network  # noqa: E402
from motion_tokens.core.generate.onnx_network import ONNX_FILE, OnnxGestureTransformer  # noqa: E402

from test_generate_inference import CFG, C, _features, _manifest, _model, _torch_forward  # noqa: E402


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gen") / "gen-test"
    model = _model(seed=4)
    write_generator_bundle(folder, _manifest(), state_arrays(model), {})
    add_network(folder)
    return folder, model


def test_the_network_gives_torch_and_numpy_logits_at_any_batch_and_length(bundle):
    folder, model = bundle
    net = OnnxGestureTransformer(CFG, folder / ONNX_FILE)
    numpy_net = NumpyGestureTransformer(CFG, state_arrays(model))
    rng = np.random.default_rng(5)
    for B, T in ((1, 7), (5, CFG.window)):  # exported at another batch and length: both are dynamic
        tokens = {"body": rng.integers(0, 65, (B, T, 1)), "hands": rng.integers(0, 9, (B, T, 2))}
        audio = rng.normal(size=(B, T, C)).astype(np.float32)
        has = rng.random(B) < 0.5
        ours, theirs, ref = net(tokens, audio, has), numpy_net(tokens, audio, has), _torch_forward(model)(tokens, audio, has)
        for p in CFG.parts:
            assert ours[p].shape == (B, T, CFG.levels[CFG.parts.index(p)], CFG.vocab[CFG.parts.index(p)])
            np.testing.assert_allclose(ours[p], ref[p], atol=1e-4, rtol=0)
            np.testing.assert_allclose(ours[p], theirs[p], atol=1e-4, rtol=0)


def test_the_generator_runs_it_and_its_tokens_are_torch_s(bundle):
    folder, model = bundle
    gen = load_generator(folder, check_codecs=False)
    assert gen.runtime == "onnxruntime"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["network"]["file"] == ONNX_FILE and manifest["network"]["max_logit_difference_from_torch"] < 1e-4
    features = _features(60)
    ours = gen.generate(features, seed=3, temperature=0.0)  # argmax: no draw can fall between the runtimes
    from motion_tokens.core.generate import Generator
    torch_gen = Generator(gen.manifest, {}, forward=_torch_forward(model))
    theirs = torch_gen.generate(features, seed=3, temperature=0.0)
    for p in CFG.parts:
        np.testing.assert_array_equal(ours[p], theirs[p])
    sampled = gen.generate(features, seed=3, temperature=1.0)
    assert all(np.array_equal(sampled[p], gen.generate(features, seed=3, temperature=1.0)[p]) for p in CFG.parts)


def test_without_the_network_or_onnxruntime_numpy_runs_it(tmp_path, bundle):
    _, model = bundle
    write_generator_bundle(tmp_path / "plain", _manifest(), state_arrays(model), {})
    assert load_generator(tmp_path / "plain", check_codecs=False).runtime == "numpy"
    code = ("import sys; sys.modules['onnxruntime'] = None\n"
            "from motion_tokens.core.generate import load_generator\n"
            f"print(load_generator({str(bundle[0])!r}, check_codecs=False).runtime)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "numpy", run.stderr


def test_a_damaged_or_missing_network_is_refused(tmp_path, bundle):
    import shutil

    folder = tmp_path / "gen-damaged"
    shutil.copytree(bundle[0], folder)
    data = bytearray((folder / ONNX_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / ONNX_FILE).write_bytes(bytes(data))
    with pytest.raises(BundleError, match=ONNX_FILE):
        load_generator(folder, check_codecs=False)
    (folder / ONNX_FILE).unlink()
    with pytest.raises(BundleError, match=ONNX_FILE):
        load_generator(folder, check_codecs=False)


def test_shipped_generators_carry_their_network():
    from motion_tokens.core.paths import MODELS_DIR

    for folder in sorted(MODELS_DIR.glob("gen-*")):
        gen = load_generator(folder)
        assert gen.runtime == "onnxruntime", folder


def test_the_pipeline_loads_a_generator_once_and_again_when_it_changes(tmp_path, bundle):
    import os
    import shutil

    from motion_tokens.core.generate.inference import cached_generator

    from motion_tokens.core.paths import MODELS_DIR

    folder = tmp_path / "gen-kmeans-10"
    shutil.copytree(MODELS_DIR / "gen-kmeans-10", folder)
    first = cached_generator(folder, models_dir=MODELS_DIR)
    assert cached_generator(folder, models_dir=MODELS_DIR) is first and first.runtime == "onnxruntime"
    data = bytearray((folder / ONNX_FILE).read_bytes())
    data[-1] ^= 0xFF
    (folder / ONNX_FILE).write_bytes(bytes(data))
    os.utime(folder / ONNX_FILE, ns=(1, 1))  # another time: the file was rewritten
    with pytest.raises(BundleError, match=ONNX_FILE):  # reloaded, so the damage is caught
        cached_generator(folder, models_dir=MODELS_DIR)


def test_the_export_tool_adds_the_network_to_an_older_bundle(tmp_path, bundle):
    from pathlib import Path

    _, model = bundle
    folder = tmp_path / "gen-old"
    write_generator_bundle(folder, _manifest(), state_arrays(model), {})
    weights = (folder / "weights.safetensors").read_bytes()
    tool = Path(__file__).resolve().parents[1] / "tools" / "export_onnx.py"
    run = subprocess.run([sys.executable, str(tool), str(folder)], capture_output=True, text=True)
    assert run.returncode == 0 and f"{folder / ONNX_FILE}: written" in run.stdout, run.stderr
    assert (folder / "weights.safetensors").read_bytes() == weights  # the weights stay as they were
    assert load_generator(folder, check_codecs=False).runtime == "onnxruntime"
    bare = subprocess.run([sys.executable, str(tool)], capture_output=True, text=True)
    assert bare.returncode == 2 and "export_onnx.py models/gen-kmeans-10" in bare.stderr
    missing = subprocess.run([sys.executable, str(tool), str(tmp_path / "none")], capture_output=True, text=True)
    assert missing.returncode == 2 and "none" in missing.stderr and "Traceback" not in missing.stderr
