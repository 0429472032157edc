"""Every command of the command line run end to end on the shared data (MOTION_TOKENS_DATA),
its output read back: import (BEAT2 .npz and Bandai BVH in; .npz, .bvh out, --rig
metahuman), train-codec (a k-means-6 body bundle on a small subset), codecs, encode, decode
and evaluate-codecs with that bundle. .blend and .fbx output: tests/blender/test_cli_scenes.py.

References: the input files read with core's readers, the rig layout's own skeleton, the
bundle's manifest (k = 2^bits) and decode-after-encode round trips.
"""

import re

import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.core.formats import read_bvh, read_motion, read_smplx_npz
from motion_tokens.core.retarget import rig_layout

BEAT2 = "beat2/2_scott_0_1_1.npz"
BANDAI_TRAIN = "bandai/dataset-1/dataset-1_bow_active_001.bvh"
BANDAI_HELD_OUT = "bandai/dataset-1/dataset-1_bow_musical_001.bvh"  # held out in core/codecs/split.json
BEAT2_FRAMES = 400  # a cropped copy keeps training and evaluation to seconds


def run(capsys, *args):
    """main(ARGS) -> (exit status, stdout, stderr)."""
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def small_data(data_dir, tmp_path_factory):
    """A folder with the first frames of the BEAT2 take (same name: its held-out tail applies)
    and one training and one held-out Bandai take."""
    folder = tmp_path_factory.mktemp("data")
    with np.load(data_dir / BEAT2, allow_pickle=False) as take:
        arrays = {k: take[k] for k in take.files}
    for key in ("poses", "trans", "expressions"):
        arrays[key] = arrays[key][:BEAT2_FRAMES]
    np.savez(folder / "2_scott_0_1_1.npz", **arrays)
    for name in (BANDAI_TRAIN, BANDAI_HELD_OUT):
        (folder / name.rsplit("/", 1)[1]).write_bytes((data_dir / name).read_bytes())
    return folder


def test_import_beat2_npz_to_npz_and_bvh(data_dir, tmp_path, capsys):
    source = read_smplx_npz(data_dir / BEAT2)
    for suffix in (".npz", ".bvh"):
        out = tmp_path / f"take{suffix}"
        status, stdout, _ = run(capsys, "import", data_dir / BEAT2, "--out", out)
        assert status == 0 and stdout.splitlines()[-1].startswith(f"{out}: {source.num_frames} frames at 30 fps")
        back = read_motion(out, None)
        assert back.num_frames == source.num_frames
        order = [back.skeleton.index(n) for n in source.skeleton.names]
        assert np.max(np.abs(back.positions()[:, order] - source.positions())) < 1e-3  # metres


def test_import_bandai_bvh_to_npz_and_onto_metahuman(data_dir, tmp_path, capsys):
    source = read_bvh(data_dir / BANDAI_TRAIN)
    out = tmp_path / "bandai.npz"
    assert run(capsys, "import", data_dir / BANDAI_TRAIN, "--out", out)[0] == 0
    with np.load(out) as written:
        assert written["poses"].shape == (source.resampled(30.0).num_frames, 165)
    out = tmp_path / "bandai_metahuman.bvh"
    status, stdout, _ = run(capsys, "import", data_dir / BANDAI_TRAIN, "--out", out, "--rig", "metahuman")
    assert status == 0 and stdout.strip().endswith("on metahuman")
    back = read_bvh(out)
    assert sorted(back.skeleton.names) == sorted(rig_layout("metahuman").skeleton.names)


def test_train_a_bundle_then_list_encode_decode_and_evaluate_with_it(small_data, data_dir, tmp_path, capsys):
    # One test: training takes most of its time, so the bundle is trained once.
    models = tmp_path / "models"
    status, stdout, _ = run(capsys, "train-codec", "--family", "kmeans", "--bits", "6", "--part", "body",
                            "--data", small_data, "--out", models / "kmeans-6-body")
    assert status == 0 and stdout.strip().endswith("kmeans-6 body, 6 bits/frame, 180 bits/s")  # 6 x 30 fps
    check_bundle_read_back(models / "kmeans-6-body", small_data)
    check_listed(models, capsys)
    check_encode_and_decode(data_dir, models, tmp_path, capsys)
    check_evaluation(small_data, models, tmp_path, capsys)


def check_bundle_read_back(folder, small_data):
    """The trained bundle loads, its manifest says what was trained on what (frame counts by
    hand from the files: BEAT2's last 25% and the whole held-out Bandai take are held out), its
    hash is the file's, and its training RMSE agrees with a separate FK's (tests/codec_figures.py)."""
    import hashlib
    import json

    import codec_figures
    from motion_tokens.core.codecs.features import part_features
    from motion_tokens.core.codecs.registry import load_codec
    from motion_tokens.core.codecs.training.dataset import read_takes, split_takes

    codec = load_codec(folder)
    m = json.loads((folder / "manifest.json").read_text())
    assert (codec.name, codec.part, codec.family, codec.bits_per_frame) == ("kmeans-6", "body", "kmeans", 6)
    assert (m["k"], m["fps"], m["seed"]) == (64, 30.0, 0) and "--bits 6" in m["command"]
    assert m["files"]["weights.safetensors"] == hashlib.sha256((folder / "weights.safetensors").read_bytes()).hexdigest()
    assert codec.bundle.tensors()["centroids"].shape == (64, 63)
    bandai = {n: read_bvh(small_data / n.rsplit("/", 1)[1]).resampled(30.0).num_frames for n in (BANDAI_TRAIN, BANDAI_HELD_OUT)}
    tail = BEAT2_FRAMES - int(BEAT2_FRAMES * 0.75)
    assert m["training"]["train"]["frames"] == BEAT2_FRAMES - tail + bandai[BANDAI_TRAIN]
    assert m["training"]["held_out"]["frames"] == tail + bandai[BANDAI_HELD_OUT]
    train, _ = split_takes(read_takes([small_data]))
    features = [part_features(t.motion, "body") for t in train]
    squared = [codec_figures.rmse_cm(f, codec.decode(codec.encode(f)), "body") ** 2 * len(f) for f in features]
    rmse = float(np.sqrt(np.sum(squared) / sum(len(f) for f in features)))
    assert 0.5 < rmse < 15.0  # 64 poses for a few hundred frames: neither exact nor empty
    assert m["evaluation"]["train"]["rmse_cm"] == pytest.approx(rmse, abs=0.01)


def check_listed(trained, capsys):
    status, stdout, _ = run(capsys, "codecs", "--models", trained)
    assert status == 0
    (row,) = [line for line in stdout.splitlines() if line.startswith("kmeans-6 ")]
    assert row.split()[:5] == ["kmeans-6", "body", "kmeans", "6", "180"] and "k=64" in row
    assert stdout.strip().endswith(f"in {trained}")


def check_encode_and_decode(data_dir, trained, tmp_path, capsys):
    tokens = tmp_path / "tokens.npz"
    status, stdout, _ = run(capsys, "encode", data_dir / BANDAI_HELD_OUT, "--codec", "kmeans-6",
                            "--models", trained, "--out", tokens)
    assert status == 0 and "coded with kmeans-6" in stdout and "body: tokens" in stdout
    frames = read_motion(data_dir / BANDAI_HELD_OUT).num_frames
    with np.load(tokens, allow_pickle=False) as written:
        assert written["tokens_body"].shape == (frames,) and "tokens_hands" not in written.files
        assert 0 <= written["tokens_body"].min() and written["tokens_body"].max() < 64
        coded_poses = written["poses"]
    for suffix in (".npz", ".bvh"):
        out = tmp_path / f"decoded{suffix}"
        status, stdout, _ = run(capsys, "decode", tokens, "--models", trained, "--out", out)
        assert status == 0 and stdout.strip().endswith("decoded with kmeans-6-body")
        assert read_motion(out, None).num_frames == frames
    with np.load(tmp_path / "decoded.npz") as decoded:
        np.testing.assert_allclose(decoded["poses"], coded_poses, atol=1e-5)


def check_evaluation(small_data, trained, tmp_path, capsys):
    report = tmp_path / "report.md"
    status, stdout, _ = run(capsys, "evaluate-codecs", "--data", small_data, "--codecs", "kmeans-6",
                            "--models", trained, "--out", report)
    assert status == 0
    plot = tmp_path / "report_rd.png"
    assert stdout.strip().splitlines()[-1] == f"{report}: report; {plot}: plot"
    assert plot.stat().st_size > 0
    text = report.read_text()
    assert "--codecs kmeans-6" in text  # the command that made it
    row = next(line for line in text.splitlines() if line.startswith("| kmeans-6 | body |"))  # the RD table
    rmse = float(re.search(r"\*\*([\d.]+)\*\*", row).group(1))
    assert 0 < rmse < 100  # centimetres
