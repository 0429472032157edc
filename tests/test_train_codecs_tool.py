"""tools/train_codecs.py's `is_done`: which bundles `make codecs` skips. A bundle is done when
its manifest records the command, the family's sizes for the part, and (an RQ-VAE) this code's
settings, a setting added since it was trained counting as its default."""

import importlib.util
import json
import os
from dataclasses import asdict
from pathlib import Path

import pytest
from motion_tokens.core.codecs.training.rqvae_fit import default_training

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("train_codecs_tool", REPO / "tools" / "train_codecs.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)

COMMAND = "python -m motion_tokens train-codec --family rqvae4 --bits 6 --part face --data d --out o --seed 0"


def _bundle(tmp_path, **changes) -> Path:
    optimisation = asdict(default_training("face", 4, 6)) | {"optimizer": "AdamW, cosine schedule"}
    manifest = {"command": COMMAND, "D": 16, "Q": 6, "model_config": {"rotation": "6d"},
                "training": {"optimisation": optimisation}}
    for key, value in changes.items():
        if key in optimisation:
            optimisation[key] = value
        else:
            manifest[key] = value
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def test_a_bundle_of_this_codes_settings_is_done(tmp_path):
    assert tool.is_done(_bundle(tmp_path), "rqvae4", 6, "face", COMMAND)


def test_a_setting_added_since_counts_as_its_default(tmp_path):
    folder = _bundle(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["training"]["optimisation"]["weights"]  # trained before the setting existed
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert default_training("face", 4, 6).weights == "float32"
    assert tool.is_done(folder, "rqvae4", 6, "face", COMMAND)


@pytest.mark.parametrize("change", [{"D": 64, "Q": 4}, {"steps": 1}, {"weights": "float16"},
                                    {"command": COMMAND.replace("seed 0", "seed 1")},
                                    {"model_config": {"rotation": "axis_angle"}}])
def test_other_sizes_settings_or_command_are_retrained(tmp_path, change):
    assert not tool.is_done(_bundle(tmp_path, **change), "rqvae4", 6, "face", COMMAND)


def test_a_missing_or_unreadable_manifest_is_not_done(tmp_path):
    assert not tool.is_done(tmp_path, "rqvae4", 6, "face", COMMAND)
    (tmp_path / "manifest.json").write_text("{")
    assert not tool.is_done(tmp_path, "rqvae4", 6, "face", COMMAND)


def test_lanes_put_the_longest_first_on_the_least_loaded_worker():
    # Hand-worked: 5 -> A, 4 -> B, 3 -> B (4 < 5), 2 -> A (5 < 7), 1 -> A or B at 7: A (first).
    lanes = tool.lanes_of({"a": 5, "b": 4, "c": 3, "d": 2, "e": 1}, 2)
    assert lanes == [["a", "d", "e"], ["b", "c"]]
    assert tool.lanes_of({"a": 1, "b": 2}, 1) == [["b", "a"]]


def test_parallel_runs_prefix_every_line_and_name_the_failures(tmp_path):
    import io
    import sys

    script = "import sys; print('one'); print('two'); sys.exit(int(sys.argv[1]))"
    commands = {"ok": [sys.executable, "-c", script, "0"], "bad": [sys.executable, "-c", script, "3"],
                "ok2": [sys.executable, "-c", script, "0"]}
    out = io.StringIO()
    failed = tool.run_parallel(commands, 2, ["ok", "bad", "ok2"], out=out)
    assert failed == ["bad"]
    lines = out.getvalue().splitlines()
    assert sorted(lines) == sorted(f"[{n}] {w}" for n in commands for w in ("one", "two"))
    # Each command's own lines keep their order.
    assert lines.index("[bad] one") < lines.index("[bad] two")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="--jobs 2 needs 2 cores")
def test_estimate_sums_what_the_manifests_record(tmp_path, capsys):
    for name, seconds in (("rqvae-6-face", 30.0), ("rqvae-9-face", 20.0), ("rqvae-10-face", 10.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps({"training": {"seconds": seconds}}))
    assert tool.main(["--families", "rqvae", "--parts", "face", "--models", str(tmp_path), "--jobs", "2",
                      "--estimate"]) == 0
    # 4 bundles (rqvae-12-face has no manifest: 0 s): 60 s in all; lanes 30 | 20 + 10 + 0.
    assert "4 bundles: 60 s recorded in all; over 2 worker(s) the busiest takes 30 s" in capsys.readouterr().out


def test_absurd_jobs_are_refused(capsys):
    assert tool.main(["--jobs", "0", "--dry-run"]) == 2
    assert "--jobs must be between 1" in capsys.readouterr().err


@pytest.mark.data
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="--jobs 2 needs 2 cores")
def test_parallel_training_writes_the_bundles_and_then_skips_them(data_dir, tmp_path, capsys):
    args = ["--families", "kmeans", "--bits", "6", "9", "--parts", "face", "--data", str(data_dir / "beat2"),
            "--models", str(tmp_path), "--jobs", "2"]
    assert tool.main(args) == 0
    for name in ("kmeans-6-face", "kmeans-9-face"):
        manifest = json.loads((tmp_path / name / "manifest.json").read_text())
        assert manifest["name"] == name.rsplit("-", 1)[0] and manifest["training"]["threads"] == 1
    assert "2 bundles trained, 0 failed" in capsys.readouterr().out
    assert tool.main(args) == 0
    assert "0 bundles to train" in capsys.readouterr().out
