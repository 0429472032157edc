"""A shipped bundle trained again by the command its manifest records gives the same weights
(sha256) and so the same figures: the manifests describe what their commands make. Two cheap
bundles of the shared data (a k-means and an RQ-VAE face codec, seconds each), trained on the
thread count their manifests record (a seed's weights are the same for a given count)."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from motion_tokens.core.codecs.registry import MODELS_DIR

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.data


def _command_here(command: str, data_dir: Path, out: Path) -> list[str]:
    """The manifest's command with its data folders under `data_dir` and its output at `out`."""
    argv, fixed, i = shlex.split(command), [], 0
    assert argv[:3] == ["python", "-m", "motion_tokens"], command
    argv = argv[3:]
    while i < len(argv):
        if argv[i] == "--data":
            fixed.append("--data")
            i += 1
            while i < len(argv) and not argv[i].startswith("--"):
                fixed.append(str(data_dir / argv[i].split("shared/data/", 1)[1]))
                i += 1
        elif argv[i] == "--out":
            fixed += ["--out", str(out)]
            i += 2
        else:
            fixed.append(argv[i])
            i += 1
    return [sys.executable, "-m", "motion_tokens", *fixed]


@pytest.mark.parametrize("name", ["kmeans-6-face", "rqvae-9-face"])
def test_the_recorded_command_makes_the_shipped_bundle(name, data_dir, tmp_path):
    shipped = json.loads((MODELS_DIR / name / "manifest.json").read_text())
    out = tmp_path / name
    env = os.environ | {"OMP_NUM_THREADS": str(shipped["training"]["threads"])}
    run = subprocess.run(_command_here(shipped["command"], data_dir, out), capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=900)
    assert run.returncode == 0, run.stderr
    again = json.loads((out / "manifest.json").read_text())
    assert again["files"] == shipped["files"]
    for split in ("held_out", "train"):
        for key in ("frames", "rmse_cm", "rotation_mean_deg", "usage_percent"):
            assert again["evaluation"][split][key] == shipped["evaluation"][split][key], (split, key)
