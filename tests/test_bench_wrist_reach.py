"""bench/wrist_reach.py: a codec that returns its input keeps 100% of each wrist's hull, one
that holds a single pose keeps none; the command writes a row per bundle with the manifest's
figures and refuses a bundle that is not the body's."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.codecs.registry import MODELS_DIR
from motion_tokens.core.formats import read_motion

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"
sys.path.insert(0, str(REPO / "bench"))
from wrist_reach import hull_pct  # noqa: E402


class _Exact:
    def encode(self, features):
        return np.asarray(features)

    def decode(self, tokens, num_frames):
        return np.asarray(tokens)[:num_frames]


class _OnePose(_Exact):
    def decode(self, tokens, num_frames):
        return np.repeat(np.asarray(tokens)[:1], num_frames, axis=0)


def test_an_exact_codec_keeps_the_whole_hull_and_one_pose_none():
    features = part_features(read_motion(DEMO), "body")
    assert hull_pct(_Exact(), [features]) == pytest.approx((100.0, 100.0), abs=1e-9)
    assert hull_pct(_OnePose(), [features]) == pytest.approx((0.0, 0.0), abs=1e-9)


def _run(*args):
    return subprocess.run([sys.executable, str(REPO / "bench" / "wrist_reach.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)


def test_the_command_writes_a_row_per_bundle_with_its_manifest_figures(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(DEMO, data / DEMO.name)
    out = tmp_path / "reach.md"
    run = _run(MODELS_DIR / "rqvae4-6-body", "--data", data, "--out", out)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((MODELS_DIR / "rqvae4-6-body" / "manifest.json").read_text())
    row = next(line for line in out.read_text().splitlines() if "(rqvae4-6)" in line).split("|")
    # The excerpt is no take of the split: all of it is training, nothing held out.
    assert row[3].strip() == "n/a/n/a"
    left, right = (float(v) for v in row[4].split("/"))
    assert 0.0 < left < 200.0 and 0.0 < right < 200.0
    assert row[5].strip() == f"{manifest['evaluation']['held_out']['rmse_cm']:.2f}"
    assert row[8].strip() == f"{manifest['evaluation']['train']['rotation_mean_deg']:.2f}"


def test_a_bundle_of_another_part_or_without_a_manifest_is_refused(tmp_path):
    for folder, problem in ((MODELS_DIR / "rqvae4-6-hands", "the wrists are the body's"),
                            (tmp_path / "nothing", "cannot be read")):
        run = _run(folder, "--data", tmp_path, "--out", tmp_path / "r.md")
        assert run.returncode == 2 and str(folder) in run.stderr and problem in run.stderr
        assert not (tmp_path / "r.md").exists()
