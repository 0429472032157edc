"""The atlas command (cli/inspect.py -> pipelines/atlas.py): a contact sheet PNG of a codebook.

References: the PNG read back with matplotlib (its size from the sheet's layout constants: 8
cells a row of CELL_INCHES at DPI; drawn, not blank), the usage counted here with
core.codecs.metrics on the codec's own tokens, the shipped bundles' code counts. Bad input
exits with status 2 and one line naming the problem, never a traceback.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image
from motion_tokens.cli import main
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.codecs.metrics import code_usage, perplexity
from motion_tokens.core.codecs.registry import MODELS_DIR, load_codec
from motion_tokens.core.formats import read_motion
from motion_tokens.core.inspect.atlas_sheet import CELL_INCHES, COLUMNS, DPI

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"


def _drawn(path: Path) -> np.ndarray:
    """The PNG as (H, W, 3) floats in [0, 1], checked to hold drawing, not a blank page."""
    pixels = image.imread(path)[..., :3]
    dark = (pixels.mean(axis=2) < 0.6).mean()  # lines and text
    assert 0.005 < dark < 0.3, f"{path.name}: {dark:.1%} of the pixels are drawn"
    blue, red = pixels[..., 2] - pixels[..., 0] > 0.3, pixels[..., 0] - pixels[..., 2] > 0.3
    assert blue.any() and red.any()  # the left and right sides drawn
    return pixels


def test_atlas_command_writes_the_contact_sheet(tmp_path):
    out = tmp_path / "atlas.png"
    command = ["atlas", "--codec", "kmeans-6", "--part", "body", "--out", str(out), "--usage", str(DEMO)]
    run = subprocess.run([sys.executable, "-m", "motion_tokens", *command], capture_output=True, text=True,
                         timeout=300, cwd=REPO)
    assert run.returncode == 0, run.stderr
    pixels = _drawn(out)
    assert pixels.shape[1] == pytest.approx(COLUMNS * CELL_INCHES * DPI, abs=2)
    assert pixels.shape[0] > pixels.shape[1]  # 8 rows of cells and a header
    assert out.stat().st_size < 300_000
    # The usage it prints is the demo's own tokens counted another way.
    codec = load_codec(MODELS_DIR / "kmeans-6-body")
    tokens = codec.encode(part_features(read_motion(DEMO), "body"))
    used = round(code_usage(tokens, 64).mean * 64 / 100)
    assert f"{used}/64 codes used ({code_usage(tokens, 64).mean:.1f}%), perplexity {perplexity(tokens, 64).mean:.1f}" \
        in run.stdout
    assert "over 150 rows" in run.stdout and run.stderr == ""


@pytest.mark.parametrize("args", [
    ["--codec", "rqvae-6", "--level", "0", "--training-usage"],
    ["--codec", "rqvae4-6", "--sort", "id", "--page", "0"],
])
def test_rqvae_atlases(tmp_path, capsys, args):
    out = tmp_path / "rq.png"
    assert main(["atlas", "--part", "body", "--out", str(out), *args]) == 0
    _drawn(out)
    printed = capsys.readouterr().out
    assert printed.startswith(f"{out}: atlas of ")
    if "--training-usage" in args:  # every level's usage, all 8 codes used in training
        assert "level 0: 8/8 codes used (100.0%)" in printed and "level 1: 8/8 codes used" in printed


def _refused(capsys, *args) -> str:
    """The one stderr line of `atlas ARGS`, which must exit with status 2."""
    assert main(["atlas", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("motion-tokens: error: "), err
    return err[0]


def test_bad_inputs_exit_2_naming_the_problem(tmp_path, capsys):
    png = tmp_path / "a.png"
    assert "a.jpg: the atlas is a PNG" in _refused(capsys, "--codec", "kmeans-6", "--part", "body",
                                                   "--out", str(tmp_path / "a.jpg"))
    assert "--level 1: codec kmeans-6 (body) has levels 0" in _refused(capsys, "--codec", "kmeans-6", "--part", "body",
                                                                       "--out", str(png), "--level", "1")
    assert "--page 1: codec kmeans-6 (body) has 64 codes a level, 1 page(s)" in _refused(
        capsys, "--codec", "kmeans-6", "--part", "body", "--out", str(png), "--page", "1")
    assert "'kmeans-7' is not installed" in _refused(capsys, "--codec", "kmeans-7", "--part", "body", "--out", str(png))
    assert "--sort usage needs usage" in _refused(capsys, "--codec", "kmeans-6", "--part", "body", "--out", str(png),
                                                  "--sort", "usage")
    assert f"{tmp_path / 'none.npz'}: no such file or folder" in _refused(
        capsys, "--codec", "kmeans-6", "--part", "body", "--out", str(png), "--usage", str(tmp_path / "none.npz"))
    assert "the folder" in _refused(capsys, "--codec", "kmeans-6", "--part", "body",
                                    "--out", str(tmp_path / "missing" / "a.png"))
    png.write_bytes(b"not motion")
    assert "is the input" in _refused(capsys, "--codec", "kmeans-6", "--part", "body", "--out", str(png),
                                      "--usage", str(png))
    with pytest.raises(SystemExit) as exit_:  # argparse's own refusal: usage, then the one error line
        main(["atlas", "--codec", "kmeans-6", "--part", "nose", "--out", str(png)])
    assert exit_.value.code == 2 and "invalid choice: 'nose'" in capsys.readouterr().err.strip().splitlines()[-1]
    assert not list(tmp_path.glob(".*.tmp"))  # nothing half-written


def test_a_bad_usage_file_is_named(tmp_path):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"PK\x03\x04 truncated")
    run = subprocess.run([sys.executable, "-m", "motion_tokens", "atlas", "--codec", "kmeans-6", "--part", "body",
                          "--out", str(tmp_path / "a.png"), "--usage", str(bad)], capture_output=True, text=True,
                         timeout=300, cwd=REPO)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"motion-tokens: error: {bad}:") and "Traceback" not in run.stderr
    assert not (tmp_path / "a.png").exists()
