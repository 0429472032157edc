"""Numeric options are held to the ranges of core.limits: one line naming the option, exit 2,
before any large array is made; resampling never makes more than 10x the input's rate."""

from pathlib import Path

import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.core.errors import OptionError
from motion_tokens.core.formats import read_bvh
from motion_tokens.core.limits import MAX_UPSAMPLE
from motion_tokens.pipelines.import_motion import ImportOptions, import_motion
from motion_tokens.pipelines.outputs import FileSink

REPO = Path(__file__).resolve().parents[1]
BANDAI_EXCERPT = REPO / "demo" / "bandai_excerpt.bvh"


def refusal(capsys, argv) -> str:
    """The one stderr line of a command that must exit 2 without writing anything."""
    assert main([str(a) for a in argv]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("fps", ["1e6", "241", "0", "-30", "nan", "inf"])
def test_import_refuses_a_frame_rate_out_of_range(tmp_path, capsys, fps):
    out = tmp_path / "x.npz"
    line = refusal(capsys, ["import", BANDAI_EXCERPT, "--out", out, "--fps", fps])
    assert "--fps" in line and "1 to 240" in line
    assert not out.exists()


def test_import_takes_frame_rates_inside_the_range(tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert main(["import", str(BANDAI_EXCERPT), "--out", str(out), "--fps", "240"]) == 0
    assert "at 240 fps" in capsys.readouterr().out


@pytest.mark.parametrize("start", ["99999999999", "-2000000"])
def test_import_refuses_a_frame_start_out_of_range(tmp_path, capsys, start):
    line = refusal(capsys, ["import", BANDAI_EXCERPT, "--out", tmp_path / "x.blend", "--frame-start", start])
    assert "--frame-start" in line and "1048574" in line


@pytest.mark.parametrize("seed", ["-1", str(2**32), str(10**30)])
def test_train_codec_refuses_a_seed_out_of_range(tmp_path, capsys, seed):
    line = refusal(capsys, ["train-codec", "--family", "kmeans", "--bits", "6", "--part", "body",
                            "--data", tmp_path, "--out", tmp_path / "bundle", "--seed", seed])
    assert "--seed" in line and "4294967295" in line


def test_pipeline_options_carry_the_limits_for_operators(tmp_path):
    """The operators build the same Options: the pipeline refuses them, not the CLI."""
    with pytest.raises(OptionError, match="fps"):
        import_motion(ImportOptions(BANDAI_EXCERPT, fps=1e6), FileSink(tmp_path / "x.npz"))
    with pytest.raises(OptionError, match="frame start"):
        import_motion(ImportOptions(BANDAI_EXCERPT), FileSink(tmp_path / "x.blend", frame_start=10**9))


def test_resampling_is_bounded_by_the_input_rate():
    motion = read_bvh(BANDAI_EXCERPT, warnings=[]).frames(0, 20)  # 30 fps
    slow = motion.resampled(10.0)  # 10 fps: 200 fps would be 20x
    with pytest.raises(OptionError, match="10 times"):
        slow.resampled(200.0)
    assert slow.resampled(10.0 * MAX_UPSAMPLE).num_frames == 1 + (slow.num_frames - 1) * int(MAX_UPSAMPLE)
    # Up to the models' 30 fps is allowed from any rate, and 240 fps from 30.
    assert slow.resampled(30.0).fps == 30.0
    assert motion.resampled(240.0).num_frames == 1 + 19 * 8
    with pytest.raises(OptionError, match="240"):
        motion.resampled(1e6)
    np.testing.assert_allclose(motion.resampled(240.0).rotations[::8], motion.rotations, atol=1e-12)
