"""The motion feature encoder: numpy inference equal to torch, deterministic training, its
bundle checks, and FGD on real motion behaving as a distance should."""

import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import BundleError
from motion_tokens.core.gesture_metrics import fgd
from motion_tokens.core.gesture_metrics.encoder import NUM_INPUTS, WINDOW, MotionEncoder, load_motion_encoder, windows
from motion_tokens.core.paths import MODELS_DIR

sys.path.insert(0, str(Path(__file__).parent))
from speech_eval_helpers import random_encoder_tensors, write_random_encoder  # noqa: E402


def test_windows_cut_every_stride():
    x = np.arange(100 * 2).reshape(100, 2)
    w = windows(x, 32, 16)
    assert w.shape == (5, 32, 2)  # starts 0, 16, 32, 48, 64
    np.testing.assert_array_equal(w[2], x[32:64])
    assert windows(x[:31], 32, 16).shape == (0, 32, 2)


def test_numpy_encoder_equals_torch():
    pytest.importorskip("torch")
    from motion_tokens.core.gesture_metrics.encoder_training import torch_encode

    tensors = random_encoder_tensors(1)
    batch = np.random.default_rng(2).normal(size=(5, WINDOW, NUM_INPUTS)).astype(np.float32)
    ours = MotionEncoder(tensors).encode_windows(batch)
    assert ours.shape == (5, WINDOW // 4, 8)
    np.testing.assert_allclose(ours, torch_encode(tensors, batch), atol=1e-5, rtol=1e-5)


def test_training_is_deterministic_for_a_seed():
    pytest.importorskip("torch")
    from motion_tokens.core.gesture_metrics.encoder_training import train_encoder

    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(70, NUM_INPUTS)).astype(np.float32) for _ in range(2)]
    a, log = train_encoder(arrays, [4, 8], seed=5, epochs=1, held_out=[arrays[0]])
    b, _ = train_encoder(arrays, [4, 8], seed=5, epochs=1)
    c, _ = train_encoder(arrays, [4, 8], seed=6, epochs=1)
    assert log["windows"] == 10 + 5 and log["held_out_loss"] is not None
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a["conv1.weight"], c["conv1.weight"])


def test_bundle_checks(tmp_path):
    bundle = write_random_encoder(tmp_path / "enc")
    encoder = load_motion_encoder(bundle.folder)
    assert encoder.latent_width == 8
    with pytest.raises(BundleError, match="not a feature-encoder"):
        load_motion_encoder(MODELS_DIR / "kmeans-6-body")
    damaged = tmp_path / "damaged"
    shutil.copytree(bundle.folder, damaged)
    with open(damaged / "weights.safetensors", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\0\0\0\1")
    with pytest.raises(BundleError, match="sha256"):
        load_motion_encoder(damaged)


@pytest.mark.data
def test_fgd_of_real_motion_grows_with_noise(data_dir):
    from motion_tokens.core.codecs.training.dataset import load_split, split_takes
    from motion_tokens.core.gesture_metrics.clips import mean_pose
    from motion_tokens.core.retarget import read_smplx_motion
    from motion_tokens.core.codecs.training.dataset import MotionTake

    if not (MODELS_DIR / "motion-encoder").is_dir():
        pytest.skip("models/motion-encoder not trained")
    encoder = load_motion_encoder()
    take = read_smplx_motion(data_dir / "beat2" / "2_scott_0_1_1.npz", 30.0)
    train, held = split_takes([MotionTake("2_scott_0_1_1", "beat2", take)], load_split())
    truth = held[0].motion
    ref = encoder.motion_features([truth], stride=8)
    assert fgd(ref, ref) == pytest.approx(0.0, abs=1e-6)
    rng = np.random.default_rng(0)
    figures = []
    for sigma in (0.02, 0.1, 0.3):
        aa = truth.axis_angle() + rng.normal(scale=sigma, size=truth.axis_angle().shape)
        noisy = replace(truth, rotations=rot.axis_angle_to_quat(aa))
        figures.append(fgd(encoder.motion_features([noisy], stride=8), ref))
    assert figures[0] < figures[1] < figures[2]
    still = mean_pose([train[0].motion]).make(type("C", (), {"num_frames": truth.num_frames, "motion": truth,
                                                             "name": "held"})(), 0)
    # the still mean pose is further than mild noise, and further than the training part of the take
    assert fgd(encoder.motion_features([still], stride=8), ref) > figures[0]
    assert fgd(encoder.motion_features([still], stride=8), ref) > fgd(encoder.motion_features([train[0].motion], stride=8), ref)
