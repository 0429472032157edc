"""Training tiny codecs on the demo excerpts (seconds): bundles, determinism, manifests, errors."""

import math
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.codecs.bundle import bits_per_frame
from motion_tokens.core.codecs.features import mirrored_part, part_features
from motion_tokens.core.codecs.registry import load_codec
from motion_tokens.core.codecs.training.dataset import Split
from motion_tokens.core.codecs.training.rqvae_fit import RQVAETraining
from motion_tokens.core.codecs.training.train import train_codec
from motion_tokens.core.errors import MissingFileError, MotionTokensError
from motion_tokens.core.formats import read_motion

REPO = Path(__file__).resolve().parents[1]
DATA = [REPO / "demo" / "beat2_excerpt.npz", REPO / "demo" / "bandai_excerpt.bvh"]
# The Bandai excerpt is held out whole, BEAT2's last 25% as a block: 112 training frames.
SPLIT = Split(frozenset({"bandai_excerpt"}), {"beat2_excerpt": 0.25})
TINY = RQVAETraining(steps=6, batch=4, window=16, warmup=1)


def _train(tmp_path, family, bits, part, seed=0, out="codec", **kw):
    return train_codec(family, bits, part, DATA, tmp_path / out, seed=seed, split=SPLIT, progress=lambda s: None,
                       rqvae_training=TINY, **kw)


@pytest.fixture(scope="module")
def demo_features():
    m = read_motion(DATA[0])
    return {p: part_features(m, p) for p in ("body", "hands")}


def test_kmeans_bundle_tokens_and_manifest(tmp_path, demo_features):
    bundle = _train(tmp_path, "kmeans", 6, "body")
    m = bundle.manifest
    assert (m["name"], m["family"], m["part"], m["k"], m["kind"]) == ("kmeans-6", "kmeans", "body", 64, "codec")
    assert m["bits_per_frame"] == bits_per_frame(m) == 6
    # 112 training frames < 2 x 64 codes: fitted on the takes at 90 fps instead, and said so.
    assert m["training"]["fit_fps"] == 90 and m["training"]["train_vectors"] > 2 * 112
    assert any("90 fps" in n for n in m["notes"])
    assert m["training"]["train"]["frames"] == 112 and m["training"]["held_out"]["frames"] == 98
    assert "python -m motion_tokens train-codec --family kmeans --bits 6 --part body" in m["command"]
    ev = m["evaluation"]["held_out"]
    assert set(ev["rmse_cm_by_source"]) == {"demo"} and 0 < ev["usage_percent"] <= 100
    codec = load_codec(bundle.folder)
    tokens = codec.encode(demo_features["body"])
    assert tokens.shape == (150,) and tokens.min() >= 0 and tokens.max() < 64


def test_hand_codecs_are_evaluated_on_the_takes_and_their_mirror_images(tmp_path):
    """The hands are fitted mirrored, so both splits are measured with the mirror images too
    (twice the frames); the body's figures are on the takes alone. Coding the mirror images by
    hand gives the manifest's held-out usage."""
    from motion_tokens.core.codecs.training.dataset import part_dataset, read_takes, split_takes

    hands = _train(tmp_path, "kmeans", 6, "hands", out="hands").manifest
    held = hands["training"]["held_out"]["frames"]
    assert hands["evaluation"]["held_out"]["frames"] == 2 * held and held > 0
    assert hands["evaluation"]["train"]["frames"] == 2 * hands["training"]["train"]["frames"]
    assert hands["evaluation"]["takes"] == "the takes and their left/right mirror images"
    _, held_takes = split_takes(read_takes(DATA), SPLIT)
    arrays = part_dataset(held_takes, "hands").arrays
    codec = load_codec(tmp_path / "hands")
    tokens = np.concatenate([codec.encode(a) for a in arrays] + [codec.encode(mirrored_part(a, "hands")) for a in arrays])
    assert hands["evaluation"]["held_out"]["usage_percent"] == pytest.approx(100 * len(np.unique(tokens)) / 64, abs=0.1)
    body = _train(tmp_path, "kmeans", 6, "body", out="body").manifest
    assert body["evaluation"]["held_out"]["frames"] == body["training"]["held_out"]["frames"] == 98
    assert body["evaluation"]["takes"] == "the takes as they are"


def test_kmeans_is_deterministic(tmp_path, demo_features):
    a = load_codec(_train(tmp_path, "kmeans", 6, "hands", out="a").folder)
    b = load_codec(_train(tmp_path, "kmeans", 6, "hands", out="b").folder)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    np.testing.assert_array_equal(a.encode(demo_features["hands"]), b.encode(demo_features["hands"]))


def test_rqvae_bundle_tokens_decode_and_determinism(tmp_path, demo_features):
    a = _train(tmp_path, "rqvae", 9, "hands", out="a")
    b = _train(tmp_path, "rqvae", 9, "hands", out="b")
    assert a.manifest["files"] == b.manifest["files"]  # the same seed gives the same weights, byte for byte
    m = a.manifest
    assert (m["D"], m["Q"], m["bits_per_frame"]) == (8, 3, 9)
    assert m["model_config"]["part"] == "hands" and m["training"]["mirrored_hands"]
    assert m["training"]["train_vectors"] == 224  # 112 frames and their mirror images
    codec = load_codec(a.folder, backend="torch")
    f = demo_features["hands"]
    tokens = codec.encode(f)
    assert tokens.shape == (150, 3) and tokens.dtype == np.int64 and tokens.min() >= 0 and tokens.max() < 8
    # Decoding the tokens gives the model's quantised forward output.
    import torch

    with torch.no_grad():
        x = torch.from_numpy(codec.model_input(f))[None]  # 6D, normalised (the version-2 model)
        forward = codec.model_output(codec.model(x).recon[0].numpy())
    np.testing.assert_allclose(codec.decode(tokens), forward, atol=1e-5)
    other = _train(tmp_path, "rqvae", 9, "hands", seed=1, out="c")
    assert other.manifest["files"] != a.manifest["files"]


def test_float16_weights_halve_the_bundle_and_keep_its_figures(tmp_path, demo_features):
    """weights="float16": the file stores the model's floats as float16, the bundle reads them
    back as float32, numpy codes as torch does, and the manifest's figures are those of the
    stored weights (re-evaluating the bundle as loaded gives them back)."""
    from dataclasses import replace

    from motion_tokens.core.codecs.training.dataset import part_dataset, read_takes, split_takes
    from motion_tokens.core.codecs.training.fitted import evaluate_codec
    from safetensors.numpy import load_file

    full = _train(tmp_path, "rqvae4", 10, "body", out="full")
    half = train_codec("rqvae4", 10, "body", DATA, tmp_path / "half", split=SPLIT, progress=lambda s: None,
                       rqvae_training=replace(TINY, weights="float16"))
    stored = load_file(str(half.folder / "weights.safetensors"))
    assert stored["model.encoder.0.weight"].dtype == np.float16 and stored["input_mean"].dtype == np.float32
    full_size, half_size = ((b.folder / "weights.safetensors").stat().st_size for b in (full, half))
    assert half_size < 0.6 * full_size
    tensors = half.tensors()
    assert tensors["model.encoder.0.weight"].dtype == np.float32
    np.testing.assert_array_equal(tensors["model.encoder.0.weight"], stored["model.encoder.0.weight"])
    assert half.manifest["training"]["optimisation"]["weights"] == "float16"
    numpy_codec, torch_codec = load_codec(half.folder), load_codec(half.folder, backend="torch")
    f = demo_features["body"]
    np.testing.assert_array_equal(numpy_codec.encode(f), torch_codec.encode(f))
    _, held = split_takes(read_takes(DATA), SPLIT)
    again = evaluate_codec(numpy_codec, part_dataset(held, "body"))
    for key in ("rmse_cm", "rotation_mean_deg", "usage_percent"):
        assert again[key] == pytest.approx(half.manifest["evaluation"]["held_out"][key], abs=1e-3), key


def test_face_downsampled_codebooks_are_small(tmp_path):
    """The face's rqvae4 sizes (PART_BITRATES): 16, 8, 4 and 8 codes a level at 6, 9, 10 and 12
    bits, Q log2 D / 4 = the bits per frame; the body keeps BITRATES' (64 x 6 at 9 bits)."""
    from motion_tokens.core.codecs.registry import FAMILY_CLASSES

    cls = FAMILY_CLASSES["rqvae4"]
    assert cls.sizes_at(9, "body") == {"D": 64, "Q": 6}
    face = {bits: cls.sizes_at(bits, "face") for bits in (6, 9, 10, 12)}
    assert face == {6: {"D": 16, "Q": 6}, 9: {"D": 8, "Q": 12}, 10: {"D": 4, "Q": 20}, 12: {"D": 8, "Q": 16}}
    assert all(s["Q"] * math.log2(s["D"]) == 4 * bits for bits, s in face.items())
    m = train_codec("rqvae4", 6, "face", DATA, tmp_path / "face", split=SPLIT, progress=lambda s: None,
                    rqvae_training=TINY).manifest
    assert (m["D"], m["Q"], m["bits_per_frame"], m["model_config"]["D"]) == (16, 6, 6.0, 16)


def test_rqvae_entropy_guided_keeps_its_usage(tmp_path):
    bundle = _train(tmp_path, "rqvae", 6, "body", entropy_guided=True)
    usage = bundle.tensors()["model.usage_ema"]
    assert usage.shape == (2, 8)
    np.testing.assert_allclose(usage.sum(axis=1), 1.0, atol=1e-5)
    assert not np.allclose(usage, 1 / 8)  # it moved during training
    assert bundle.manifest["model_config"]["entropy_guided"] and "--entropy-guided" in bundle.manifest["command"]


def test_too_little_data_is_refused_with_a_message(tmp_path):
    with pytest.raises(MotionTokensError, match="k=4096"):
        _train(tmp_path, "kmeans", 12, "hands")
    with pytest.raises(ValueError, match="bits per frame"):
        _train(tmp_path, "kmeans", 7, "body")
    with pytest.raises(ValueError, match="RQ-VAE"):
        _train(tmp_path, "kmeans", 9, "body", entropy_guided=True)


def test_a_missing_data_folder_is_named_and_nothing_is_written(tmp_path):
    with pytest.raises(MissingFileError, match="no such data folder"):
        train_codec("kmeans", 6, "body", [tmp_path / "none"], tmp_path / "x", progress=lambda s: None)
    assert not (tmp_path / "x").exists()


def test_the_dead_code_threshold_setting_reaches_the_quantiser(tmp_path):
    """RQVAETraining.dead_code_threshold is the model's: recorded in the manifest's settings and
    model config, and the library's quantiser of the bundle as loaded replaces codes below it."""
    from dataclasses import replace

    m = train_codec("rqvae", 6, "body", DATA, tmp_path / "dc", split=SPLIT, progress=lambda s: None,
                    rqvae_training=replace(TINY, dead_code_threshold=5.0)).manifest
    assert m["training"]["optimisation"]["dead_code_threshold"] == 5.0
    assert m["model_config"]["dead_code_threshold"] == 5.0
    model = load_codec(tmp_path / "dc", backend="torch").model
    thresholds = {layer._codebook.threshold_ema_dead_code for layer in model.quantizer.layers}
    assert thresholds == {5.0}
