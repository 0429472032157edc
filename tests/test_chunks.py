"""Retargeting a motion a slice of frames at a time (core.retarget.slices) equals retargeting it
whole, to the bit, with slice boundaries inside the take."""

from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.formats import read_motion
from motion_tokens.core.retarget import bone_map_for, retarget_to_smplx
from motion_tokens.core.retarget.slices import retarget_steps
from motion_tokens.core.steps import run_steps

BANDAI_EXCERPT = Path(__file__).resolve().parents[1] / "demo" / "bandai_excerpt.bvh"


@pytest.mark.parametrize("chunk", [1, 7, 59, 60, 1000])
def test_retargeting_in_slices_equals_retargeting_whole(chunk):
    source = read_motion(BANDAI_EXCERPT, fps=None, warnings=[])
    bone_map = bone_map_for(source.skeleton.names)
    whole = retarget_to_smplx(source, bone_map)
    seen = []
    sliced = run_steps(retarget_steps(lambda m: retarget_to_smplx(m, bone_map), source, chunk=chunk), seen.append)
    assert len(seen) == -(-source.num_frames // chunk) and all(p.total == source.num_frames for p in seen)
    np.testing.assert_array_equal(sliced.motion.rotations, whole.motion.rotations)
    np.testing.assert_array_equal(sliced.motion.trans, whole.motion.trans)
    assert sliced.unmapped == whole.unmapped and sliced.warnings == whole.warnings
