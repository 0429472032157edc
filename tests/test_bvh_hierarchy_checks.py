"""A BVH whose joints carry the names a bone map expects must also have the tree and sides
those names promise: a joint hung elsewhere is refused (naming the file and the joint), left
and right swapped is warned about (naming the joints)."""

from pathlib import Path

import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.core.errors import SkeletonError
from motion_tokens.core.formats import read_smplx_npz, write_bvh
from motion_tokens.core.motion import Motion
from motion_tokens.core.retarget import read_smplx_motion
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, Skeleton

REPO = Path(__file__).resolve().parents[1]
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"
BANDAI_EXCERPT = REPO / "demo" / "bandai_excerpt.bvh"
NAMES = list(SMPLX_JOINT_NAMES)


def smplx_named_bvh(path: Path, names=None, parents=None) -> Path:
    """The BEAT2 excerpt written as a BVH with SMPL-X joint names (read back through the
    identity map), on a skeleton with other `names` or `parents` (same rest positions)."""
    motion = read_smplx_npz(BEAT2_EXCERPT).frames(0, 10)
    sk = motion.skeleton
    parents = list(sk.parents) if parents is None else parents
    rest = sk.rest_positions()
    offsets = np.array([rest[0] if p < 0 else rest[j] - rest[p] for j, p in enumerate(parents)])
    skeleton = Skeleton(tuple(names or sk.names), tuple(parents), offsets)
    write_bvh(path, Motion(skeleton, motion.fps, motion.rotations, motion.trans, name=motion.name))
    return path


def swapped(name: str) -> str:
    for a, b in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(a):
            return b + name[len(a):]
    return name


def test_an_smplx_named_bvh_with_the_smplx_tree_is_read_without_notes(tmp_path):
    warnings: list[str] = []
    motion = read_smplx_motion(smplx_named_bvh(tmp_path / "ok.bvh"), None, warnings=warnings)
    assert motion.num_frames == 10
    assert not [w for w in warnings if "swapped" in w or "hangs" in w]


def test_a_left_arm_under_the_right_knee_is_refused_naming_file_and_joint(tmp_path, capsys):
    parents = list(read_smplx_npz(BEAT2_EXCERPT).skeleton.parents)
    parents[NAMES.index("left_shoulder")] = NAMES.index("right_knee")
    path = smplx_named_bvh(tmp_path / "arm_on_knee.bvh", parents=parents)
    with pytest.raises(SkeletonError, match="'left_shoulder'.*'right_knee'"):
        read_smplx_motion(path, None, warnings=[])
    assert main(["import", str(path), "--out", str(tmp_path / "x.npz")]) == 2
    line = capsys.readouterr().err.strip().splitlines()
    assert len(line) == 1 and str(path) in line[0] and "left_shoulder" in line[0]
    assert not (tmp_path / "x.npz").exists()


def test_every_joint_under_the_pelvis_is_refused(tmp_path):
    parents = [-1] + [0] * (len(NAMES) - 1)
    path = smplx_named_bvh(tmp_path / "flat.bvh", parents=parents)
    with pytest.raises(SkeletonError, match=f"{path}.*hangs under 'pelvis'"):
        read_smplx_motion(path, None, warnings=[])


def test_left_and_right_swapped_is_warned_naming_the_joints(tmp_path, capsys):
    path = smplx_named_bvh(tmp_path / "mirrored.bvh", names=[swapped(n) for n in NAMES])
    warnings: list[str] = []
    read_smplx_motion(path, None, warnings=warnings)
    sides = [w for w in warnings if "swapped" in w]
    assert len(sides) == 1
    for joint in ("left_hip", "left_shoulder", "left_wrist"):
        assert joint in sides[0]
    assert main(["import", str(path), "--out", str(tmp_path / "x.npz")]) == 0
    assert "left and right look swapped" in capsys.readouterr().err


def test_bandai_takes_pass_both_checks():
    warnings: list[str] = []
    read_smplx_motion(BANDAI_EXCERPT, None, warnings=warnings)
    assert not [w for w in warnings if "swapped" in w]
