"""The downsampled RQ-VAE (family rqvae4: one latent per 4 frames) through every layer: rates
from the manifest, numpy against torch, padding of the last latent, sliced coding against the
whole, the tokens file's per-part token rate, and the old files without one.

References: the torch model, hand-counted rates (D=64, Q=4: 24 bits per latent, 6 per frame,
180 per second, 7.5 latents per second), and coding the whole take in one call.
"""

import numpy as np
import pytest
from motion_tokens.core.codecs import coding
from motion_tokens.core.codecs.bundle import bits_per_frame, bits_per_second, load_bundle
from motion_tokens.core.codecs.coding import (
    decoded_motion,
    encode_parts,
    load_tokens_codecs,
    write_encoded,
)
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.codecs.registry import available_codecs, load_codec
from motion_tokens.core.errors import MotionTokensError
from motion_tokens.core.formats import read_motion
from motion_tokens.core.formats.tokens import read_tokens_file

pytest.importorskip("torch", reason="the reference model needs torch")
from test_rqvae_v2 import DEMO, random_bundle  # noqa: E402


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """rqvae4-6 (D=64, Q=4) for the body and rqvae4-9 (D=64, Q=6) for the hands, untrained."""
    folder = tmp_path_factory.mktemp("models")
    random_bundle(folder / "rqvae4-6-body", "rqvae4", "body", 64, 4, 4)
    random_bundle(folder / "rqvae4-9-hands", "rqvae4", "hands", 64, 6, 4, seed=1)
    return folder


def test_rates_come_from_the_manifest(models):
    bundle = load_bundle(models / "rqvae4-6-body")
    assert bits_per_frame(bundle.manifest) == 6.0 and bits_per_second(bundle.manifest) == 180.0
    codec = load_codec(bundle.folder)
    assert (codec.frames_per_latent, codec.token_fps, codec.bits_per_second) == (4, 7.5, 180.0)
    listed = {(c.name, c.part): c for c in available_codecs(models)}
    assert listed[("rqvae4-6", "body")].bits_per_second == 180.0
    assert listed[("rqvae4-9", "hands")].bits_per_frame == 9.0


@pytest.mark.parametrize("frames", [37, 40, 1])
def test_numpy_equals_torch_and_pads_the_last_latent(models, frames):
    folder = models / "rqvae4-6-body"
    numpy_codec, torch_codec = load_codec(folder), load_codec(folder, backend="torch")
    f = part_features(read_motion(DEMO), "body")[:frames]
    tokens = numpy_codec.encode(f)
    assert tokens.shape == (-(-frames // 4), 4)
    np.testing.assert_array_equal(tokens, torch_codec.encode(f))
    decoded = numpy_codec.decode(tokens, frames)
    assert decoded.shape == (frames, 63)
    np.testing.assert_allclose(decoded, torch_codec.decode(tokens, frames), atol=1e-4)
    assert numpy_codec.decode(tokens).shape == (4 * len(tokens), 63)  # default: every frame the latents cover
    # Padding repeats the last frame: coding the padded frames gives the same tokens.
    padded = np.concatenate([f, np.repeat(f[-1:], 4 * len(tokens) - frames, axis=0)])
    np.testing.assert_array_equal(numpy_codec.encode(padded), tokens)


def test_a_frame_count_the_latents_cannot_code_is_refused(models):
    codec = load_codec(models / "rqvae4-6-body")
    tokens = codec.encode(part_features(read_motion(DEMO), "body")[:37])  # 10 latents: 37 to 40 frames
    with pytest.raises(MotionTokensError, match="10 rows of tokens code 37 to 40 frames, not 41"):
        codec.decode(tokens, 41)
    with pytest.raises(MotionTokensError, match="not 36"):
        codec.decode(tokens, 36)


def test_sliced_coding_equals_the_whole(models, monkeypatch):
    """Coding in slices of 4 latents with their context gives the tokens and motion of
    coding the take in one call."""
    motion = read_motion(DEMO)
    names = {"body": "rqvae4-6", "hands": "rqvae4-9"}
    whole = encode_parts(motion, names, models)
    monkeypatch.setattr(coding, "CHUNK_FRAMES", 16)
    sliced = encode_parts(motion, names, models)
    for part, codec in whole.codecs.items():
        expected = codec.encode(part_features(motion, part))
        assert expected.shape[0] == 38  # 150 frames -> ceil(150 / 4)
        np.testing.assert_array_equal(whole.tokens[part], expected)
        np.testing.assert_array_equal(sliced.tokens[part], expected)
        np.testing.assert_allclose(part_features(sliced.decoded, part), part_features(whole.decoded, part), atol=1e-5)
    assert whole.decoded.num_frames == 150


def test_tokens_file_keeps_each_parts_rate(models, tmp_path):
    motion = read_motion(DEMO)
    encoded = encode_parts(motion, {"body": "rqvae4-6"}, models)
    path = write_encoded(tmp_path / "t.npz", encoded)
    with np.load(path) as data:
        assert float(data["token_fps"]) == 30.0 and float(data["token_fps_body"]) == 7.5
        assert data["tokens_body"].shape == (38, 4)
    back = read_tokens_file(path)
    assert back.fps_of("body") == 7.5 and back.codec_names == {"body": "rqvae4-6"}
    codecs = load_tokens_codecs(back, models)
    again = decoded_motion(back, codecs)
    np.testing.assert_allclose(part_features(again, "body"), part_features(encoded.decoded, "body"), atol=1e-5)


def test_a_tokens_file_without_the_part_rate_is_refused_for_a_downsampled_codec(models, tmp_path):
    """An old-style file (one `token_fps`) naming an rqvae4 bundle says the rates disagree."""
    encoded = encode_parts(read_motion(DEMO), {"body": "rqvae4-6"}, models)
    path = write_encoded(tmp_path / "t.npz", encoded)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if k != "token_fps_body"}
    np.savez(tmp_path / "old.npz", **arrays)
    with pytest.raises(MotionTokensError, match="at 30 a second .* codes 7.5 rows of tokens a second"):
        load_tokens_codecs(read_tokens_file(tmp_path / "old.npz"), models)


def test_train_codec_writes_a_downsampled_bundle(tmp_path, monkeypatch):
    """train_codec of rqvae4 on the demo excerpts: the manifest's rates, the model config it is
    rebuilt from, and tokens of ceil(T / 4) rows from the loaded bundle."""
    from motion_tokens.core.codecs.training.dataset import Split
    from motion_tokens.core.codecs.training.rqvae_fit import RQVAETraining
    from motion_tokens.core.codecs.training.train import train_codec

    monkeypatch.setenv("MOTION_TOKENS_TRAIN_DEVICE", "cpu")
    data = [DEMO, DEMO.parent / "bandai_excerpt.bvh"]
    split = Split(frozenset({"bandai_excerpt"}), {"beat2_excerpt": 0.25})
    bundle = train_codec("rqvae4", 10, "body", data, tmp_path / "rqvae4-10-body", split=split, progress=lambda s: None,
                         rqvae_training=RQVAETraining(steps=4, batch=4, window=32, warmup=1, hidden=16, latent=8))
    m = bundle.manifest
    assert (m["name"], m["family"], m["D"], m["Q"], m["frames_per_latent"]) == ("rqvae4-10", "rqvae4", 16, 10, 4)
    assert (m["bits_per_frame"], m["bits_per_second"]) == (10.0, 300.0)
    assert m["model_config"]["rotation"] == "6d" and m["model_config"]["frames_per_latent"] == 4
    assert "--family rqvae4" in m["command"]
    held = m["evaluation"]["held_out"]
    assert {"rmse_cm", "rotation_mean_deg", "rotation_p95_deg", "velocity_rmse_cm_s"} <= set(held)
    codec = load_codec(bundle.folder)
    assert codec.encode(part_features(read_motion(DEMO), "body")).shape == (38, 10)
