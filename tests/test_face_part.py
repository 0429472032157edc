"""The face part: jaw plus the leading FLAME expression coefficients."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motion_tokens.core import rotations as rot
from motion_tokens.core.codecs.features import part_features, part_positions, with_part_features
from motion_tokens.core.codecs.registry import load_codec
from motion_tokens.core.codecs.training.train import train_codec
from motion_tokens.core.formats import read_motion
from motion_tokens.core.parts import FACE_EXPRESSIONS, PARTS, get_part
from motion_tokens.core.skeleton import smplx_skeleton

FACE = get_part("face")


@pytest.fixture(scope="module")
def beat2(data_dir):
    return read_motion(data_dir / "beat2" / "2_scott_0_1_1.npz")


def test_registry_has_the_face():
    assert PARTS == ("body", "hands", "face")
    assert FACE.joints == (22,) and FACE.expressions == FACE_EXPRESSIONS == 16
    assert FACE.num_features == 3 + 16 and not FACE.mirrored_in_training


def test_features_round_trip(beat2):
    f = part_features(beat2, "face")
    assert f.shape == (beat2.num_frames, 19)
    back = with_part_features(beat2, "face", f)
    jaw = rot.quat_to_axis_angle(beat2.rotations[:, 22])
    np.testing.assert_allclose(rot.quat_to_axis_angle(back.rotations[:, 22]), jaw, atol=1e-6)
    np.testing.assert_allclose(back.expressions[:, :16], beat2.expressions[:, :16], atol=1e-6)
    np.testing.assert_array_equal(back.expressions[:, 16:], beat2.expressions[:, 16:])  # the rest kept
    np.testing.assert_array_equal(back.rotations[:, :22], beat2.rotations[:, :22])
    # Written back: new expression values land in the motion.
    g = f.copy()
    g[:, 3:] += 1.0
    np.testing.assert_allclose(with_part_features(beat2, "face", g).expressions[:, :16], beat2.expressions[:, :16] + 1.0,
                               atol=1e-5)


def test_jaw_tip_moves_with_the_jaw_not_the_expressions():
    jaw_offset = np.asarray(smplx_skeleton().offsets[22], dtype=np.float64)  # head -> jaw at rest
    f = np.zeros((3, 19))
    f[1, 0] = 0.3  # open the jaw 0.3 rad about x
    f[2, 3:] = np.linspace(-2, 2, 16)  # expressions only
    tip = part_positions(f, "face")[:, 0]
    # At rest the tip is the jaw's offset beyond the jaw: 2 x offset from the head.
    np.testing.assert_allclose(tip[0], 2 * jaw_offset, atol=1e-12)
    # Rotating by 0.3 rad about x moves the tip on a circle about the jaw: a chord of
    # 2 |r_perp| sin(0.15), r_perp the offset's part across the x axis.
    r_perp = np.linalg.norm(jaw_offset[1:])
    assert np.linalg.norm(tip[1] - tip[0]) == pytest.approx(2 * r_perp * np.sin(0.15), rel=1e-9)
    np.testing.assert_array_equal(tip[2], tip[0])


def test_torch_part_positions_match_numpy(beat2):
    torch = pytest.importorskip("torch")
    from motion_tokens.core.nn.kinematics import PartPositions

    f = part_features(beat2, "face")[::50].astype(np.float64)
    f[:, 0] += 0.2
    got = PartPositions("face")(torch.tensor(f)).numpy()
    np.testing.assert_allclose(got, part_positions(f, "face"), atol=1e-9)


def test_face_codec_trains_and_codes_beat2(data_dir, tmp_path, beat2):
    out = tmp_path / "kmeans-6-face"
    train_codec("kmeans", 6, "face", [data_dir / "bandai" / "dataset-2", data_dir / "beat2"], out, progress=lambda s: None)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["training"]["train"]["sources"] == {"beat2": {"takes": 1, "frames": 1429}}
    assert manifest["training"]["takes_without_this_part"] == 42  # every Bandai dataset-2 take
    held = manifest["evaluation"]["held_out"]
    assert held["frames"] == 477 and held["expression_rmse"] > 0
    codec = load_codec(out)
    f = part_features(beat2, "face")
    decoded = codec.decode(codec.encode(f))
    # The manifest's held-out expression RMSE is that of the last 477 frames, recomputed here.
    rmse = np.sqrt(np.mean((decoded[-477:, 3:] - f[-477:, 3:]) ** 2))
    assert rmse == pytest.approx(held["expression_rmse"], abs=1e-3)
    coded = with_part_features(beat2, "face", decoded)
    np.testing.assert_array_equal(coded.rotations[:, :22], beat2.rotations[:, :22])
