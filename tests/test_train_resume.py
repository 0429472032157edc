"""RQ-VAE training is deterministic for a seed on the CPU, and a run stopped after a checkpoint
and resumed gives exactly the weights of the run never stopped (a tiny model, 12 steps)."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.codecs.training.dataset import PartDataset
from motion_tokens.core.codecs.training.fitted import FitJob
from motion_tokens.core.formats import read_motion

pytest.importorskip("torch", reason="training needs torch")
from motion_tokens.core.codecs.base import ResidualCodec  # noqa: E402
from motion_tokens.core.codecs.rqvae_numpy import RQVAE4NumpyCodec  # noqa: E402
from motion_tokens.core.codecs.training.rqvae_fit import RQVAETraining, train_rqvae_codec  # noqa: E402
from motion_tokens.core.codecs.training.train import _fit_deterministically  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "demo" / "beat2_excerpt.npz"
SETTINGS = RQVAETraining(steps=12, batch=4, window=16, warmup=2, hidden=16, latent=8)


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """On the CPU (where determinism is promised), one torch thread: these tiny steps are
    dominated by thread hand-offs on shared cores (a seed's weights are the same for a given
    thread count)."""
    import torch

    monkeypatch.setenv("MOTION_TOKENS_TRAIN_DEVICE", "cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Stop(Exception):
    """Raised from the progress callback to stop a run part-way."""


def _job(tmp_path, family="rqvae", bits=6, stop_at=None, resume=False, checkpoints=True):
    f = part_features(read_motion(DEMO), "body")
    data = PartDataset("body", ("a", "b"), ("demo", "demo"), (f[:80], f[80:]))

    def progress(line):
        if stop_at is not None and line.startswith(f"  step {stop_at}/"):
            raise Stop(line)

    return FitJob(bits, "body", [], data, 7, False, progress, SETTINGS, family,
                  tmp_path / "ckpt" if checkpoints else None, 5, resume)


def _fit(job, cls=ResidualCodec):
    return _fit_deterministically(lambda j: train_rqvae_codec(j, cls), job)


def _train(job, cls=ResidualCodec):
    return _fit(job, cls).tensors


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("family, cls, bits", [("rqvae", ResidualCodec, 6), ("rqvae4", RQVAE4NumpyCodec, 6)])
def test_resumed_run_equals_the_uninterrupted_one(tmp_path, family, cls, bits):
    straight = _fit(_job(tmp_path / "x", family, bits, checkpoints=False), cls)
    assert "resumed_from_step" not in straight.fitting
    with pytest.raises(Stop):
        _train(_job(tmp_path, family, bits, stop_at=8), cls)
    folder = tmp_path / "ckpt" / f"{family}-{bits}-body-seed7"
    assert (folder / "checkpoint.json").is_file()  # step 5's checkpoint is what resumes
    earlier = json.loads((folder / "checkpoint.json").read_text())["seconds"]
    assert earlier > 0
    lines = []
    job = replace(_job(tmp_path, family, bits, resume=True), progress=lines.append)
    resumed = _fit(job, cls)
    assert lines[0].startswith("  resumed from step 5")
    assert len([line for line in lines if line.startswith("  step ")]) == 7  # steps 6..12
    _assert_same(resumed.tensors, straight.tensors)
    # The manifest's time counts the steps before the checkpoint too.
    assert resumed.fitting["resumed_from_step"] == 5
    assert resumed.fitting["seconds_before_resume"] == round(earlier, 1)
    assert not folder.exists()  # finished: the checkpoint is removed


def test_same_seed_same_weights_and_another_seed_differs(tmp_path):
    a = _train(_job(tmp_path / "a", checkpoints=False))
    b = _train(_job(tmp_path / "b", checkpoints=False))
    _assert_same(a, b)
    c = _train(replace(_job(tmp_path / "c", checkpoints=False), seed=8))
    assert not np.array_equal(a["model.encoder.0.weight"], c["model.encoder.0.weight"])


def test_a_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    with pytest.raises(Stop):
        _train(_job(tmp_path, stop_at=8))
    lines = []
    job = replace(_job(tmp_path, resume=True), progress=lines.append, rqvae=replace(SETTINGS, lr=1e-3))
    _train(job)
    assert not any(line.startswith("  resumed") for line in lines)
