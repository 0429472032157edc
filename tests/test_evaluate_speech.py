"""evaluate-speech end to end: the report written and read back, the generator seam, and
bad input exiting 2 with one line naming the problem."""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.core.errors import MotionTokensError
from motion_tokens.core.gesture_metrics.clips import Method
from motion_tokens.pipelines.evaluate_speech import SpeechOptions, evaluate_speech

sys.path.insert(0, str(Path(__file__).parent))
from speech_eval_helpers import write_random_encoder  # noqa: E402

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    return write_random_encoder(tmp_path_factory.mktemp("enc") / "motion-encoder").folder


def _rows(text: str, block: str) -> dict[str, list[str]]:
    """{method: cells} of the block's main table in a report."""
    section = text.split(f"## {block}")[1].split("Part synchrony")[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return {r[0].strip(): [c.strip() for c in r[1:]] for r in rows[1:]}


def test_cli_writes_the_report(data_dir, encoder_dir, tmp_path, capsys):
    out = tmp_path / "speech.md"
    rc = main(["evaluate-speech", "--data", str(data_dir / "beat2"), "--out", str(out), "--encoder", str(encoder_dir),
               "--seeds", "2"])
    assert rc == 0 and f"wrote {out}" in capsys.readouterr().out
    text = out.read_text()
    assert "python -m motion_tokens evaluate-speech --data" in text
    assert "| 2_scott_0_1_1 | held-out | 1429 | 477 | 15.9 | 6 |" in text  # the split's last 25%, 4 s every 2 s
    for block in ("held-out (6 clips)", "in-sample (22 clips)"):
        rows = _rows(text, block)
        assert set(rows) == {"ground truth", "shifted ground truth", "random training clips", "mean pose"}
        assert rows["ground truth"][1] == "0.000"  # FGD against itself
        assert rows["mean pose"][4] == "0.000" and rows["mean pose"][7] == "0.0"  # no spread, no jerk
        assert float(rows["mean pose"][1]) > 0
        assert rows["random training clips"][0] == "2" and rows["ground truth"][0] == "1"
        # the shifted truth is the same motion: its L1 diversity is the truth's within a few percent
        assert float(rows["shifted ground truth"][4]) == pytest.approx(float(rows["ground truth"][4]), rel=0.1)


def test_generator_seam(data_dir, encoder_dir, tmp_path):
    calls = []

    def jittered(clip, seed):
        calls.append((clip.samples.shape, clip.features.shape, seed))
        rng = np.random.default_rng(seed)
        q = clip.motion.rotations + rng.normal(scale=0.01, size=clip.motion.rotations.shape)
        return replace(clip.motion, rotations=q / np.linalg.norm(q, axis=-1, keepdims=True))

    options = SpeechOptions((data_dir / "beat2",), tmp_path / "r.md", encoder=encoder_dir, seeds=2)
    result = evaluate_speech(options, extra_methods=(Method("generator", jittered, stochastic=True),))
    gen = [f for f in result.figures if f.method == "generator"]
    assert [f.block for f in gen] == ["held-out", "in-sample"] and gen[0].seeds == 2
    assert calls[0] == ((64000,), (120, 66), 0)  # 4 s of 16 kHz audio, 120 feature frames
    assert gen[0].seed_spread > 0 and gen[0].jerk > [f for f in result.figures if f.method == "ground truth"][0].jerk

    def too_short(clip, seed):
        return clip.motion.frames(0, 10)

    with pytest.raises(MotionTokensError, match="gave 10 frames"):
        evaluate_speech(options, extra_methods=(Method("short", too_short),))


@pytest.mark.parametrize("argv, message", [
    (["--out", "{tmp}/r.txt"], "give it a .md suffix"),
    (["--out", "{tmp}/r.md", "--seeds", "0"], "--seeds must be 1 to 64"),
    (["--out", "{tmp}/r.md", "--encoder", "{tmp}/none"], "no such bundle folder"),
    (["--out", "{tmp}/r.md", "--codec", "kmeans-7"], "no codec bundle named 'kmeans-7'"),
])
def test_bad_input_exits_2(data_dir, encoder_dir, tmp_path, capsys, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if "--encoder" not in argv:
        argv += ["--encoder", str(encoder_dir)]
    rc = main(["evaluate-speech", "--data", str(data_dir / "beat2"), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err


def test_data_without_speech_exits_2(encoder_dir, tmp_path, capsys, data_dir):
    (tmp_path / "empty").mkdir()
    assert main(["evaluate-speech", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "r.md")]) == 2
    assert "no motion files" in capsys.readouterr().err
    assert main(["evaluate-speech", "--data", str(data_dir / "bandai" / "dataset-2"), "--out", str(tmp_path / "r.md"),
                 "--encoder", str(encoder_dir)]) == 2
    assert "no speech take here" in capsys.readouterr().err


def test_a_generator_bundle_is_a_row_made_by_the_generate_job(data_dir, encoder_dir, tmp_path, capsys):
    """--generator evaluates the shipped generator through the generate job: its row is there in
    both blocks, seeded samples differ (a spread), and each clip's motion is what `generate`
    makes of that clip's audio (the same seed reproduces it)."""
    from motion_tokens.core.audio import Speech
    from motion_tokens.pipelines.evaluate_speech import generator_method
    from motion_tokens.pipelines.generate import GenerateOptions, generate

    out = tmp_path / "speech.md"
    rc = main(["evaluate-speech", "--data", str(data_dir / "beat2"), "--out", str(out), "--encoder", str(encoder_dir),
               "--seeds", "2", "--generator", "gen-kmeans-10"])
    assert rc == 0, capsys.readouterr().err
    text = out.read_text()
    assert "--generator gen-kmeans-10" in text
    for block in ("held-out (6 clips)", "in-sample (22 clips)"):
        rows = _rows(text, block)
        assert rows["gen-kmeans-10"][0] == "2" and float(rows["gen-kmeans-10"][1]) > 0  # 2 seeds; FGD against truth

    options = SpeechOptions((data_dir / "beat2",), out, encoder=encoder_dir, seeds=1)
    method = generator_method("gen-kmeans-10", options)
    clip = _first_held_out_clip(data_dir)
    made = method.make(clip, 3)
    assert made.num_frames == clip.num_frames and made.fps == 30.0
    speech = Speech.from_samples(clip.samples, clip.sample_rate, clip.name)

    class Keep:
        def check(self, inputs):
            pass

        def write_steps(self, generated, index):
            self.motion = generated.motion
            from motion_tokens.pipelines.outputs import Written
            return Written([], [], None)
            yield

    sink = Keep()
    generate(GenerateOptions((speech,), "gen-kmeans-10", seed=3), sink)
    np.testing.assert_array_equal(made.rotations, sink.motion.rotations[: clip.num_frames])


def _first_held_out_clip(data_dir):
    from motion_tokens.core.gesture_metrics.speech_data import read_speech_takes
    from motion_tokens.pipelines.evaluate_speech import _speech_files

    take = read_speech_takes(_speech_files([data_dir / "beat2"]))[0]
    return next(block for block, _ in take.blocks if block.name == "held-out").clips[0]
