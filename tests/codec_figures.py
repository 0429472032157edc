"""Per-bundle reference figures for the shipped-bundle tests (tests/test_codecs.py), committed
in tests/data/codec_figures.json; after training or retraining a bundle, regenerate it from the
repository root with

    PYTHONPATH=.. MOTION_TOKENS_DATA=../shared/data python tests/codec_figures.py --write

(without --write it prints the file instead). Each entry records the sha256 of the bundle's
weights it was measured on, so a retrained bundle is caught as lacking its figures.

The RMSE here does not use `features.part_positions` or core's rotations (the code under
test): joint positions come from a plain forward kinematics written here (scipy's rotation
vectors, one joint at a time) on the full 55-joint SMPL-X skeleton, the root at the origin
and every joint outside the part at rest; each point is then taken relative to its part's
origin (the pelvis for the body, each hand's wrist for the hands, the head for the face).
Only the skeleton's rest offsets and the part's list of points come from the package. A part
with expression coefficients (the face) also gets their plain RMSE (`expression_rmse`).

The held-out data is the committed split (core/codecs/split.json) over the shared data's
bandai, beat2, hands/manipnet and sign fingerspelling folders, each part keeping the takes in
which it moves: the body Bandai's held-out takes and BEAT2's tail, the hands BEAT2's tail,
ManipNet's held-out objects and the held-out fingerspelling letters (fitted fingers alone, like
ManipNet), the face BEAT2's tail; the hands' takes with their left/right mirror images (the
held-out set the manifests measure, training.dataset.evaluation_dataset).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"
FIGURES_FILE = Path(__file__).resolve().parent / "data" / "codec_figures.json"
COMMAND = "PYTHONPATH=.. MOTION_TOKENS_DATA=../shared/data python tests/codec_figures.py --write"
#: The bundles that shipped before the figures moved here: models/ holds at least these.
REQUIRED_BUNDLES = frozenset(
    [f"{f}-{b}-{p}" for f in ("kmeans", "rqvae") for b in (6, 9, 10, 12) for p in ("body", "hands")]
    + [f"kmeans-{b}-face" for b in (6, 9, 10, 12)]
)
#: The shared data folders the held-out split is taken from.
DATA_FOLDERS = (("bandai",), ("beat2",), ("hands", "manipnet"), ("sign", "fingerspelling"),
                ("sign", "lexicons", "fingerspelling"))


def shipped_bundles(models: Path | None = None) -> list[str]:
    """The codec bundles in `models` (default the repository's models/): each folder whose
    manifest.json says kind 'codec', read here as plain JSON. Sorted folder names."""
    models = REPO / "models" if models is None else models
    return sorted(m.parent.name for m in models.glob("*/manifest.json")
                  if json.loads(m.read_text(encoding="utf-8")).get("kind") == "codec")


def weights_sha256(folder: Path) -> str:
    """The sha256 (hashlib) of a bundle folder's weights file."""
    return hashlib.sha256((folder / "weights.safetensors").read_bytes()).hexdigest()


def load_figures(path: Path = FIGURES_FILE) -> dict[str, dict]:
    """Bundle folder name -> its entry (weights_sha256, excerpt_cm, held_out_cm,
    held_out_frames, and expression figures for a part with expressions)."""
    return json.loads(path.read_text(encoding="utf-8"))["bundles"]


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


def coded(codec, a: np.ndarray) -> np.ndarray:
    """`a` (T, F) through the codec, trimmed to T frames (a downsampled codec's last latent
    covers frames past the end)."""
    return codec.decode(codec.encode(a), num_frames=len(a))


def expression_rmse(a: np.ndarray, b: np.ndarray, part: str) -> float:
    """Plain RMSE of the expression columns (after the 3 per joint), over frames and columns."""
    from motion_tokens.core.parts import get_part

    start = 3 * len(get_part(part).joints)
    d = np.asarray(a, np.float64)[:, start:] - np.asarray(b, np.float64)[:, start:]
    return float(np.sqrt(np.mean(d * d)))


def held_out_rmse_cm(codec, arrays) -> float:
    """Each take coded on its own, squared errors pooled over frames."""
    squared = [rmse_cm(a, coded(codec, a), codec.part) ** 2 * len(a) for a in arrays]
    return float(np.sqrt(np.sum(squared) / sum(len(a) for a in arrays)))


def held_out_expression_rmse(codec, arrays) -> float:
    """As held_out_rmse_cm, for the expression coefficients."""
    squared = [expression_rmse(a, coded(codec, a), codec.part) ** 2 * len(a) for a in arrays]
    return float(np.sqrt(np.sum(squared) / sum(len(a) for a in arrays)))


def held_out_arrays(data: Path) -> dict[str, tuple[np.ndarray, ...]]:
    """part -> the (T_i, F) feature arrays of its held-out takes, for every registered part."""
    from motion_tokens.core.codecs.training.dataset import evaluation_dataset, part_dataset, read_takes, split_takes
    from motion_tokens.core.parts import PARTS

    _, held = split_takes(read_takes([data.joinpath(*f) for f in DATA_FOLDERS]))
    return {part: evaluation_dataset(part_dataset(held, part)).arrays for part in PARTS}


def measure(folder: Path, held: dict) -> dict:
    """The figures entry of the codec bundle in `folder`."""
    from motion_tokens.core.codecs.features import part_features
    from motion_tokens.core.codecs.registry import load_codec
    from motion_tokens.core.formats import read_motion
    from motion_tokens.core.parts import get_part

    codec = load_codec(folder)
    f = part_features(read_motion(DEMO), codec.part)
    arrays = held[codec.part]
    entry = {
        "weights_sha256": weights_sha256(folder),
        "excerpt_cm": round(rmse_cm(f, coded(codec, f), codec.part), 4),
        "held_out_cm": round(held_out_rmse_cm(codec, arrays), 4),
        "held_out_frames": int(sum(len(a) for a in arrays)),
    }
    if get_part(codec.part).expressions:
        entry["excerpt_expression_rmse"] = round(expression_rmse(f, coded(codec, f), codec.part), 5)
        entry["held_out_expression_rmse"] = round(held_out_expression_rmse(codec, arrays), 5)
    return entry


def main(argv=None) -> int:
    from motion_tokens.core import paths

    parser = argparse.ArgumentParser(description="Measure the shipped codec bundles' reference figures.")
    parser.add_argument("--write", action="store_true", help=f"write {FIGURES_FILE.relative_to(REPO)}")
    args = parser.parse_args(argv)
    held = held_out_arrays(paths.data_dir())
    bundles = {}
    for name in shipped_bundles():
        bundles[name] = measure(REPO / "models" / name, held)
        print(name, bundles[name]["excerpt_cm"], bundles[name]["held_out_cm"], file=sys.stderr)
    content = {
        "about": ("Joint-position RMSE (cm) of each shipped codec bundle on demo/beat2_excerpt.npz and on "
                  "the held-out split, by the independent FK of tests/codec_figures.py; weights_sha256 is "
                  "the bundle measured. Regenerate after (re)training a bundle with the command below."),
        "command": COMMAND,
        "bundles": bundles,
    }
    text = json.dumps(content, indent=1, sort_keys=True) + "\n"
    if args.write:
        FIGURES_FILE.parent.mkdir(exist_ok=True)
        FIGURES_FILE.write_text(text, encoding="utf-8")
        print(f"{FIGURES_FILE}: {len(bundles)} bundles", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
