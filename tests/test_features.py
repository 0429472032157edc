"""Part features (core.codecs.features over core.parts): what coding keeps and what it changes."""

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.codecs.features import (
    PARTS,
    mirrored_part,
    part_features,
    part_positions,
    with_part_features,
)
from motion_tokens.core.kinematics import rest_positions
from motion_tokens.core.motion import Motion
from motion_tokens.core.parts import get_part
from motion_tokens.core.skeleton import NUM_SMPLX_JOINTS, smplx_skeleton


def _motion(frames: int = 6, seed: int = 0) -> Motion:
    rng = np.random.default_rng(seed)
    aa = rng.normal(scale=0.3, size=(frames, NUM_SMPLX_JOINTS, 3))
    return Motion.from_axis_angle(
        smplx_skeleton(), 30.0, aa, rng.normal(size=(frames, 3)),
        expressions=rng.normal(size=(frames, 100)), betas=rng.normal(size=300), name="take",
    )


@pytest.mark.parametrize("part", PARTS)
def test_replacing_a_part_keeps_everything_else(part):
    motion = _motion()
    spec = get_part(part)
    new = np.zeros((motion.num_frames, spec.num_features), dtype=np.float32)
    out = with_part_features(motion, part, new)
    others = [j for j in range(NUM_SMPLX_JOINTS) if j not in spec.joints]
    np.testing.assert_array_equal(out.rotations[:, others], motion.rotations[:, others])
    np.testing.assert_allclose(np.abs(out.rotations[:, list(spec.joints), 0]), 1.0)  # zero rotations
    np.testing.assert_array_equal(out.trans, motion.trans)
    np.testing.assert_array_equal(out.betas, motion.betas)
    # a part with expression coefficients replaces its own leading ones and keeps the rest
    np.testing.assert_array_equal(out.expressions[:, : spec.expressions], 0.0)
    np.testing.assert_array_equal(out.expressions[:, spec.expressions:], motion.expressions[:, spec.expressions:])
    assert out.fps == motion.fps and out.name == motion.name


@pytest.mark.parametrize("part", PARTS)
def test_features_round_trip(part):
    motion = _motion()
    f = part_features(motion, part)
    back = part_features(with_part_features(motion, part, f), part)
    np.testing.assert_allclose(back, f, atol=1e-6)


def test_body_positions_by_hand_at_rest_and_with_the_left_elbow_bent():
    sk = smplx_skeleton()
    rest = part_positions(np.zeros(63), "body")
    # At rest every point is its rest position relative to the pelvis.
    world = rest_positions(sk.offsets, sk.parents)
    np.testing.assert_allclose(rest, world[list(get_part("body").points)] - world[0], atol=1e-12)
    # Bend the left elbow (joint 18, feature rows 3*17..) 90 degrees about y: the wrist
    # (joint 20, row 19) swings around the elbow by the forearm's rest vector turned 90 degrees.
    f = np.zeros(63)
    f[3 * 17 + 1] = np.pi / 2
    bent = part_positions(f, "body")
    forearm = world[20] - world[18]
    expected = world[18] - world[0] + rot.axis_angle_to_matrix(np.array([0, np.pi / 2, 0])) @ forearm
    np.testing.assert_allclose(bent[19], expected, atol=1e-12)


def test_hand_points_are_relative_to_their_wrist_and_mirror_onto_each_other():
    rng = np.random.default_rng(1)
    f = rng.normal(scale=0.4, size=(4, 90))
    spec = get_part("hands")
    pos = part_positions(f, "hands")
    assert pos.shape == (4, spec.num_points, 3) == (4, 30, 3)
    # The mirrored pose puts each left point where the right one's reflection (x -> -x) was.
    mirrored = part_positions(mirrored_part(f, "hands"), "hands")
    left = [i for i, o in enumerate(spec.point_origins) if o == 20]
    right = [i for i, o in enumerate(spec.point_origins) if o == 21]
    np.testing.assert_allclose(mirrored[:, left], pos[:, right] * np.array([-1.0, 1, 1]), atol=1e-9)
