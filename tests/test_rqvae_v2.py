"""The version-2 RQ-VAE (issue 14): 6D rotation input, the model built from base.layer_plan,
numpy inference exact against torch, the geodesic error figure, and old bundles still loading.

References: hand-worked rotations (90 degrees about z), core.rotations, torch's own model.
"""

from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.codecs.base import features_to_sixd, layer_plan, sixd_to_features
from motion_tokens.core.codecs.bundle import write_bundle
from motion_tokens.core.codecs.features import part_features, part_positions
from motion_tokens.core.codecs.registry import MODELS_DIR, load_codec
from motion_tokens.core.codecs.training.fitted import rotation_error_deg
from motion_tokens.core.formats import read_motion

torch = pytest.importorskip("torch", reason="the reference model needs torch")
from motion_tokens.core.codecs.rqvae import RQVAE, RQVAEConfig, sixd_to_matrix  # noqa: E402
from motion_tokens.core.codecs.training.rqvae_fit import PartPoints, _reach_error, _support_directions  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"


def random_bundle(folder: Path, family: str, part: str, D: int, Q: int, fpl: int, seed: int = 0):
    """An untrained 6D model of `family` with random Gaussian codebooks, written as a bundle."""
    torch.manual_seed(seed)
    config = RQVAEConfig(part=part, D=D, Q=Q, rotation="6d", frames_per_latent=fpl, hidden=32, latent=8)
    tensors = {f"model.{k}": v.numpy().copy() for k, v in RQVAE(config).state_dict().items()}
    rng = np.random.default_rng(seed)
    for q in range(Q):
        tensors[f"model.quantizer.layers.{q}._codebook.embed"] = rng.normal(size=(1, D, 8)).astype(np.float32)
        tensors[f"model.quantizer.layers.{q}._codebook.initted"] = np.array(True)
    F, W = part_features(read_motion(DEMO), part).shape[1], config.num_features
    tensors.update(mean=np.zeros(F, np.float32), std=np.ones(F, np.float32),
                   input_mean=np.zeros(W, np.float32), input_std=np.full(W, 0.5, np.float32))
    bits = Q * int(np.log2(D)) // fpl
    manifest = {"name": f"{family}-{bits}", "kind": "codec", "family": family, "part": part, "D": D, "Q": Q,
                "fps": 30.0, "frames_per_latent": fpl, "model_config": config.to_dict()}
    return write_bundle(folder, manifest, tensors)


def test_sixd_of_a_quarter_turn_about_z_by_hand():
    # Rz(90 deg) maps x to y and y to -x: its first two columns are (0, 1, 0) and (-1, 0, 0).
    f = np.zeros((1, 63))
    f[0, 3 * 4 + 2] = np.pi / 2  # the body's fifth joint
    d6 = features_to_sixd(f, "body")
    assert d6.shape == (1, 126)
    np.testing.assert_allclose(d6[0, 24:30], [0, 1, 0, -1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(d6[0, :6], [1, 0, 0, 0, 1, 0], atol=1e-12)  # identity elsewhere


def test_sixd_round_trip_keeps_rotations():
    aa = np.random.default_rng(1).normal(size=(50, 63)) * 0.8
    back = sixd_to_features(features_to_sixd(aa, "body"), "body")
    m0, m1 = (rot.axis_angle_to_matrix(x.reshape(50, 21, 3)) for x in (aa, back))
    np.testing.assert_allclose(m1, m0, atol=1e-10)


def test_torch_sixd_to_matrix_matches_numpy_on_unnormalised_vectors():
    d6 = np.random.default_rng(2).normal(size=(40, 6))
    np.testing.assert_allclose(sixd_to_matrix(torch.from_numpy(d6)).numpy(), rot.sixd_to_matrix(d6), atol=1e-12)


def test_part_points_from_matrices_match_part_positions():
    for part, J in (("body", 21), ("hands", 30)):
        aa = np.random.default_rng(3).normal(size=(6, J, 3)) * 0.6
        points = PartPoints(part, "cpu")
        got = points(torch.from_numpy(rot.axis_angle_to_matrix(aa))).numpy()
        np.testing.assert_allclose(got, part_positions(aa.reshape(6, -1), part), atol=1e-9)


def test_support_directions_are_26_distinct_unit_vectors():
    u = _support_directions()
    assert u.shape == (26, 3)
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, rtol=1e-6)
    assert len({tuple(np.round(v, 6)) for v in u}) == 26


def test_reach_error_by_hand():
    # One window of 3 frames, one point moving along x: 0, 1, 2 cm; decoded 0, 1, 1 cm. The
    # truth reaches furthest at frame 2 along the 9 directions with a +x component (1 cm off
    # there), at frame 0 along the 9 with a -x one, and ties at frame 0 (the earliest) along
    # the 8 with none: 9 of 26 squared errors of 1 cm^2.
    directions = torch.from_numpy(_support_directions())
    target = torch.zeros(1, 3, 1, 3)
    target[0, :, 0, 0] = torch.tensor([0.0, 1.0, 2.0])
    pos = target.clone()
    pos[0, 2, 0, 0] = 1.0
    mask = torch.ones(1, 3)
    assert _reach_error(pos, target, mask, directions).item() == pytest.approx(9 / 26, rel=1e-6)
    assert _reach_error(target, target, mask, directions).item() == 0.0
    # A masked-out frame is never the furthest: hiding frame 2 leaves no error.
    assert _reach_error(pos, target, torch.tensor([[1.0, 1.0, 0.0]]), directions).item() == 0.0
    # Errors at frames that are extreme in no direction do not count.
    pos[0, 1, 0, 1] = 5.0
    pos[0, 2, 0, 0] = 2.0
    assert _reach_error(pos, target, mask, directions).item() == 0.0


def test_geodesic_error_by_hand():
    a, b = np.zeros((2, 63)), np.zeros((2, 63))
    b[0, 2] = np.radians(30.0)  # 30 degrees about z on the first joint
    b[1, 3:6] = np.radians(50.0) * np.array([1.0, 2.0, 2.0]) / 3.0  # 50 degrees about (1, 2, 2)/3
    err = rotation_error_deg(a, b, "body")
    assert err.shape == (2, 21)
    np.testing.assert_allclose([err[0, 0], err[1, 1]], [30.0, 50.0], atol=1e-9)
    assert np.count_nonzero(err > 1e-9) == 2


def test_old_config_plan_is_the_original_layout():
    """A config without the version-2 fields (every bundle made before) gets the original
    layers: k=3 conv, a block per dilation, ReLU, k=1 (encoder) / k=3 (decoder) conv."""
    old = {"part": "body", "D": 8, "Q": 2, "hidden": 64, "latent": 16, "dilations": [1, 3]}
    assert layer_plan(old, "encoder") == [("conv", 63, 64, 3, 1, 1, 1), ("res", 64, 1), ("res", 64, 3), ("relu",),
                                          ("conv", 64, 16, 1, 1, 0, 1)]
    assert layer_plan(old, "decoder")[-1] == ("conv", 64, 63, 3, 1, 1, 1)
    assert layer_plan(dict(old, rotation="6d"), "encoder")[0] == ("conv", 126, 64, 3, 1, 1, 1)


def _shipped_rqvae_bundles() -> list[str]:
    """Every shipped RQ-VAE bundle (per-frame and downsampled, old axis-angle and 6D models)."""
    import json

    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / "manifest.json").is_file()
                  and json.loads((p / "manifest.json").read_text()).get("family", "").startswith("rqvae"))


@pytest.mark.parametrize("bundle", _shipped_rqvae_bundles())
def test_every_shipped_rqvae_bundle_runs_in_numpy_as_in_torch(bundle):
    folder = MODELS_DIR / bundle
    numpy_codec, torch_codec = load_codec(folder), load_codec(folder, backend="torch")
    config = numpy_codec.manifest["model_config"]
    assert numpy_codec.rotation == config.get("rotation", "axis_angle")  # old bundles: axis-angle
    f = part_features(read_motion(DEMO), numpy_codec.part)
    tokens = numpy_codec.encode(f)
    np.testing.assert_array_equal(tokens, torch_codec.encode(f))
    np.testing.assert_allclose(numpy_codec.decode(tokens), torch_codec.decode(tokens), atol=1e-4)


@pytest.mark.parametrize("part", ["body", "hands"])
def test_sixd_model_numpy_equals_torch(tmp_path, part):
    bundle = random_bundle(tmp_path / "b", "rqvae", part, 32, 2, 1)
    numpy_codec, torch_codec = load_codec(bundle.folder), load_codec(bundle.folder, backend="torch")
    assert numpy_codec.rotation == "6d"
    f = part_features(read_motion(DEMO), part)
    tokens = numpy_codec.encode(f)
    assert tokens.shape == (len(f), 2)
    np.testing.assert_array_equal(tokens, torch_codec.encode(f))
    decoded = numpy_codec.decode(tokens)
    assert decoded.shape == f.shape and decoded.dtype == np.float32
    np.testing.assert_allclose(decoded, torch_codec.decode(tokens), atol=1e-4)
    # The output is made rotations: its axis-angle stays within pi.
    assert np.linalg.norm(decoded.reshape(len(f), -1, 3), axis=-1).max() <= np.pi + 1e-5
