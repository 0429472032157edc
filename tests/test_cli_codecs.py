"""The codec commands of the command line: encode, decode, codecs (and the argument checks of
train-codec and evaluate-codecs), on tiny bundles made here and on the shipped bundles.

References: the bundles' own weights and manifests read here (centroid lookup and
brute-force nearest centroid by hand, k and D x Q from the JSON), the input file's untouched
columns, and decode-after-encode round trips. Bad input must exit with status 2 and one line
naming the file, never a traceback.
"""

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.cli import main
from motion_tokens.core.codecs.bundle import write_bundle
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.codecs.registry import MODELS_DIR, installed_parts
from motion_tokens.core.formats import read_bvh, read_motion, read_smplx_npz
from motion_tokens.core.retarget import read_smplx_motion

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"
BANDAI = REPO / "demo" / "bandai_excerpt.bvh"
SHIPPED_NAMES = [f"{family}-{bits}" for family in ("kmeans", "rqvae") for bits in (6, 9, 10, 12)]
#: The shipped codec bundles, from the folders themselves: (name, part).
SHIPPED_BUNDLES = {tuple(p.name.rsplit("-", 1)) for p in MODELS_DIR.iterdir()
                   if (p / "manifest.json").is_file() and json.loads((p / "manifest.json").read_text()).get("kind", "codec") == "codec"}


def uncoded_columns(parts) -> np.ndarray:
    """Columns of `poses` that no codec of `parts` codes: root orientation and eyes, and the jaw
    unless the face is coded."""
    return np.r_[0:3, 69:75] if "face" in parts else np.r_[0:3, 66:75]


def cli(*args):
    """Run `python -m motion_tokens ARGS` in a fresh process; (exit status, stdout, stderr)."""
    run = subprocess.run([sys.executable, "-m", "motion_tokens", *map(str, args)], capture_output=True, text=True,
                         timeout=300, cwd=REPO)
    return run.returncode, run.stdout, run.stderr


def load(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def manifest(models: Path, bundle: str) -> dict:
    return json.loads((models / bundle / "manifest.json").read_text())


# --- tiny bundles ---------------------------------------------------------------------------

def _kmeans_bundle(folder: Path, part: str):
    """kmeans-6 whose 64 centroids are 64 frames of the demo excerpt, no normalisation."""
    features = part_features(read_motion(DEMO), part).astype(np.float64)
    centroids = features[np.linspace(0, len(features) - 1, 64).astype(int)]
    F = features.shape[1]
    tensors = {"centroids": centroids.astype(np.float32), "mean": np.zeros(F, np.float32), "std": np.ones(F, np.float32)}
    return write_bundle(folder, {"name": "kmeans-6", "kind": "codec", "family": "kmeans", "part": part, "k": 64,
                                 "fps": 30.0}, tensors)


def _rqvae_bundle(folder: Path, part: str):
    """rqvae-9 (D=8, Q=3): an untrained model with random Gaussian codebooks."""
    torch = pytest.importorskip("torch")
    from motion_tokens.core.codecs.rqvae import RQVAE, RQVAEConfig

    torch.manual_seed(0)
    config = RQVAEConfig(part=part, D=8, Q=3)
    tensors = {f"model.{k}": v.numpy().copy() for k, v in RQVAE(config).state_dict().items()}
    rng = np.random.default_rng(0)
    for q in range(3):
        tensors[f"model.quantizer.layers.{q}._codebook.embed"] = rng.normal(size=(1, 8, config.latent)).astype(np.float32)
        tensors[f"model.quantizer.layers.{q}._codebook.initted"] = np.array(True)
    tensors["mean"] = np.zeros(config.num_features, np.float32)
    tensors["std"] = np.full(config.num_features, 0.3, np.float32)
    return write_bundle(folder, {"name": "rqvae-9", "kind": "codec", "family": "rqvae", "part": part, "D": 8, "Q": 3,
                                 "fps": 30.0, "model_config": config.to_dict()}, tensors)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A models folder with kmeans-6 and rqvae-9 for both parts."""
    models = tmp_path_factory.mktemp("models")
    for part in ("body", "hands"):
        _kmeans_bundle(models / f"kmeans-6-{part}", part)
        _rqvae_bundle(models / f"rqvae-9-{part}", part)
    return models


@pytest.fixture(scope="module")
def encoded(tiny, tmp_path_factory):
    """Tokens files of the demo excerpt made with the tiny kmeans-6 and rqvae-9."""
    out = tmp_path_factory.mktemp("tokens")
    files = {}
    for name in ("kmeans-6", "rqvae-9"):
        files[name] = out / f"{name}.npz"
        assert main(["encode", str(DEMO), "--codec", name, "--out", str(files[name]), "--models", str(tiny)]) == 0
    return files


# --- encode and decode ----------------------------------------------------------------------

def check_tokens_file(path: Path, models: Path, name: str, source: Path = DEMO):
    """The tokens file of `source` coded with `name`: keys, dtypes, shapes and ranges from the
    manifests, the uncoded columns copied from the input; returns its arrays."""
    data = load(path)
    source_data = load(source)
    T = len(source_data["poses"])
    assert data["poses"].shape == (T, 165) and float(data["token_fps"]) == 30.0
    parts = installed_parts(name, models)
    assert str(data["codec"]) == " ".join(f"{name}-{part}" for part in parts)
    for part in parts:
        m = manifest(models, f"{name}-{part}")
        tokens = data[f"tokens_{part}"]
        assert np.issubdtype(tokens.dtype, np.integer)
        if m["family"] == "kmeans":
            assert tokens.shape == (T,) and 0 <= tokens.min() and tokens.max() < m["k"]
        else:
            assert tokens.shape == (T, m["Q"]) and 0 <= tokens.min() and tokens.max() < m["D"]
    uncoded = uncoded_columns(parts)
    np.testing.assert_allclose(data["poses"][:, uncoded], source_data["poses"][:, uncoded], atol=1e-5)
    np.testing.assert_allclose(data["trans"], source_data["trans"], atol=1e-6)
    return data


def test_kmeans_encode_is_nearest_centroid_and_decodes_to_the_centroids(tiny, encoded):
    data = check_tokens_file(encoded["kmeans-6"], tiny, "kmeans-6")
    from safetensors.numpy import load_file

    source = read_motion(DEMO)
    decoded = read_smplx_npz(encoded["kmeans-6"])
    for part in ("body", "hands"):
        centroids = load_file(str(tiny / f"kmeans-6-{part}" / "weights.safetensors"))["centroids"].astype(np.float64)
        x = part_features(source, part).astype(np.float64)
        nearest = np.argmin(((x[:, None, :] - centroids[None]) ** 2).sum(-1), axis=1)  # brute force
        np.testing.assert_array_equal(data[f"tokens_{part}"], nearest)
        # The centroids are frames 0, 2, ... of the excerpt: those frames code to themselves.
        picked = np.linspace(0, len(x) - 1, 64).astype(int)
        np.testing.assert_array_equal(data[f"tokens_{part}"][picked], np.arange(64))
        np.testing.assert_allclose(part_features(decoded, part), centroids[nearest], atol=1e-5)


@pytest.mark.parametrize("name", ["kmeans-6", "rqvae-9"])
def test_decode_gives_the_decoded_motion_of_encode(tiny, encoded, tmp_path, name, capsys):
    check_tokens_file(encoded[name], tiny, name)
    out = tmp_path / "decoded.npz"
    assert main(["decode", str(encoded[name]), "--out", str(out), "--models", str(tiny)]) == 0
    assert f"{out}: 150 frames at 30 fps, decoded with {name}-body, {name}-hands" in capsys.readouterr().out
    decoded, tokens_file = load(out), load(encoded[name])
    np.testing.assert_allclose(decoded["poses"], tokens_file["poses"], atol=1e-6)
    np.testing.assert_array_equal(decoded["trans"], tokens_file["trans"])
    assert "tokens_body" not in decoded  # the motion alone


def test_decode_uses_the_tokens_not_the_coded_poses(tiny, encoded, tmp_path):
    """Scrambling the coded parts' `poses` columns changes nothing: decoding reads the tokens."""
    data = load(encoded["kmeans-6"])
    data["poses"][:, 3:66] = 0.0
    data["poses"][:, 75:] = 1.0
    scrambled = tmp_path / "scrambled.npz"
    np.savez(scrambled, **data)
    out = tmp_path / "out.npz"
    assert main(["decode", str(scrambled), "--out", str(out), "--models", str(tiny)]) == 0
    np.testing.assert_allclose(load(out)["poses"], load(encoded["kmeans-6"])["poses"], atol=1e-6)


def test_encode_and_decode_in_a_fresh_process_and_to_bvh(tiny, tmp_path):
    tokens = tmp_path / "bandai_tokens.npz"
    code, out, err = cli("encode", BANDAI, "--codec", "kmeans-6", "--out", tokens, "--models", tiny)
    assert code == 0, err
    assert re.search(r"body: tokens \(60,\), k=64, 6 bits/frame = 180 bits/s, joint position RMSE \d+\.\d+ cm", out)
    bvh = tmp_path / "decoded.bvh"
    code, out, err = cli("decode", tokens, "--out", bvh, "--models", tiny)
    assert code == 0, err
    back = read_smplx_motion(bvh, None)
    assert back.num_frames == 60 and back.fps == 30
    np.testing.assert_allclose(back.positions(), read_smplx_npz(tokens).positions(), atol=1e-4)
    # --rig writes the decoded motion on another skeleton (here Mixamo's, in a BVH).
    mixamo = tmp_path / "mixamo.bvh"
    code, out, err = cli("decode", tokens, "--out", mixamo, "--rig", "mixamo", "--models", tiny)
    assert code == 0, err
    assert "on mixamo, decoded with kmeans-6-body, kmeans-6-hands" in out
    rig = read_bvh(mixamo)
    assert rig.num_frames == 60 and any("Hips" in n for n in rig.skeleton.names)
    assert_refused(["decode", tokens, "--out", tmp_path / "m.npz", "--rig", "mixamo", "--models", tiny],
                   tmp_path / "m.npz", "SMPL-X")


# --- the shipped bundles --------------------------------------------------------------------

def test_codecs_lists_every_shipped_bundle():
    code, out, err = cli("codecs")
    assert code == 0, err
    # every family's rows (kmeans, rqvae, the downsampled rqvae4, ...), not a list of them here
    rows = [line.split() for line in out.splitlines() if re.match(r"^[a-z][a-z0-9]*-\d+ ", line)]
    assert {(n, p) for n in SHIPPED_NAMES for p in ("body", "hands")} <= SHIPPED_BUNDLES  # at least these ship
    assert len(rows) == len(SHIPPED_BUNDLES)
    assert {(r[0], r[1]) for r in rows} == SHIPPED_BUNDLES
    for name, part, family, bits, bits_per_second, size, *_ in rows:
        m = manifest(MODELS_DIR, f"{name}-{part}")
        assert family == name.split("-")[0] == m["family"]
        assert float(bits) == int(name.split("-")[1])  # bits/frame computed from k or D x Q equals the name
        # by hand: log2 k per frame, or Q log2 D per latent of frames_per_latent frames
        per_latent = math.log2(m["k"]) if family == "kmeans" else m["Q"] * math.log2(m["D"])
        assert float(bits) == pytest.approx(per_latent / m.get("frames_per_latent", 1))
        assert float(bits_per_second) == pytest.approx(float(bits) * m["fps"])
        assert size == (f"k={m['k']}" if family == "kmeans" else f"D={m['D']}")


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_shipped_codec_encodes_and_decodes_the_excerpt(name, tmp_path, capsys):
    tokens = tmp_path / "tokens.npz"
    assert main(["encode", str(DEMO), "--codec", name, "--out", str(tokens)]) == 0
    parts = installed_parts(name)
    rmse = dict(re.findall(r"(body|hands|face): .* RMSE (\d+\.\d+) cm", capsys.readouterr().out))
    assert set(rmse) == set(parts)
    check_tokens_file(tokens, MODELS_DIR, name)
    decoded_path = tmp_path / "decoded.npz"
    assert main(["decode", str(tokens), "--out", str(decoded_path)]) == 0
    np.testing.assert_allclose(load(decoded_path)["poses"], load(tokens)["poses"], atol=1e-6)
    decoded = read_smplx_npz(decoded_path)
    assert decoded.num_frames == 150 and decoded.fps == 30
    # The RMSE printed is the one a separate FK measures between the input and what decodes.
    import codec_figures

    source = read_motion(DEMO)
    for part in parts:
        measured = codec_figures.rmse_cm(part_features(source, part), part_features(decoded, part), part)
        assert float(rmse[part]) == pytest.approx(measured, abs=0.006), part


# --- bad input: exit 2, one line naming the file --------------------------------------------

def run_main(*args):
    """main(ARGS) in this process (no interpreter start-up): (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def assert_refused(args, *expected, fresh_process=False):
    """Exit status 2 and one line on stderr holding each of `expected` (an exception other
    than MotionTokensError would escape main and fail the test; `fresh_process` checks the
    real command for a traceback too)."""
    code, out, err = (cli if fresh_process else run_main)(*args)
    assert code == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for text in expected:
        assert str(text) in err, err


def bad_copy(tmp_path, good: Path, name: str, **changes) -> Path:
    """A copy of the tokens file `good` with arrays replaced (or removed, for None)."""
    data = load(good)
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path = tmp_path / name
    np.savez(path, **data)
    return path


def test_bad_tokens_files_are_refused(tiny, encoded, tmp_path):
    km, rq = encoded["kmeans-6"], encoded["rqvae-9"]
    tokens = load(km)["tokens_body"]
    rq_tokens = load(rq)["tokens_hands"]
    cases = [
        (bad_copy(tmp_path, km, "no_tokens.npz", tokens_body=None, tokens_hands=None), "holds no tokens"),
        (bad_copy(tmp_path, km, "no_codec.npz", codec=None), "missing key `codec`"),
        (bad_copy(tmp_path, km, "unknown.npz", codec=np.asarray("kmeans-7-body kmeans-6-hands")),
         "kmeans-7-body, which is not installed"),
        (bad_copy(tmp_path, km, "garbled.npz", codec=np.asarray("kmeans-6 hands")), "not a codec bundle name"),
        (bad_copy(tmp_path, km, "codec_number.npz", codec=np.asarray(6)), "one string of bundle names"),
        (bad_copy(tmp_path, km, "one_bundle.npz", codec=np.asarray("kmeans-6-body")), "no bundle named for `tokens_hands`"),
        (bad_copy(tmp_path, km, "float.npz", tokens_body=tokens.astype(np.float32)), "`tokens_body` holds float32"),
        (bad_copy(tmp_path, km, "short.npz", tokens_body=tokens[:-1]), "`tokens_body` has shape (149,), expected (150,)"),
        (bad_copy(tmp_path, km, "range.npz", tokens_body=np.where(tokens == tokens[0], 64, tokens)), "outside [0, 64)"),
        (bad_copy(tmp_path, km, "negative.npz", tokens_hands=np.full(150, -1)), "outside [0, 64)"),
        (bad_copy(tmp_path, rq, "rq_q.npz", tokens_hands=rq_tokens[:, :2]), "expected (150, 3)"),
        (bad_copy(tmp_path, rq, "rq_range.npz", tokens_hands=rq_tokens + 8), "outside [0, 8)"),
        # np.savez pickles an object array; reading must refuse to unpickle it.
        (bad_copy(tmp_path, km, "object.npz", tokens_body=np.array([1, "a"], dtype=object)), "never unpickled"),
        (bad_copy(tmp_path, km, "no_fps.npz", token_fps=None), "missing key `token_fps`"),
        (bad_copy(tmp_path, km, "fps.npz", token_fps=np.asarray(25.0)), "`token_fps` is 25"),
        (bad_copy(tmp_path, km, "no_poses.npz", poses=None), "missing key `poses`"),
    ]
    for i, (path, problem) in enumerate(cases):
        assert_refused(["decode", path, "--out", tmp_path / "out.npz", "--models", tiny], path, problem,
                       fresh_process=i % 4 == 0)
    assert not (tmp_path / "out.npz").exists()


def test_missing_empty_and_damaged_tokens_files_are_refused(tiny, encoded, tmp_path):
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(encoded["kmeans-6"].read_bytes()[:3000])
    for path, problem in [(tmp_path / "none.npz", "no such file"), (empty, "empty"), (text, "not an .npz archive"),
                          (truncated, "truncated")]:
        assert_refused(["decode", path, "--out", tmp_path / "out.npz", "--models", tiny], path, problem,
                       fresh_process=path == empty)


def test_encode_refuses_unknown_codecs_and_bad_files(tiny, tmp_path):
    out = tmp_path / "t.npz"
    assert_refused(["encode", DEMO, "--codec", "kmeans-7", "--out", out, "--models", tiny], "kmeans-7", tiny,
                   "kmeans-6-body", fresh_process=True)
    assert_refused(["encode", DEMO, "--codec", "kmeans-6", "--out", tmp_path / "t.bvh", "--models", tiny],
                   tmp_path / "t.bvh", ".npz suffix")
    assert_refused(["encode", tmp_path / "none.npz", "--codec", "kmeans-6", "--out", out, "--models", tiny],
                   tmp_path / "none.npz")
    assert_refused(["decode", DEMO, "--out", tmp_path / "t.txt", "--models", tiny], tmp_path / "t.txt")
    assert not out.exists()


def test_codecs_lists_a_models_folder_and_refuses_a_tampered_bundle(tiny, tmp_path):
    code, out, err = cli("codecs", "--models", tiny)
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if re.match(r"^(kmeans|rqvae)-\d+ ", line)]
    assert [(r[0], r[1], r[3], r[4], r[5]) for r in rows] == [
        ("kmeans-6", "body", "6", "180", "k=64"), ("kmeans-6", "hands", "6", "180", "k=64"),
        ("rqvae-9", "body", "9", "270", "D=8"), ("rqvae-9", "hands", "9", "270", "D=8"),
    ]
    import shutil

    models = tmp_path / "models"
    shutil.copytree(tiny / "kmeans-6-body", models / "kmeans-6-body")
    weights = models / "kmeans-6-body" / "weights.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 1
    weights.write_bytes(bytes(blob))
    assert_refused(["codecs", "--models", models], weights, "sha256", fresh_process=True)
    assert cli("codecs", "--models", tmp_path / "nothing")[1].startswith("no codec bundles")


def test_training_and_evaluation_arguments_are_checked(tmp_path):
    assert_refused(["train-codec", "--family", "kmeans", "--bits", "6", "--part", "body", "--data", DEMO,
                    "--out", tmp_path / "m", "--entropy-guided"], "--entropy-guided", fresh_process=True)
    assert_refused(["train-codec", "--family", "kmeans", "--bits", "6", "--part", "body", "--data",
                    tmp_path / "no_data", "--out", tmp_path / "m"], tmp_path / "no_data")
    assert_refused(["evaluate-codecs", "--data", DEMO, "--out", tmp_path / "report.txt"], "report.txt", ".md")
    assert_refused(["evaluate-codecs", "--data", DEMO, "--out", tmp_path / "r.md", "--models", tmp_path / "empty"],
                   "no codec bundles")
    code, _, err = cli("train-codec", "--family", "kmeans", "--bits", "7", "--part", "body", "--data", DEMO,
                       "--out", tmp_path / "m")
    assert code == 2 and "invalid choice" in err  # argparse's own message
    assert not (tmp_path / "m").exists()
