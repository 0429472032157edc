"""bench/retrain_codecs.py sets a bundle trained again beside the shipped one and adds the
training time up over the workers (the bundle is put in WORK beforehand, so nothing trains)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from motion_tokens.core.codecs.registry import MODELS_DIR

REPO = Path(__file__).resolve().parents[1]


def _run(*args):
    return subprocess.run([sys.executable, str(REPO / "bench" / "retrain_codecs.py"), *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def test_a_bundle_already_trained_again_is_compared_not_retrained(tmp_path):
    work, out = tmp_path / "work", tmp_path / "retrain.md"
    shutil.copytree(MODELS_DIR / "rqvae-6-face", work / "rqvae-6-face")
    manifest = json.loads((work / "rqvae-6-face" / "manifest.json").read_text())
    recorded = manifest["training"]["seconds"]
    manifest["training"]["seconds"] = recorded / 2
    (work / "rqvae-6-face" / "manifest.json").write_text(json.dumps(manifest))
    run = _run("--bundles", "rqvae-6-face", "--work", str(work), "--out", str(out))
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    assert "already in WORK" in text and "$ " not in run.stdout
    row = [line for line in text.splitlines() if line.startswith("| rqvae-6-face | trained again")][0]
    assert row.split("|")[3].strip() == f"{recorded / 2:.0f}" and row.rstrip(" |").endswith("yes")
    assert "(2.00x)" in text and "held-out error +0.0%" in text
    assert "another machine" not in text


def test_an_unknown_or_k_means_bundle_is_refused(tmp_path):
    for name, problem in (("rqvae-7-face", "no shipped bundle"), ("kmeans-6-face", "not an RQ-VAE")):
        run = _run("--bundles", name, "--work", str(tmp_path), "--out", str(tmp_path / "r.md"))
        assert run.returncode == 2 and name in run.stderr and problem in run.stderr
        assert not (tmp_path / "r.md").exists()
