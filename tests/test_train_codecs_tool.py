"""tools/train_codecs.py's `is_done`: which bundles `make codecs` skips. A bundle is done when
its manifest records the command, the family's sizes for the part, and (an RQ-VAE) this code's
settings, a setting added since it was trained counting as its default."""

import importlib.util
import json
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
