"""RQ-VAE inference in numpy (core/codecs/rqvae_numpy.py) against the torch model it mirrors.

The references: torch's own Conv1d (replicate padding), hand-worked convolutions and residual
quantisation, and the torch RQVAE of core/codecs/rqvae.py (vector_quantize_pytorch's
ResidualVQ) in eval mode, on tiny models made here and on every shipped rqvae bundle.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core.codecs.base import ResidualCodec
from motion_tokens.core.codecs.bundle import write_bundle
from motion_tokens.core.codecs.features import part_features
from motion_tokens.core.codecs.registry import MODELS_DIR, load_codec
from motion_tokens.core.codecs.rqvae_numpy import RQVAENumpy, RQVAENumpyCodec, conv1d
from motion_tokens.core.formats import read_motion

torch = pytest.importorskip("torch", reason="the reference model needs torch")
from motion_tokens.core.codecs.rqvae import RQVAE, RQVAECodec, RQVAEConfig  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "demo" / "beat2_excerpt.npz"
# The committed rqvae bundles (git ls-files models): a missing one fails to load, never skips.
SHIPPED_RQVAE = [MODELS_DIR / f"rqvae-{bits}-{part}" for bits in (6, 9, 10, 12) for part in ("body", "hands")]


@pytest.fixture(scope="module")
def demo_motion():
    return read_motion(DEMO)


# --- convolution ------------------------------------------------------------------------------

def test_conv1d_by_hand_replicates_the_edges():
    # One channel, kernel (1, 0, 0) with dilation 2: out[t] = x[t - 2], the first frame repeated
    # before the start. Kernel (0, 0, 1): x[t + 2], the last frame repeated past the end.
    x = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    back = conv1d(x, np.array([[[1.0, 0.0, 0.0]]]), np.zeros(1), dilation=2)
    ahead = conv1d(x, np.array([[[0.0, 0.0, 1.0]]]), np.array([0.5]), dilation=2)
    np.testing.assert_array_equal(back[:, 0], [1, 1, 1, 2, 3])
    np.testing.assert_array_equal(ahead[:, 0], [3.5, 4.5, 5.5, 5.5, 5.5])
    # A kernel of one tap is a matrix product per frame: 2 channels in, 1 out.
    np.testing.assert_array_equal(conv1d(np.array([[1.0, 2.0]]), np.array([[[3.0], [4.0]]]), np.array([1.0])), [[12.0]])


@pytest.mark.parametrize("kernel, dilation, frames", [(3, 1, 20), (3, 3, 20), (3, 9, 7), (1, 1, 5), (3, 1, 1)])
def test_conv1d_matches_torch(kernel, dilation, frames):
    conv = torch.nn.Conv1d(5, 4, kernel, padding=dilation * (kernel - 1) // 2, dilation=dilation,
                           padding_mode="replicate" if kernel > 1 else "zeros").double()
    x = np.random.default_rng(0).normal(size=(frames, 5))
    with torch.no_grad():
        expected = conv(torch.from_numpy(x.T[None]))[0].numpy().T
    ours = conv1d(x, conv.weight.detach().numpy(), conv.bias.detach().numpy(), dilation)
    np.testing.assert_allclose(ours, expected, atol=1e-12)


# --- residual quantisation by hand -----------------------------------------------------------

def _model_with_codebooks(codebooks: np.ndarray, cosine: bool = False):
    """A numpy model whose (Q, D, 2) codebooks are given (tiny random convolutions around them)."""
    Q, D, L = codebooks.shape
    config = RQVAEConfig(part="body", D=D, Q=Q, hidden=4, latent=L, entropy_guided=cosine)
    tensors = {f"model.{k}": v.numpy() for k, v in RQVAE(config).state_dict().items()}
    for q in range(Q):
        tensors[f"model.quantizer.layers.{q}._codebook.embed"] = codebooks[q][None].astype(np.float32)
    return RQVAENumpy(config.to_dict(), tensors)


def test_residual_quantisation_by_hand():
    # Layer 0 holds (0, 0) and (4, 0); layer 1 (0, 0), (0, 1) and (-1, 0).
    books = np.array([[[0, 0], [4, 0], [9, 9]], [[0, 0], [0, 1], [-1, 0]]], dtype=np.float64)
    model = _model_with_codebooks(books)
    z = np.array([[3.9, 0.8], [0.2, -0.1], [3.1, 0.0]])
    # (3.9, 0.8): nearest (4, 0), residual (-0.1, 0.8) -> (0, 1). (0.2, -0.1): (0, 0) then (0, 0).
    # (3.1, 0): (4, 0), residual (-0.9, 0) -> (-1, 0).
    np.testing.assert_array_equal(model.quantise(z), [[1, 1], [0, 0], [1, 2]])
    np.testing.assert_allclose(model.codes(np.array([[1, 1], [0, 0], [1, 2]])), [[4, 1], [0, 0], [3, 0]])


def test_cosine_quantisation_by_hand():
    # Unit codes; the residual is normalised before comparing, and the unit code subtracted.
    s = np.sqrt(0.5)
    books = np.array([[[1, 0], [0, 1], [s, s]], [[1, 0], [-1, 0], [0, -1]]], dtype=np.float64)
    model = _model_with_codebooks(books, cosine=True)
    z = np.array([[10.0, 0.5], [2.0, 2.2]])
    # (10, 0.5) -> (1, 0), residual (9, 0.5) -> (1, 0). (2, 2.2) -> (s, s), residual
    # (1.29, 1.49), nearest in angle among (1,0), (-1,0), (0,-1): (1, 0).
    np.testing.assert_array_equal(model.quantise(z), [[0, 0], [2, 0]])


# --- against the torch model ------------------------------------------------------------------

def _tiny_bundle(folder: Path, part: str, bits: int, entropy_guided: bool, seed: int = 0):
    """A bundle of an untrained RQVAE with random (Gaussian) codebooks, as train.py saves one."""
    D, Q = ResidualCodec.BITRATES[bits]["D"], ResidualCodec.BITRATES[bits]["Q"]
    torch.manual_seed(seed)
    config = RQVAEConfig(part=part, D=D, Q=Q, entropy_guided=entropy_guided)
    model = RQVAE(config)
    tensors = {f"model.{k}": v.detach().numpy().copy() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(seed)
    for q in range(Q):
        embed = rng.normal(size=(1, D, config.latent)).astype(np.float32)
        if entropy_guided:  # cosine codebooks hold unit vectors
            embed /= np.linalg.norm(embed, axis=-1, keepdims=True)
        tensors[f"model.quantizer.layers.{q}._codebook.embed"] = embed
        tensors[f"model.quantizer.layers.{q}._codebook.initted"] = np.array(True)
    F = config.num_features
    tensors["mean"] = rng.normal(scale=0.1, size=F).astype(np.float32)
    tensors["std"] = rng.uniform(0.1, 0.5, size=F).astype(np.float32)
    manifest = {"name": f"rqvae-{bits}", "kind": "codec", "family": "rqvae", "part": part, "D": D, "Q": Q,
                "fps": 30.0, "model_config": config.to_dict()}
    return write_bundle(folder, manifest, tensors)


def _inputs(codec, demo_motion):
    features = part_features(demo_motion, codec.part)
    rng = np.random.default_rng(1)
    noise = (rng.normal(size=(97, codec.num_features)) * codec.normalisation.std + codec.normalisation.mean)
    return {"demo": features, "random": noise.astype(np.float32)}


def _assert_same(torch_codec, numpy_codec, demo_motion):
    for what, features in _inputs(torch_codec, demo_motion).items():
        tokens = torch_codec.encode(features)
        np.testing.assert_array_equal(numpy_codec.encode(features), tokens, err_msg=what)
        np.testing.assert_allclose(numpy_codec.decode(tokens), torch_codec.decode(tokens), atol=1e-5, err_msg=what)


@pytest.mark.parametrize("part, bits, entropy_guided", [("body", 12, False), ("hands", 10, False), ("body", 6, True)])
def test_numpy_equals_torch_on_tiny_models(tmp_path, demo_motion, part, bits, entropy_guided):
    bundle = _tiny_bundle(tmp_path / "codec", part, bits, entropy_guided)
    torch_codec = load_codec(bundle.folder, backend="torch")
    assert isinstance(torch_codec, RQVAECodec)
    numpy_codec = RQVAENumpyCodec(bundle.manifest, bundle.tensors(), bundle)
    _assert_same(torch_codec, numpy_codec, demo_motion)
    # Several codes are in use, so the comparison is not trivially of one constant token.
    assert len(np.unique(torch_codec.encode(_inputs(torch_codec, demo_motion)["random"]), axis=0)) > 1


@pytest.mark.parametrize("folder", SHIPPED_RQVAE, ids=lambda p: p.name)
def test_numpy_equals_torch_on_shipped_bundles(folder, demo_motion):
    torch_codec = load_codec(folder, backend="torch")
    numpy_codec = RQVAENumpyCodec(torch_codec.manifest, torch_codec.bundle.tensors(), torch_codec.bundle)
    _assert_same(torch_codec, numpy_codec, demo_motion)


def test_numpy_codec_refuses_bad_tokens(tmp_path):
    bundle = _tiny_bundle(tmp_path / "codec", "body", 9, False)
    codec = RQVAENumpyCodec(bundle.manifest, bundle.tensors(), bundle)
    for bad, problem in [(np.zeros((4, 2), dtype=np.int64), r"\(T, 3\)"), (np.full((4, 3), 8), r"\[0, 8\)"),
                         (np.zeros((4, 3)), "integer")]:
        with pytest.raises(Exception, match=problem):
            codec.decode(bad)
    assert codec.encode(np.zeros((0, 63))).shape == (0, 3)


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path):
    bundle = _tiny_bundle(tmp_path / "codec", "body", 9, False)
    tensors = bundle.tensors()
    last = f"model.decoder.{len(bundle.manifest['model_config']['dilations']) + 2}.weight"  # after blocks and ReLU
    del tensors[last]
    with pytest.raises(ValueError, match=last):
        RQVAENumpy(bundle.manifest["model_config"], tensors)
    with pytest.raises(ValueError, match="dilations"):
        RQVAENumpy({k: v for k, v in bundle.manifest["model_config"].items() if k != "dilations"}, bundle.tensors())
    with pytest.raises(ValueError, match="90 features wide"):
        RQVAENumpy(dict(bundle.manifest["model_config"], part="hands"), bundle.tensors())


def test_without_torch_load_codec_runs_numpy(tmp_path, demo_motion):
    """With torch unimportable (as inside Blender), load_codec gives the numpy codec, and the
    command line encodes with it: the same tokens as the torch codec in this process."""
    bundle = _tiny_bundle(tmp_path / "models" / "rqvae-9-body", "body", 9, False)
    expected = load_codec(bundle.folder, backend="torch").encode(part_features(demo_motion, "body"))
    script = (
        "import sys; sys.modules['torch'] = None\n"  # `import torch` now raises ImportError
        "from motion_tokens.core.codecs.registry import load_codec\n"
        f"codec = load_codec({str(bundle.folder)!r})\n"
        "print(type(codec).__name__)\n"
        "from motion_tokens.cli import main\n"
        f"sys.exit(main(['encode', {str(DEMO)!r}, '--codec', 'rqvae-9', '--out', {str(tmp_path / 't.npz')!r}, "
        f"'--models', {str(tmp_path / 'models')!r}]))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "RQVAENumpyCodec"
    assert "torch" not in run.stderr
    with np.load(tmp_path / "t.npz", allow_pickle=False) as data:
        np.testing.assert_array_equal(data["tokens_body"], expected)
