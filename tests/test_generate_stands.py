"""Generated motion stands on the ground: the rest template's root translation puts SMPL-X's
lowest foot joint at y = 0 (Y up), checked through the skeleton's forward kinematics and
through the codecs' decoding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motion_tokens.core.codecs.coding import decode_parts_steps, load_codecs
from motion_tokens.core.paths import MODELS_DIR
from motion_tokens.core.skeleton import _REST_TABLE, SMPLX_JOINT_NAMES, Skeleton, smplx_skeleton
from motion_tokens.core.steps import run_steps
from motion_tokens.pipelines.generate import rest_template, standing_translation


def _table_heights() -> tuple[float, float]:
    """(pelvis y, lowest ankle/foot y) of SMPL-X at rest, read from the rest table itself."""
    joints = json.loads(_REST_TABLE.read_text())["positions"]
    feet = min(joints[n][1] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot"))
    return joints["pelvis"][1], feet


def test_rest_template_feet_on_the_floor_by_forward_kinematics():
    pelvis_y, feet_y = _table_heights()
    assert feet_y < -1.0  # SMPL-X's origin lies near the pelvis: at rest the feet are over a metre under it
    motion = rest_template(5, "rest")
    positions = motion.positions()  # (T, J, 3) through the skeleton's FK
    feet = [SMPLX_JOINT_NAMES.index(n) for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")]
    np.testing.assert_allclose(positions[:, feet, 1].min(axis=1), 0.0, atol=1e-9)
    assert positions[..., 1].min() > -1e-9  # no joint under the floor
    np.testing.assert_allclose(positions[:, 0, 1], pelvis_y - feet_y, atol=1e-9)  # pelvis height above the feet
    np.testing.assert_allclose(positions[:, 0, [0, 2]], 0.0, atol=1e-12)  # not moved sideways


def test_standing_translation_follows_the_skeleton_not_a_constant():
    skeleton = smplx_skeleton()
    taller = Skeleton(skeleton.names, skeleton.parents, skeleton.offsets * 1.5)  # every bone 1.5 times as long
    lift, taller_lift = standing_translation(skeleton), standing_translation(taller)
    assert lift[0] == 0 and lift[2] == 0
    assert taller_lift[1] == pytest.approx(1.5 * lift[1], rel=1e-12)


@pytest.mark.skipif(not all((MODELS_DIR / f"kmeans-10-{p}" / "manifest.json").is_file() for p in ("body", "hands")),
                    reason="the kmeans-10 codec bundles are not installed in models/")
def test_decoded_gestures_keep_standing():
    codecs = load_codecs({"body": "kmeans-10", "hands": "kmeans-10"})
    frames = 40
    rng = np.random.default_rng(0)
    tokens = {p: rng.integers(0, 1024, frames) for p in codecs}
    motion = run_steps(decode_parts_steps(tokens, codecs, rest_template(frames, "decoded")))
    np.testing.assert_allclose(motion.trans, np.tile(standing_translation(motion.skeleton), (frames, 1)), atol=1e-9)
    positions = motion.positions()
    pelvis_y, feet_y = _table_heights()
    np.testing.assert_allclose(positions[:, 0, 1], pelvis_y - feet_y, atol=1e-6)
    # the decoded legs bend, but the lowest foot stays near the floor, never a metre under it
    lowest = positions[:, [7, 8, 10, 11], 1].min(axis=1)
    assert np.abs(lowest).max() < 0.3, lowest
