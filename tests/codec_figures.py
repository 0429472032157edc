"""Per-codec reference figures for the shipped-bundle tests, measured once and committed in
tests/test_codecs.py (CODEC_FIGURES_CM); rerun after retraining a bundle and paste the table:

    PYTHONPATH=.. MOTION_TOKENS_DATA=../shared/data python tests/codec_figures.py

The RMSE here does not use `features.part_positions` or core's rotations (the code under
test): joint positions come from a plain forward kinematics written here (scipy's rotation
vectors, one joint at a time) on the full 55-joint SMPL-X skeleton, the root at the origin
and every joint outside the part at rest; each point is then taken relative to its part's
origin (the pelvis for the body, each hand's wrist for the hands). Only the skeleton's rest
offsets and the part's list of points come from the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"
SHIPPED = [(f, b, p) for f in ("kmeans", "rqvae") for b in (6, 9, 10, 12) for p in ("body", "hands")]


def fk_points(features: np.ndarray, part: str) -> np.ndarray:
    """(T, P, 3) metres: the part's error points by a plain FK over all 55 joints (scipy's
    rotation vectors, one joint at a time, parents first)."""
    from motion_tokens.core.parts import get_part
    from motion_tokens.core.skeleton import SMPLX_PARENTS, smplx_skeleton
    from scipy.spatial.transform import Rotation

    spec = get_part(part)
    offsets = np.array(smplx_skeleton().offsets, dtype=np.float64)
    f = np.asarray(features, dtype=np.float64)
    T, J = f.shape[0], len(spec.joints)
    local = np.broadcast_to(np.eye(3), (T, 55, 3, 3)).copy()
    local[:, list(spec.joints)] = Rotation.from_rotvec(f[:, : 3 * J].reshape(-1, 3)).as_matrix().reshape(T, J, 3, 3)
    G = np.empty_like(local)
    P = np.zeros((T, 55, 3))
    for j, parent in enumerate(SMPLX_PARENTS):
        if parent < 0:
            G[:, j] = local[:, j]  # the root at the origin
            continue
        G[:, j] = G[:, parent] @ local[:, j]
        P[:, j] = P[:, parent] + G[:, parent] @ offsets[j]
    points = [P[:, j] for j in spec.points]
    # Tip points: a joint's rest offset carried on past it by its own world rotation.
    points += [P[:, j] + G[:, j] @ offsets[j] for j in spec.tips_from]
    return np.stack(points, axis=1) - P[:, list(spec.point_origins)]


def rmse_cm(a: np.ndarray, b: np.ndarray, part: str) -> float:
    d = fk_points(a, part) - fk_points(b, part)
    return float(np.sqrt(np.mean(np.sum(d * d, axis=-1))) * 100.0)


def held_out_rmse_cm(codec, arrays) -> float:
    """Each take coded on its own, squared errors pooled over frames."""
    squared = [rmse_cm(a, codec.decode(codec.encode(a)), codec.part) ** 2 * len(a) for a in arrays]
    return float(np.sqrt(np.sum(squared) / sum(len(a) for a in arrays)))


def main() -> int:
    from motion_tokens.core import paths
    from motion_tokens.core.codecs.features import part_features
    from motion_tokens.core.codecs.registry import codec_folder, load_codec
    from motion_tokens.core.codecs.training.dataset import (
        part_dataset,
        read_takes,
        split_takes,
    )
    from motion_tokens.core.formats import read_motion

    data = paths.data_dir()
    _, held = split_takes(read_takes([data / "bandai", data / "beat2"]))
    held = {part: part_dataset(held, part).arrays for part in ("body", "hands")}
    demo = read_motion(DEMO)
    print("CODEC_FIGURES_CM = {  # (family, bits, part): (demo excerpt, held-out split)")
    for family, bits, part in SHIPPED:
        codec = load_codec(codec_folder(f"{family}-{bits}", part))
        f = part_features(demo, part)
        excerpt = rmse_cm(f, codec.decode(codec.encode(f)), part)
        print(f"    ({family!r}, {bits}, {part!r}): ({excerpt:.3f}, {held_out_rmse_cm(codec, held[part]):.3f}),")
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
