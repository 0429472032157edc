"""Skeletons: joint names, parents and rest offsets; the SMPL-X skeleton in particular.

Rest offsets are in metres in the skeleton's own frame (SMPL-X: Y up, facing +Z). For a
skeleton, `offsets[0]` is the absolute rest position of the root and `offsets[j]` (j > 0) the
rest position of joint j relative to its parent. All rest rotations are the identity: a
skeleton's rest pose is the pose with every local rotation zero.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import CorruptFileError, LayoutError, MissingFileError
from .kinematics import rest_positions as _rest_positions

SMPLX_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "jaw", "left_eye_smplhf", "right_eye_smplhf",
    "left_index1", "left_index2", "left_index3", "left_middle1", "left_middle2", "left_middle3",
    "left_pinky1", "left_pinky2", "left_pinky3", "left_ring1", "left_ring2", "left_ring3",
    "left_thumb1", "left_thumb2", "left_thumb3",
    "right_index1", "right_index2", "right_index3", "right_middle1", "right_middle2",
    "right_middle3", "right_pinky1", "right_pinky2", "right_pinky3", "right_ring1",
    "right_ring2", "right_ring3", "right_thumb1", "right_thumb2", "right_thumb3",
)

SMPLX_PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15,
    20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38,
    21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53,
)

NUM_SMPLX_JOINTS = 55

#: Joint index ranges of the body parts used by codecs and the generator.
BODY_JOINTS = tuple(range(1, 22))
HAND_JOINTS = tuple(range(25, 55))
JAW_JOINT = 22

_REST_TABLE = Path(__file__).resolve().parent / "data" / "smplx_rest.json"


@dataclass(frozen=True, eq=False)
class Skeleton:
    """Joint names, parent indices (parents precede children) and rest offsets (J, 3) metres."""

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray

    def __post_init__(self):
        offsets = np.asarray(self.offsets, dtype=np.float64)
        J = len(self.names)
        if len(self.parents) != J or offsets.shape != (J, 3):
            raise ValueError(
                f"skeleton needs one parent and one (3,) offset per joint: {J} names, "
                f"{len(self.parents)} parents, offsets {offsets.shape}"
            )
        if len(set(self.names)) != J:
            raise ValueError("skeleton joint names must be unique")
        for j, p in enumerate(self.parents):
            if p >= j or (p < 0 and j != 0):
                raise ValueError(f"joint {self.names[j]!r}: parents must precede children, one root at 0")
        offsets.setflags(write=False)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "parents", tuple(int(p) for p in self.parents))
        object.__setattr__(self, "names", tuple(self.names))

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"no joint named {name!r} in this skeleton") from None

    def rest_positions(self) -> np.ndarray:
        """(J, 3) world positions of the joints in the rest pose."""
        return _rest_positions(self.offsets, self.parents)

    def children(self, j: int) -> list[int]:
        return [c for c, p in enumerate(self.parents) if p == j]

    def same_as(self, other: "Skeleton", atol: float = 1e-6) -> bool:
        return (
            self.names == other.names
            and self.parents == other.parents
            and np.allclose(self.offsets, other.offsets, atol=atol)
        )


def offsets_from_positions(positions, parents) -> np.ndarray:
    """(J, 3) absolute rest positions -> (J, 3) offsets (root absolute, others from parent)."""
    positions = np.asarray(positions, dtype=np.float64)
    par = np.asarray(parents)
    offsets = positions.copy()
    offsets[par >= 0] -= positions[par[par >= 0]]
    return offsets


@lru_cache(maxsize=1)
def _approximate_rest_positions() -> np.ndarray:
    table = json.loads(_REST_TABLE.read_text())
    joints = table["positions"]
    return np.array([joints[name] for name in SMPLX_JOINT_NAMES], dtype=np.float64)


def smplx_skeleton(model_folder: str | os.PathLike | None = None, betas=None, gender: str = "neutral") -> Skeleton:
    """The SMPL-X skeleton.

    Without `model_folder`: the approximate neutral rest joints shipped in
    `core/data/smplx_rest.json` (how they were measured is written in that file, under "how").
    With `model_folder` holding the user's licensed `SMPLX_NEUTRAL.npz` (or MALE/FEMALE): the
    exact rest joints of that model for `betas` (default zeros), see `smplx_model_rest_positions`.
    """
    if model_folder is None:
        positions = _approximate_rest_positions()
    else:
        positions = smplx_model_rest_positions(model_folder, betas=betas, gender=gender)
    return Skeleton(SMPLX_JOINT_NAMES, SMPLX_PARENTS, offsets_from_positions(positions, SMPLX_PARENTS))


_MODEL_KEYS = ("v_template", "shapedirs", "J_regressor")


def smplx_model_file(model_folder: str | os.PathLike, gender: str = "neutral") -> Path:
    """The path of the SMPL-X model file for `gender` in `model_folder` (or its smplx/ child)."""
    folder = Path(model_folder)
    name = f"SMPLX_{gender.upper()}.npz"
    for candidate in (folder / name, folder / "smplx" / name):
        if candidate.is_file():
            return candidate
    raise MissingFileError(
        folder / name,
        "no SMPL-X model file here; download SMPLX_NEUTRAL.npz from smpl-x.is.tue.mpg.de "
        "(it needs a licence) and point the model folder at the folder holding it",
    )


def smplx_model_rest_positions(model_folder, betas=None, gender: str = "neutral") -> np.ndarray:
    """(55, 3) exact rest joints of the user's SMPL-X model for `betas` (metres, Y up).

    The same computation as `smplx`'s `lbs` at zero pose: J = J_regressor @ (v_template +
    shapedirs . betas). Done in numpy so it runs inside Blender without torch; the tests check
    it against the `smplx` package on a synthetic model file.
    """
    path = smplx_model_file(model_folder, gender)
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # zipfile/ValueError/OSError: all mean the file is damaged
        raise CorruptFileError(path, f"cannot be read as an .npz model file ({exc})") from None
    with data:
        missing = [k for k in _MODEL_KEYS if k not in data.files]
        if missing:
            raise LayoutError(path, f"not an SMPL-X model file: missing {', '.join(missing)}")
        try:
            v_template = np.asarray(data["v_template"], dtype=np.float64)
            shapedirs = np.asarray(data["shapedirs"], dtype=np.float64)
            J_regressor = np.asarray(data["J_regressor"], dtype=np.float64)
        except ValueError as exc:
            raise LayoutError(path, f"an array could not be read without unpickling ({exc})") from None
    V = v_template.shape[0]
    if v_template.shape != (V, 3) or shapedirs.ndim != 3 or shapedirs.shape[:2] != (V, 3):
        raise LayoutError(path, f"v_template {v_template.shape} and shapedirs {shapedirs.shape} do not match")
    if J_regressor.shape[0] < NUM_SMPLX_JOINTS or J_regressor.shape[1] != V:
        raise LayoutError(path, f"J_regressor is {J_regressor.shape}, expected ({NUM_SMPLX_JOINTS}, {V})")
    # smplx splits shapedirs into shape (first 300) and expression (last 100) directions; betas
    # use the shape part only.
    num_shape = min(shapedirs.shape[2], 300)
    b = np.zeros(num_shape) if betas is None else np.asarray(betas, dtype=np.float64).ravel()
    if b.size > num_shape:
        b = b[:num_shape]
    v_shaped = v_template + np.einsum("vcb,b->vc", shapedirs[:, :, : b.size], b)
    return (J_regressor[:NUM_SMPLX_JOINTS] @ v_shaped).astype(np.float64)
