"""The RQ-VAE model: torch FK against numpy FK, token ranges, decode(tokens) = quantised output."""

import math

import numpy as np
import pytest
import torch

from motion_tokens.core import rotations as rot
from motion_tokens.core.codecs.features import part_positions
from motion_tokens.core.codecs.rqvae import RQVAE, USAGE_EMA_ALPHA, RQVAEConfig
from motion_tokens.core.nn.kinematics import PartPositions as PartFK
from motion_tokens.core.nn.rotations import axis_angle_to_matrix


def test_axis_angle_to_matrix_matches_numpy_including_tiny_angles():
    rng = np.random.default_rng(0)
    aa = np.concatenate([rng.normal(size=(50, 3)), rng.normal(scale=1e-5, size=(5, 3)), np.zeros((1, 3))])
    np.testing.assert_allclose(axis_angle_to_matrix(torch.from_numpy(aa)).numpy(), rot.axis_angle_to_matrix(aa), atol=1e-12)


@pytest.mark.parametrize("part, width", [("body", 63), ("hands", 90)])
def test_torch_fk_matches_numpy_fk(part, width):
    f = np.random.default_rng(1).normal(scale=0.5, size=(3, 7, width))
    np.testing.assert_allclose(PartFK(part)(torch.from_numpy(f)).numpy(), part_positions(f, part), atol=1e-10)


def test_torch_fk_by_hand():
    """Bending the left elbow (joint 18) 90 degrees about +Y moves the left wrist (20) from
    elbow + o to elbow + Ry(90) o, with o the rest wrist offset; nothing else moves."""
    f = np.zeros((1, 63))
    f[0, 3 * 17 + 1] = math.pi / 2  # joint 18 is the 18th body joint (index 17 in features)
    rest = PartFK("body")(torch.zeros(1, 63, dtype=torch.float64))[0].numpy()
    bent = PartFK("body")(torch.from_numpy(f))[0].numpy()
    from motion_tokens.core.skeleton import smplx_skeleton

    o = smplx_skeleton().offsets[20]
    wrist_row = 19  # BODY_POINTS = joints 1..21 first, so joint 20 is row 19
    np.testing.assert_allclose(bent[wrist_row] - bent[17], [o[2], o[1], -o[0]], atol=1e-12)
    moved = np.linalg.norm(bent - rest, axis=-1) > 1e-12
    assert set(np.flatnonzero(moved)) == {19, 22}  # the wrist and the middle-finger base beyond it


@pytest.mark.parametrize("D, Q", [(8, 2), (32, 2), (8, 4)])
def test_decode_tokens_reproduces_the_quantised_forward_output(D, Q):
    torch.manual_seed(0)
    model = RQVAE(RQVAEConfig(part="body", D=D, Q=Q, hidden=16, latent=8))
    x = torch.randn(3, 40, 63)
    model.train()
    for _ in range(3):  # k-means init and a few EMA updates, so the codebooks are not trivial
        model(x)
    model.eval()
    with torch.no_grad():
        out = model(x)
        again = model.decode_tokens(out.indices)
        tokens = model.tokens(x)
    assert out.indices.shape == (3, 40, Q) and out.indices.dtype == torch.int64
    assert int(out.indices.min()) >= 0 and int(out.indices.max()) < D
    torch.testing.assert_close(again, out.recon, rtol=0, atol=1e-6)
    torch.testing.assert_close(tokens, out.indices)


def test_length_is_kept_for_any_sequence_length():
    model = RQVAE(RQVAEConfig(part="hands", D=8, Q=2, hidden=8, latent=4)).eval()
    for T in (1, 2, 17, 100):
        with torch.no_grad():
            out = model(torch.randn(1, T, 90))
        assert out.recon.shape == (1, T, 90) and out.indices.shape == (1, T, 2)


def test_entropy_guided_usage_ema_and_loss():
    torch.manual_seed(0)
    model = RQVAE(RQVAEConfig(part="body", D=8, Q=2, hidden=16, latent=8, entropy_guided=True)).train()
    before = model.usage_ema.clone()
    out = model(torch.randn(2, 30, 63))
    after = model.usage_ema
    # Rows stay distributions; the first update moves them by (1 - alpha) of a batch average.
    torch.testing.assert_close(after.sum(-1), torch.ones(2))
    assert (after - before).abs().max() <= (1 - USAGE_EMA_ALPHA) + 1e-6
    # KL(usage || uniform) >= 0, and its gradient reaches the encoder.
    assert out.entropy_loss.item() >= 0
    out.entropy_loss.backward()
    assert model.encoder[0].weight.grad is not None and model.encoder[0].weight.grad.abs().sum() > 0


def test_entropy_loss_is_zero_for_uniform_usage():
    model = RQVAE(RQVAEConfig(part="body", D=4, Q=1, hidden=8, latent=4, entropy_guided=True))
    usage = torch.full((1, 4), 0.25)
    entropy = -(usage * usage.log()).sum()
    assert math.log(4) - entropy.item() == pytest.approx(0.0, abs=1e-7)
    assert model.config.bits_per_frame == 2


def test_config_round_trip_and_unknown_fields():
    c = RQVAEConfig(part="hands", D=32, Q=2, dilations=(1, 2))
    assert RQVAEConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="unknown"):
        RQVAEConfig.from_dict({**c.to_dict(), "mystery": 1})
