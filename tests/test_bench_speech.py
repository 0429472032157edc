"""bench/speech.py: its inputs, its stages, and a quick run on 10 s whose report is read back.

The run needs Blender's module (bpy, with its audio library) and the generator bundle
models/gen-kmeans-10; it skips, saying which, where either is absent.
"""

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_speech", REPO / "bench" / "speech.py")
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_speech"] = bench
spec.loader.exec_module(bench)
soundfile = pytest.importorskip("soundfile")


def test_an_input_is_the_speech_repeated_to_the_length(tmp_path):
    samples = np.linspace(-0.5, 0.5, 16000 * 3, dtype=np.float32)  # 3 s
    path = bench.build_input(tmp_path, 10, samples)
    read, rate = soundfile.read(str(path), dtype="float32")
    assert rate == 16000 and len(read) == 160000
    # 16-bit PCM: within half a step of the source, which repeats every 3 s.
    np.testing.assert_allclose(read[:48000], samples, atol=1 / 32768)
    np.testing.assert_allclose(read[96000:144000], samples, atol=1 / 32768)


def test_steps_are_put_to_the_stage_their_progress_names():
    assert bench.stage_of("loading the generator gen-kmeans-10") == "load"
    assert bench.stage_of("audio features of Speech (10.0 s)") == "features"
    assert bench.stage_of("Speech: 3.2 of 10.0 s of speech") == "generation"
    assert bench.stage_of("decoding the hands, frames 1-300 of 300") == "decoding"
    assert bench.stage_of("keyframe channels, frames 1-300 of 300") == "keyframes"


def _bench_can_run():
    try:
        import bpy
    except ImportError:
        return "bpy (the Blender module) is not installed"
    if not bpy.app.build_options.audaspace:
        return f"bpy {bpy.app.version_string} is built without Audaspace (aud): no sound strips"
    if not (REPO / "models" / "gen-kmeans-10" / "manifest.json").is_file():
        return "the generator bundle models/gen-kmeans-10 is not installed"
    return None


def assert_ratio(shown: str, seconds: float, half_step: float) -> None:
    """`shown` ('39x') is 10 s over some time that rounds to `seconds` (within half_step)."""
    low, high = 10 / (seconds + half_step), 10 / max(seconds - half_step, 1e-9)
    assert shown.endswith("x") and round(low) <= int(shown[:-1]) <= round(high), (shown, seconds)


@pytest.mark.skipif(_bench_can_run() is not None, reason=str(_bench_can_run()))
def test_a_quick_run_on_10_s_reports_what_it_measured(tmp_path, capsys):
    out = tmp_path / "speed.md"
    assert bench.main(["--seconds", "10", "--out", str(out)]) == 0
    text = out.read_text()
    assert "Load average" in text and "training jobs" in text
    row = next(line for line in text.splitlines() if line.startswith("| 10 |"))
    cells = [c.strip().strip("*") for c in row.strip("|").split("|")]
    assert int(cells[1]) == 300  # 10 s at the scene's 30 fps
    cold_s, cold_x, warm_s, warm_x = float(cells[2]), cells[3], float(cells[4]), cells[5]
    # each ratio is 10 s over the unrounded seconds: one the seconds shown (rounded to 0.01 s cold,
    # 0.001 s warm, the warm call now taking a fraction of a second) allow
    assert_ratio(cold_x, cold_s, 0.005) and assert_ratio(warm_x, warm_s, 0.0005)
    stages = [float(c) for c in cells[7:-2]]
    cpu_s, cpu_x = float(cells[-2]), cells[-1]
    assert_ratio(cpu_x, cpu_s, 0.0005)
    assert len(stages) == len(bench.STAGES) and min(stages) >= 0
    # the stages are parts of the warm call; the table rounds the call and each stage to 0.001 s
    assert sum(stages) <= warm_s * 1.01 + 0.0005 + 0.0005 * len(stages)
    assert stages[bench.STAGES.index("generation")] > 0 and stages[bench.STAGES.index("keyframes")] > 0
    assert float(cells[6]) > 50  # peak resident MB: at least Blender's own
    said = capsys.readouterr().out
    assert re.search(r"10 s: \d+x real time warm, (\*\*misses|meets)", said)
