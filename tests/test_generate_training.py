"""Training the generator: code weights, corruption, the data reader (shared-data pairing, the
BEAT2 layout on a fixture folder), the train-generator command, and two CPU processes under
torchrun (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from motion_tokens.core.generate.config import GeneratorConfig  # noqa: E402
from motion_tokens.core.generate.data import TokenTake, speech_file, split_token_takes  # noqa: E402
from motion_tokens.core.generate.objectives import Batch, code_weights, corrupt  # noqa: E402
from motion_tokens.core.paths import data_dir  # noqa: E402

BEAT2 = data_dir() / "beat2"
TAKE = "2_scott_0_1_1"
needs_data = pytest.mark.skipif(not (BEAT2 / f"{TAKE}.npz").is_file(), reason="needs the shared BEAT2 take")
PKG = Path(os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or ".")


def _take(tokens, name="t", audio=None):
    return TokenTake(name, "src", tokens, audio, len(next(t for t in tokens.values() if t is not None)) / 30)


def test_code_weights_by_hand():
    # codes 0,0,0,1 of K=3: p = (4, 2, 1) / 7, 1/p = (1.75, 3.5, 7), token mean (3*1.75 + 3.5) / 4 = 2.1875
    cfg = GeneratorConfig(parts=("body",), vocab=(3,), levels=(1,), audio_dims=2, d_model=8, heads=2, window=8,
                          overlap=1)
    w = code_weights([_take({"body": np.array([[0], [0], [0], [1]])})], cfg)["body"]
    np.testing.assert_allclose(w[0], [0.8, 1.6, 3.2], rtol=1e-6)


def test_code_weights_clipped():
    cfg = GeneratorConfig(parts=("body",), vocab=(1000,), levels=(1,), audio_dims=2, d_model=8, heads=2, window=8,
                          overlap=1)
    w = code_weights([_take({"body": np.zeros((5000, 1), np.int64)})], cfg)["body"]
    # one code seen 5000 times, 999 never: 1/p of an unseen code is 5000x the seen one's, clipped at 10;
    # the seen code's weight is what makes the token mean 1
    assert w.max() == pytest.approx(10.0) and w[0, 0] == pytest.approx(1.0, abs=1e-6)


def test_corruption_masks_replaces_and_skips_absent_parts():
    cfg = GeneratorConfig(parts=("body", "hands"), vocab=(50, 8), levels=(1, 2), audio_dims=2, d_model=8, heads=2,
                          window=100, overlap=1)
    rng = np.random.default_rng(0)
    B, W = 400, 100
    truth = {"body": rng.integers(0, 50, (B, W, 1)), "hands": rng.integers(0, 8, (B, W, 2))}
    present = {"body": np.ones(B, bool), "hands": np.arange(B) % 2 == 0}
    inputs, loss_at = corrupt(Batch(truth, present, np.zeros((B, W, 2), np.float32), np.zeros(B, bool)), cfg, rng, 0.4)
    masked = inputs["body"][..., 0] == 50
    visible = ~masked
    changed = visible & (inputs["body"][..., 0] != truth["body"][..., 0])
    # replaced by a random one of 50 codes: 49/50 of the replacements change the code
    assert changed.sum() / visible.sum() == pytest.approx(0.4 * 49 / 50, abs=0.02)
    # mask ratio cos(pi/2 u), u ~ U(0,1): mean 2/pi
    assert masked.mean() == pytest.approx(2 / np.pi, abs=0.03)
    # the loss is on every masked and every replaced frame: 40% of the visible ones
    assert loss_at["body"][masked].all() and loss_at["body"][changed].all()
    assert loss_at["body"][visible].mean() == pytest.approx(0.4, abs=0.02)
    absent = ~present["hands"]
    assert (inputs["hands"][absent] == 8).all() and not loss_at["hands"][absent].any()


@needs_data
def test_speech_pairing_and_the_codecs_split(tmp_path):
    assert speech_file(BEAT2 / f"{TAKE}.npz") == BEAT2 / f"{TAKE}.wav"
    (tmp_path / "smplxflame_30").mkdir()
    (tmp_path / "wave16k").mkdir()
    (tmp_path / "wave16k" / "x.wav").write_bytes(b"RIFF")
    assert speech_file(tmp_path / "smplxflame_30" / "x.npz") == tmp_path / "wave16k" / "x.wav"
    assert speech_file(tmp_path / "smplxflame_30" / "y.npz") is None
    tokens = {"body": np.zeros((1906, 1), np.int64)}
    train, held = split_token_takes([_take(tokens, TAKE, np.zeros((1906, 3), np.float32))])
    # split.json holds out the last 25% of the take: floor(1906 * 0.75) = 1429
    assert [t.frames for t in train] == [1429] and [t.frames for t in held] == [477]
    assert held[0].name == f"{TAKE}[1429:1906]"


def _beat2_fixture(root: Path, pieces: int = 3, frames: int = 300) -> Path:
    """A folder in the full BEAT2 layout: the shared take cut into `pieces` takes of `frames`."""
    import soundfile as sf

    (root / "smplxflame_30").mkdir(parents=True)
    (root / "wave16k").mkdir()
    with np.load(BEAT2 / f"{TAKE}.npz", allow_pickle=False) as z:
        take = {k: z[k] for k in z.files}
    samples, rate = sf.read(BEAT2 / f"{TAKE}.wav", dtype="float32")
    for i in range(pieces):
        a, b = i * frames, (i + 1) * frames
        piece = {k: (v[a:b] if k in ("poses", "trans", "expressions") else v) for k, v in take.items()}
        np.savez(root / "smplxflame_30" / f"piece_{i}.npz", **piece)
        sf.write(root / "wave16k" / f"piece_{i}.wav", samples[a * rate // 30 : b * rate // 30], rate, subtype="FLOAT")
    return root


def _train(args, env_extra=None, launcher=()):
    env = dict(os.environ, PYTHONPATH=str(PKG), OMP_NUM_THREADS="1", **(env_extra or {}))
    cmd = [*launcher, "-m", "motion_tokens", "train-generator", *args] if launcher else \
        [sys.executable, "-m", "motion_tokens", "train-generator", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


@needs_data
def test_train_generator_on_a_beat2_layout_folder_is_deterministic(tmp_path):
    from motion_tokens.core.codecs.bundle import load_bundle
    from motion_tokens.core.generate import load_generator
    from motion_tokens.core.paths import MODELS_DIR

    data = _beat2_fixture(tmp_path / "beat2")
    args = ["--codec", "kmeans-10", "--data", str(data), "--steps", "4", "--audio-steps", "2", "--seed", "5"]
    runs = [_train(args + ["--out", str(tmp_path / f"gen-{i}")]) for i in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert "prior step 4/4" in runs[0].stdout and "speech step 2/2" in runs[0].stdout
    a, b = (load_bundle(tmp_path / f"gen-{i}") for i in range(2))
    assert a.weights_sha256 == b.weights_sha256  # seeded: bit-identical weights
    m = a.manifest
    assert m["kind"] == "generator" and m["name"] == "gen-kmeans-10" and m["seed"] == 5
    assert m["data"]["train"]["paired_seconds"] == 30.0 and m["data"]["train"]["takes"] == 3
    assert m["codecs"]["body"]["sha256"] == load_bundle(MODELS_DIR / "kmeans-10-body").weights_sha256
    assert "little paired data" in m["notes"][0]
    gen = load_generator(tmp_path / "gen-0", models_dir=MODELS_DIR)
    tokens = gen.generate(np.zeros((40, m["audio"]["features"]), np.float32), seed=1)
    assert tokens["body"].shape == (40,)


@needs_data
def test_two_processes_under_torchrun(tmp_path):
    data = _beat2_fixture(tmp_path / "beat2", pieces=2)
    launcher = (sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517")
    run = _train(["--codec", "kmeans-10", "--data", str(data), "--steps", "3", "--audio-steps", "1",
                  "--out", str(tmp_path / "gen")], launcher=launcher)
    assert run.returncode == 0, run.stderr[-3000:]
    manifest = json.loads((tmp_path / "gen" / "manifest.json").read_text())
    assert manifest["training"]["processes"] == 2 and manifest["command"].startswith("torchrun --nproc_per_node 2")


def test_options_refuse_bad_numbers():
    from motion_tokens.core.errors import OptionError
    from motion_tokens.pipelines.train_generator import GeneratorTrainOptions

    for bad in ({"replace": 1.0}, {"replace": -0.1}, {"steps": 0}, {"seed": -1}, {"audio_steps": 2.5}):
        with pytest.raises(OptionError, match="--"):
            GeneratorTrainOptions("kmeans-10", (Path("."),), "out", **bad).check()


@needs_data
def test_the_ablations_train_and_generate(tmp_path):
    """--ablation no-cross-attention: the same network without cross-attention weights in use;
    --ablation shared-codebook: one stream of the codec's whole-body bundle, which
    train-codec --part whole makes; each generates from speech features end to end."""
    from motion_tokens.core.codecs.bundle import load_bundle
    from motion_tokens.core.generate import load_generator
    from motion_tokens.core.paths import MODELS_DIR
    from motion_tokens.core.parts import get_part

    data = _beat2_fixture(tmp_path / "beat2", pieces=2)
    models = tmp_path / "models"
    models.mkdir()
    for name in ("kmeans-6-body", "kmeans-6-hands", "kmeans-6-face"):
        (models / name).symlink_to(MODELS_DIR / name)
    env = dict(os.environ, PYTHONPATH=str(PKG), OMP_NUM_THREADS="1")
    codec = subprocess.run([sys.executable, "-m", "motion_tokens", "train-codec", "--family", "kmeans", "--bits", "6",
                            "--part", "whole", "--data", str(data), "--out", str(models / "kmeans-6-whole")],
                           capture_output=True, text=True, env=env, timeout=300)
    assert codec.returncode == 0, codec.stderr
    whole = load_bundle(models / "kmeans-6-whole").manifest
    assert whole["part"] == "whole" and whole["k"] == 64
    assert whole["input"]["features"] == get_part("body").num_features + get_part("hands").num_features + get_part("face").num_features

    features = np.zeros((40, 66), np.float32)
    for ablation, parts, cross in (("no-cross-attention", ["body", "hands", "face"], False),
                                   ("shared-codebook", ["whole"], True)):
        out = tmp_path / f"gen-{ablation}"
        run = _train(["--codec", "kmeans-6", "--data", str(data), "--steps", "3", "--audio-steps", "1",
                      "--ablation", ablation, "--models", str(models), "--out", str(out)])
        assert run.returncode == 0, run.stderr
        m = json.loads((out / "manifest.json").read_text())
        assert m["name"] == f"gen-kmeans-6-{ablation}" and m["command"].endswith(f"--ablation {ablation}")
        assert m["model_config"]["parts"] == parts and m["model_config"]["cross_attention"] is cross
        tokens = load_generator(out, models_dir=models).generate(features, seed=0)
        assert sorted(tokens) == sorted(parts) and all(len(t) == 40 for t in tokens.values())


def test_an_unknown_ablation_and_a_missing_whole_codec_are_refused(tmp_path):
    from motion_tokens.core.errors import MotionTokensError, OptionError
    from motion_tokens.core.generate.training import TrainSettings, train_generator
    from motion_tokens.pipelines.train_generator import GeneratorTrainOptions

    with pytest.raises(OptionError, match="--ablation"):
        GeneratorTrainOptions("kmeans-10", (Path("."),), "out", ablation="no-audio").check()
    with pytest.raises(MotionTokensError, match="kmeans-10-whole"):
        train_generator("kmeans-10", [tmp_path], settings=TrainSettings(ablation="shared-codebook"),
                        models_dir=tmp_path)
