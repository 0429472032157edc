"""pipelines.generate: speech to tokens to SMPL-X motion, written as files; the options'
ranges, the sink's refusals and the errors for unusable speech.

The full path runs the shipped generator bundle models/gen-kmeans-10 (the generate branch
trains it); the tests that need it skip, saying so, where it is not installed.
"""

from pathlib import Path

import numpy as np
from motion_tokens.core.inertialization import INERTIA_FRAMES
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.audio import AudioContentError, Speech
from motion_tokens.core.codecs.bundle import load_bundle
from motion_tokens.core.codecs.coding import decoded_motion, load_tokens_codecs
from motion_tokens.core.codecs.registry import codec_folder, load_codec
from motion_tokens.core.errors import CorruptFileError, MissingFileError, MotionTokensError, OptionError, OutputError
from motion_tokens.core.formats.tokens import read_tokens_file
from motion_tokens.core.parts import PART_REGISTRY
from motion_tokens.core.paths import MODELS_DIR
from motion_tokens.pipelines.generate import (
    GeneratedFiles,
    GenerateOptions,
    generate,
    generate_steps,
    resolve_generator,
)

GENERATOR = MODELS_DIR / "gen-kmeans-10"
needs_generator = pytest.mark.skipif(
    not (GENERATOR / "manifest.json").is_file(),
    reason="the generator bundle models/gen-kmeans-10 is not installed (trained on the generate branch)",
)
RATE = 16000


def speech_of(seconds: float, name: str = "tone", seed: int = 0) -> Speech:
    """Speech-like audio: a 150 Hz buzz with syllable-rate (4 Hz) bursts and a little noise."""
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2
    noise = np.random.default_rng(seed).normal(0, 0.01, len(t))
    return Speech.from_samples((0.2 * envelope * np.sign(np.sin(2 * np.pi * 150 * t)) + noise).astype(np.float32),
                               RATE, name)


def wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    import soundfile

    soundfile.write(str(path), samples, rate)
    return path


# --- options and sinks: no generator needed ---------------------------------------------


@pytest.mark.parametrize("change, option", [
    ({"seed": -1}, "seed"), ({"seed": 2**32}, "seed"), ({"seed": 1.5}, "seed"),
    ({"temperature": 0.0}, "temperature"), ({"temperature": float("nan")}, "temperature"),
    ({"temperature": 6.0}, "temperature"), ({"top_k": -1}, "top-k"), ({"top_k": 5000}, "top-k"),
    ({"top_k": 2.0}, "top-k"), ({"inputs": ()}, "no speech"),
])
def test_options_out_of_range_are_refused_naming_the_option(change, option, tmp_path):
    fields = {"inputs": (speech_of(1.0),), **change}
    with pytest.raises(OptionError, match=option):
        generate(GenerateOptions(**fields), GeneratedFiles(tmp_path / "x.npz"))
    assert not list(tmp_path.iterdir())


def test_an_unknown_generator_names_the_installed_ones(tmp_path):
    (tmp_path / "gen-a").mkdir()
    with pytest.raises(MotionTokensError, match=r"'gen-zzz'.*installed: gen-a"):
        resolve_generator("gen-zzz", tmp_path)


def test_several_inputs_need_a_folder_and_distinct_names(tmp_path):
    a, b = wav(tmp_path / "a.wav", speech_of(1.0).samples), wav(tmp_path / "b.wav", speech_of(1.0).samples)
    with pytest.raises(OutputError, match="folder"):
        GeneratedFiles(tmp_path / "x.npz").check([a, b])
    (tmp_path / "other").mkdir()
    b2 = wav(tmp_path / "other" / "a.wav", speech_of(1.0).samples)
    with pytest.raises(OutputError, match="same name"):
        GeneratedFiles(tmp_path / "out").check([a, b2])
    sink = GeneratedFiles(tmp_path / "out", suffix="bvh")
    sink.check([a, b])
    assert [s.path for s in sink.sinks] == [tmp_path / "out" / "a.bvh", tmp_path / "out" / "b.bvh"]


def test_output_onto_an_input_is_refused(tmp_path):
    audio = wav(tmp_path / "speech.wav", speech_of(1.0).samples)
    disguised = tmp_path / "speech.npz"
    disguised.write_bytes(audio.read_bytes())
    with pytest.raises(OutputError, match="the same file"):
        generate(GenerateOptions((disguised,)), GeneratedFiles(disguised))
    assert disguised.read_bytes() == audio.read_bytes()


@pytest.mark.parametrize("make, error, words", [
    (lambda p: p, MissingFileError, "no such file"),
    (lambda p: (p.write_bytes(b""), p)[1], CorruptFileError, "empty"),
    (lambda p: (p.write_bytes(b"RIFF not really a wave file" * 40), p)[1], CorruptFileError, "readable"),
    (lambda p: wav(p, speech_of(1.0).samples[: RATE // 5]), AudioContentError, "at least"),
    (lambda p: wav(p, np.zeros(RATE * 2, np.float32)), AudioContentError, "silent"),
])
@needs_generator
def test_unusable_speech_is_refused_naming_the_file(tmp_path, make, error, words):
    path = make(tmp_path / "speech.wav")
    out = tmp_path / "out.npz"
    with pytest.raises(error, match=words) as caught:
        generate(GenerateOptions((path,)), GeneratedFiles(out))
    assert str(path) in str(caught.value)
    assert not out.exists()


# --- the full path, through the shipped generator -----------------------------------------


@needs_generator
def test_tokens_and_motion_cover_the_speech_and_decode_through_the_codecs(tmp_path):
    speech = speech_of(4.0, "buzz")
    out = tmp_path / "buzz.npz"
    result = generate(GenerateOptions((speech,)), GeneratedFiles(out))
    made = result.generated[0]
    frames = round(len(speech.samples) / RATE * 30)  # one motion frame per 1/30 s of speech
    assert made.motion.num_frames == frames and made.motion.fps == 30.0
    tokens_file = read_tokens_file(out)
    manifest = load_bundle(GENERATOR).manifest
    assert set(tokens_file.tokens) == set(manifest["codecs"])
    for part, entry in manifest["codecs"].items():
        assert len(tokens_file.tokens[part]) == frames
        np.testing.assert_array_equal(tokens_file.tokens[part], made.tokens[part])
        assert f"{tokens_file.codec_names[part]}-{part}" == entry["name"]
        assert tokens_file.codebooks[part].sha256 == load_bundle(MODELS_DIR / entry["name"]).weights_sha256 == entry["sha256"]
        # The stored pose is the codec's own decoding of the tokens (read back through the codec
        # directly) but in the INERTIA_FRAMES frames from each seam the file records, where the
        # windows' jump was smoothed (core/inertialization.py).
        codec = load_codec(codec_folder(tokens_file.codec_names[part], part))
        joints = list(PART_REGISTRY[part].joints)
        poses = tokens_file.template.axis_angle()[:, joints].reshape(frames, -1)
        decoded = codec.decode(tokens_file.tokens[part])[:, : 3 * len(joints)]
        away = np.ones(frames, bool)
        for b in tokens_file.seam_frames:
            away[b : b + INERTIA_FRAMES] = False
        np.testing.assert_allclose(rot.axis_angle_to_quat(poses.reshape(frames, -1, 3))[away],
                                   rot.axis_angle_to_quat(decoded.reshape(frames, -1, 3))[away], atol=1e-5)
    assert tokens_file.seam_frames == made.seam_frames and len(made.seam_frames) == 2  # 4 s: one fill window
    assert tokens_file.token_fps == 30.0
    again = decoded_motion(tokens_file, load_tokens_codecs(tokens_file))  # `decode` accepts the file
    np.testing.assert_allclose(again.axis_angle(), tokens_file.template.axis_angle(), atol=1e-5)
    from motion_tokens.cli import main
    from motion_tokens.core.retarget import read_smplx_motion

    assert main(["decode", str(out), "--out", str(tmp_path / "decoded.npz")]) == 0  # and the command gives it back
    np.testing.assert_allclose(rot.axis_angle_to_quat(read_smplx_motion(tmp_path / "decoded.npz", 30.0).axis_angle()),
                               rot.axis_angle_to_quat(tokens_file.template.axis_angle()), atol=1e-5)
    np.testing.assert_array_equal(tokens_file.template.axis_angle()[:, 0], 0.0)  # the root at rest
    # a constant root lift that stands the rest pose on the floor (tests/test_generate_stands.py checks the FK)
    from motion_tokens.core.skeleton import smplx_skeleton
    from motion_tokens.pipelines.generate import standing_translation

    np.testing.assert_allclose(tokens_file.template.trans, np.tile(standing_translation(smplx_skeleton()), (frames, 1)),
                               atol=1e-6)


@needs_generator
def test_the_same_seed_gives_the_same_tokens_another_seed_others(tmp_path):
    speech = speech_of(3.0)

    def tokens(seed):
        return generate(GenerateOptions((speech,), seed=seed), GeneratedFiles(tmp_path / f"s{seed}.npz")).generated[0].tokens

    first, again, other = tokens(7), tokens(7), tokens(8)
    for part in first:
        np.testing.assert_array_equal(first[part], again[part])
    assert any(not np.array_equal(first[p], other[p]) for p in first)
    assert (tmp_path / "s7.npz").read_bytes() != (tmp_path / "s8.npz").read_bytes()


@needs_generator
def test_several_inputs_give_one_file_each_and_progress_in_seconds(tmp_path):
    a = wav(tmp_path / "a.wav", speech_of(2.0).samples)
    b = wav(tmp_path / "b.wav", speech_of(3.0, seed=1).samples)
    steps = generate_steps(GenerateOptions((a, b)), GeneratedFiles(tmp_path / "out", suffix="npz"))
    seen = []
    while True:
        try:
            seen.append(next(steps))
        except StopIteration as stop:
            result = stop.value
            break
    assert [len(read_tokens_file(tmp_path / "out" / f"{n}.npz").template.trans) for n in "ab"] == [60, 90]
    assert all(p.done <= q.done for p, q in zip(seen, seen[1:])) and seen[-1].total == 2000
    assert any("s of speech" in p.what for p in seen)
    assert len(result.lines) == 2
