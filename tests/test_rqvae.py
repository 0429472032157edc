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


def _entropy_model(pairs):
    """D=4, Q=2, latent 4: both codebooks the unit axes e0..e3, and latents z = e_a + 0.5 e_b
    for each (a, b) in `pairs`, with a near-zero Gumbel temperature. Layer 0's residual z is
    nearest e_a (cosine 0.89 against 0.45), layer 1's residual z - e_a = 0.5 e_b is e_b
    itself: each frame's soft assignment is one-hot on a, then on b, whatever the noise."""
    model = RQVAE(RQVAEConfig(part="body", D=4, Q=2, hidden=8, latent=4, entropy_guided=True,
                              gumbel_temperature=1e-4)).train()
    with torch.no_grad():
        for layer in model.quantizer.layers:
            layer._codebook.embed.copy_(torch.eye(4)[None])
    eye = torch.eye(4)
    z = torch.stack([eye[a] + 0.5 * eye[b] for a, b in pairs])[None]  # (1, T, 4)
    indices = torch.tensor(pairs)[None]  # (1, T, 2)
    return model, z, indices


def _kl_from_uniform(usage) -> float:
    """log D - H(u), by hand, for one row of probabilities."""
    return math.log(len(usage)) - sum(-u * math.log(u) for u in usage if u > 0)


def test_entropy_loss_on_known_code_usage_by_hand():
    # Layer 0 uses codes 0, 0, 1, 0 -> batch usage (3/4, 1/4, 0, 0); layer 1 uses 1, 2, 2, 3
    # -> (0, 1/4, 1/2, 1/4). The EMA starts uniform: u1 = 0.95 * 1/4 + 0.05 * batch.
    model, z, indices = _entropy_model([(0, 1), (0, 2), (1, 2), (0, 3)])
    batch = [[0.75, 0.25, 0.0, 0.0], [0.0, 0.25, 0.5, 0.25]]
    u1 = [[0.95 * 0.25 + 0.05 * b for b in row] for row in batch]
    assert u1[0] == pytest.approx([0.275, 0.25, 0.2375, 0.2375])
    loss = model._entropy_loss(z, indices)
    assert loss.item() == pytest.approx(sum(_kl_from_uniform(row) for row in u1), abs=1e-6)
    np.testing.assert_allclose(model.usage_ema.numpy(), u1, atol=1e-6)
    # A second batch moves the EMA on from u1, not from uniform and not to the batch alone.
    u2 = [[0.95 * u + 0.05 * b for u, b in zip(ur, br)] for ur, br in zip(u1, batch)]
    loss = model._entropy_loss(z, indices)
    assert loss.item() == pytest.approx(sum(_kl_from_uniform(row) for row in u2), abs=1e-6)
    np.testing.assert_allclose(model.usage_ema.numpy(), u2, atol=1e-6)
    # Far from uniform usage costs more: an EMA already on code 0 alone.
    with torch.no_grad():
        model.usage_ema.copy_(torch.tensor([[1.0, 0, 0, 0], [1.0, 0, 0, 0]]))
    u3 = [[0.95 * e + 0.05 * b for e, b in zip([1.0, 0, 0, 0], br)] for br in batch]
    assert model._entropy_loss(z, indices).item() == pytest.approx(sum(map(_kl_from_uniform, u3)), abs=1e-6)


def test_entropy_loss_is_zero_for_uniform_usage():
    # Every code once per layer in the batch, the EMA uniform: KL(u || uniform) = 0.
    model, z, indices = _entropy_model([(0, 1), (1, 2), (2, 3), (3, 0)])
    assert model._entropy_loss(z, indices).item() == pytest.approx(0.0, abs=1e-6)
    torch.testing.assert_close(model.usage_ema, torch.full((2, 4), 0.25))
    assert model.config.bits_per_frame == 4


def test_config_round_trip_and_unknown_fields():
    c = RQVAEConfig(part="hands", D=32, Q=2, dilations=(1, 2))
    assert RQVAEConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="unknown"):
        RQVAEConfig.from_dict({**c.to_dict(), "mystery": 1})
