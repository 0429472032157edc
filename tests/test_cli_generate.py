"""`python -m motion_tokens generate`, run as users run it (a new process): the BEAT2 speech
written as a tokens .npz (read back), a BVH and a .blend; exit status 2 with one line for
bad input. The generating runs need the shipped generator models/gen-kmeans-10."""

import subprocess
import sys

import numpy as np
import pytest
from motion_tokens.core.codecs.bundle import load_bundle
from motion_tokens.core.formats import read_bvh
from motion_tokens.core.formats.tokens import read_tokens_file
from motion_tokens.core.paths import MODELS_DIR
from cli_runs import assert_bad_input, run_command

GENERATOR = MODELS_DIR / "gen-kmeans-10"
needs_generator = pytest.mark.skipif(
    not (GENERATOR / "manifest.json").is_file(),
    reason="the generator bundle models/gen-kmeans-10 is not installed (trained on the generate branch)",
)
BEAT2_WAV = "beat2/2_scott_0_1_1.wav"


def run_cli(*args):
    return run_command("generate", *args)


def speech_frames(path) -> int:
    """Motion frames the speech at `path` gives: one per 1/30 s (soundfile's own count)."""
    import soundfile

    info = soundfile.info(str(path))
    return round(info.frames / info.samplerate * 30)


@needs_generator
def test_beat2_speech_to_a_tokens_file(data_dir, tmp_path):
    wav = data_dir / BEAT2_WAV
    out = tmp_path / "speech.npz"
    result = run_cli(wav, "--out", out, "--seed", 3, "--temperature", 0.9, "--top-k", 50)
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    frames = speech_frames(wav)
    tokens = read_tokens_file(out)
    assert tokens.template.num_frames == frames and tokens.token_fps == 30.0
    manifest = load_bundle(GENERATOR).manifest
    assert {f"{name}-{part}" for part, name in tokens.codec_names.items()} == {e["name"] for e in manifest["codecs"].values()}
    for part, entry in manifest["codecs"].items():
        assert len(tokens.tokens[part]) == frames
        assert tokens.codebooks[part].sha256 == entry["sha256"]
    with np.load(out) as data:
        assert data["poses"].shape == (frames, 165) and data["expressions"].shape == (frames, 100)
    # `decode` takes the file, and the same seed writes the same tokens again
    again = tmp_path / "again.npz"
    assert run_cli(wav, "--codec", "kmeans-10", "--out", again, "--seed", 3, "--temperature", 0.9,
                   "--top-k", 50).returncode == 0
    for part in tokens.tokens:
        np.testing.assert_array_equal(read_tokens_file(again).tokens[part], tokens.tokens[part])
    decoded = subprocess.run([sys.executable, "-m", "motion_tokens", "decode", str(out), "--out", str(tmp_path / "d.bvh")],
                             capture_output=True, text=True, timeout=300)
    assert decoded.returncode == 0, decoded.stderr


@needs_generator
def test_several_speeches_to_bvh_files_in_a_folder(data_dir, tmp_path):
    wavs = [data_dir / "beat2/2_scott_0_2_2.wav", data_dir / "beat2/2_scott_0_3_3.wav"]
    result = run_cli(*wavs, "--out", tmp_path / "out", "--format", "bvh")
    assert result.returncode == 0, result.stderr
    for wav in wavs:
        motion = read_bvh(tmp_path / "out" / f"{wav.stem}.bvh")
        assert motion.num_frames == speech_frames(wav)


@needs_generator
def test_speech_to_a_blend(data_dir, tmp_path):
    pytest.importorskip("bpy", reason="a .blend needs Blender's bpy module")
    wav = data_dir / "beat2/2_scott_0_2_2.wav"
    out = tmp_path / "speech.blend"
    result = run_cli(wav, "--out", out)
    assert result.returncode == 0, result.stderr
    check = ("import bpy, sys; bpy.ops.wm.open_mainfile(filepath=sys.argv[1]); "
             "a = [o for o in bpy.data.objects if o.type == 'ARMATURE'][0]; "
             "r = a.animation_data.action.frame_range; t = a.animation_data.action['motion_tokens_tokens']; "
             "print(int(r[0]), int(r[1]), len(t['parts']['body']['tokens']), t['token_fps'])")
    opened = subprocess.run([sys.executable, "-c", check, str(out)], capture_output=True, text=True, timeout=300)
    frames = str(speech_frames(wav))
    assert opened.stdout.split()[-4:] == ["1", frames, frames, "30.0"], opened.stderr


def test_bad_options_exit_2_naming_them(tmp_path):
    wav = tmp_path / "speech.wav"
    wav.write_bytes(b"x")
    out = tmp_path / "out.npz"
    assert_bad_input(run_cli(wav, "--out", out, "--seed", -1), "--seed")
    assert_bad_input(run_cli(wav, "--out", out, "--temperature", "inf"), "--temperature")
    assert_bad_input(run_cli(wav, "--out", out, "--top-k", 100000), "--top-k")
    assert_bad_input(run_cli(tmp_path / "none.wav", "--out", out), tmp_path / "none.wav", "no such file")
    assert_bad_input(run_cli(wav, wav, "--out", out), out, "folder")
    assert_bad_input(run_cli(wav, "--out", tmp_path / "out.wav"), "unknown output type")
    assert_bad_input(run_cli(wav, "--out", out, "--generator", "gen-nothing"), "gen-nothing", "installed")
    assert not out.exists()


@needs_generator
def test_unusable_audio_exits_2_naming_the_file(tmp_path):
    import soundfile

    cases = {"empty.wav": None, "corrupt.wav": b"RIFF....WAVEfmt " + bytes(64), "short.wav": 0.2, "silent.wav": 0.0}
    for name, content in cases.items():
        path = tmp_path / name
        if content is None or isinstance(content, bytes):
            path.write_bytes(content or b"")
        elif content:
            soundfile.write(str(path), 0.3 * np.sin(np.arange(int(16000 * content)) / 5.0), 16000)
        else:
            soundfile.write(str(path), np.zeros(32000), 16000)
        assert_bad_input(run_cli(path, "--out", tmp_path / "out.npz"), path)
    assert not (tmp_path / "out.npz").exists()


@needs_generator
def test_the_blender_script_runs_generate(data_dir, tmp_path):
    pytest.importorskip("bpy", reason="tools/blender_cli.py runs where bpy is")
    script = MODELS_DIR.parent / "tools" / "blender_cli.py"
    wav = data_dir / "beat2/2_scott_0_2_2.wav"
    out = tmp_path / "speech.fbx"
    result = subprocess.run([sys.executable, str(script), "--", "generate", str(wav), "--out", str(out),
                             "--rig", "metahuman", "--seed", "2"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10_000 and f"frames 1-{speech_frames(wav)}" in result.stdout
    bad = subprocess.run([sys.executable, str(script), "--", "generate", str(tmp_path / "none.wav"), "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "none.wav" in bad.stderr
