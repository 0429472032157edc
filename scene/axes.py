"""The one place that knows how SMPL-X's axes map onto Blender's.

Core data lives in SMPL-X's frame: metres, right-handed, Y up, the body facing +Z, its left
at +X. Blender is Z up and a character faces -Y, its left still at +X. The change between them
is a rotation of +90 degrees about X:

    (x, y, z) in SMPL-X  ->  (x, -z, y) in Blender

so up (+Y) becomes +Z and forward (+Z) becomes -Y. Units stay metres. numpy only: this module
needs neither bpy nor mathutils, so it is tested like core.
"""

from __future__ import annotations

import numpy as np

#: (3, 3) rotation taking a SMPL-X vector to Blender axes (column vectors: v_b = C @ v_s).
SMPLX_TO_BLENDER = np.array(
    [
        [1.0, 0.0, 0.0],
        [0.0, 0.0, -1.0],
        [0.0, 1.0, 0.0],
    ]
)
SMPLX_TO_BLENDER.setflags(write=False)

#: (3, 3) its inverse (the transpose).
BLENDER_TO_SMPLX = SMPLX_TO_BLENDER.T.copy()
BLENDER_TO_SMPLX.setflags(write=False)


def vectors_to_blender(v) -> np.ndarray:
    """(..., 3) positions or directions in SMPL-X axes -> (..., 3) in Blender axes, float64."""
    return np.asarray(v, dtype=np.float64) @ BLENDER_TO_SMPLX  # row vectors: v @ C^T


def vectors_from_blender(v) -> np.ndarray:
    """(..., 3) in Blender axes -> (..., 3) in SMPL-X axes, float64."""
    return np.asarray(v, dtype=np.float64) @ SMPLX_TO_BLENDER  # row vectors: v @ C


def rotations_to_blender(R) -> np.ndarray:
    """(..., 3, 3) rotation matrices acting in SMPL-X axes -> the same rotations in Blender
    axes: C R C^T."""
    return SMPLX_TO_BLENDER @ np.asarray(R, dtype=np.float64) @ BLENDER_TO_SMPLX


def rotations_from_blender(R) -> np.ndarray:
    """(..., 3, 3) rotation matrices acting in Blender axes -> SMPL-X axes: C^T R C."""
    return BLENDER_TO_SMPLX @ np.asarray(R, dtype=np.float64) @ SMPLX_TO_BLENDER
