"""scene.actions.write_motion refuses motion holding NaN before the scene changes."""

from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from motion_tokens.core.errors import OutputError  # noqa: E402
from motion_tokens.core.formats import read_motion  # noqa: E402
from motion_tokens.scene.actions import write_motion  # noqa: E402
from motion_tokens.scene.armature import create_armature  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "demo" / "beat2_excerpt.npz"


def test_no_action_keyed_from_nan_motion():
    motion = read_motion(DEMO)
    motion.rotations[2, 16] = np.nan  # left_shoulder, frame 2
    obj = create_armature(motion.skeleton, "NaNTarget")
    actions = set(bpy.data.actions)
    with pytest.raises(OutputError, match=r"the armature 'NaNTarget'.*rotations of left_shoulder \(frame 2\)"):
        write_motion(obj, motion)
    assert set(bpy.data.actions) == actions
