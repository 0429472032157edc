"""tools/reevaluate_codecs.py: recomputing a bundle's evaluation on the current split gives
back the figures train-codec wrote where the split has not changed (the manifest's figures
are reproducible from the weights), leaves the weights alone, and notes what it did."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from motion_tokens.core.codecs.registry import MODELS_DIR, load_codec

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.data


def test_reevaluating_an_unchanged_split_reproduces_the_manifest(tmp_path, data_dir):
    folder = tmp_path / "kmeans-6-body"
    shutil.copytree(MODELS_DIR / "kmeans-6-body", folder)
    before = json.loads((folder / "manifest.json").read_text())
    weights = (folder / "weights.safetensors").read_bytes()
    run = subprocess.run([sys.executable, str(REPO / "tools" / "reevaluate_codecs.py"), str(folder),
                          "--data", str(data_dir / "bandai"), str(data_dir / "beat2")],
                         capture_output=True, text=True, timeout=600, cwd=REPO)
    assert run.returncode == 0, run.stderr
    after = json.loads((folder / "manifest.json").read_text())
    for split in ("held_out", "train"):
        for key in ("frames", "rmse_cm", "usage_percent", "perplexity"):
            assert after["evaluation"][split][key] == pytest.approx(before["evaluation"][split][key], abs=1e-3), key
        assert after["evaluation"][split]["rotation_mean_deg"] > 0  # the figures added since
    assert (folder / "weights.safetensors").read_bytes() == weights and after["files"] == before["files"]
    assert "tools/reevaluate_codecs.py" in after["notes"][-1]
    assert load_codec(folder).name == "kmeans-6"
