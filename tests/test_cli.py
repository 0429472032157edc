"""The command line, run as users run it: `python -m motion_tokens ...` in a subprocess."""

import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.formats import read_bvh, read_smplx_npz
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES

REPO = Path(__file__).resolve().parents[1]
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"
BANDAI_EXCERPT = REPO / "demo" / "bandai_excerpt.bvh"


def run_cli(*args, code=None, cwd=None):
    """Run `python -m motion_tokens ARGS` (or the Python `code` with ARGS) in a new process."""
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "motion_tokens", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=120)


def assert_bad_input(result, *names):
    """Exit status 2, one line on stderr naming each of `names`, no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for name in names:
        assert str(name) in lines[0]


def test_import_npz_to_npz_keeps_the_motion(tmp_path):
    out = tmp_path / "copy.npz"
    result = run_cli("import", str(BEAT2_EXCERPT), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout

    with np.load(BEAT2_EXCERPT) as source:
        poses, trans = source["poses"], source["trans"]
    with np.load(out) as written:
        assert written["poses"].shape == poses.shape
        assert written["poses"].dtype == np.float32
        T = len(poses)
        # Same rotations (axis-angle may differ by 2*pi wraps: compare as quaternions).
        q_in = rot.axis_angle_to_quat(poses.reshape(T, -1, 3).astype(np.float64))
        q_out = rot.axis_angle_to_quat(written["poses"].reshape(T, -1, 3).astype(np.float64))
        assert np.max(rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(q_in), q_out))) < 1e-4
        np.testing.assert_allclose(written["trans"], trans, atol=1e-6)
        assert int(written["mocap_frame_rate"]) == 30


def test_import_npz_to_bvh_gives_the_same_joint_positions(tmp_path):
    out = tmp_path / "take.bvh"
    result = run_cli("import", str(BEAT2_EXCERPT), "--out", str(out))
    assert result.returncode == 0, result.stderr
    source = read_smplx_npz(BEAT2_EXCERPT)
    back = read_bvh(out)
    assert sorted(back.skeleton.names) == sorted(SMPLX_JOINT_NAMES)
    assert back.num_frames == source.num_frames
    assert back.fps == pytest.approx(30.0, rel=1e-4)
    # The BVH lists joints depth first; match them to SMPL-X's order by name. BVH stores
    # centimetres with a few decimals: positions agree to well under a millimetre.
    order = [back.skeleton.index(name) for name in SMPLX_JOINT_NAMES]
    assert np.max(np.abs(back.positions()[:, order] - source.positions())) < 5e-4


def test_import_bvh_to_npz_is_smplx_at_the_requested_rate(tmp_path):
    out = tmp_path / "bandai.npz"
    result = run_cli("import", str(BANDAI_EXCERPT), "--out", str(out), "--fps", "15")
    assert result.returncode == 0, result.stderr
    frames = int(next(line for line in BANDAI_EXCERPT.read_text().splitlines() if line.startswith("Frames:")).split()[1])
    with np.load(out) as written:
        assert written["poses"].shape == ((frames - 1) // 2 + 1, 165)  # 30 fps -> 15 fps
        assert int(written["mocap_frame_rate"]) == 15
        assert np.isfinite(written["poses"]).all() and np.isfinite(written["trans"]).all()


def test_missing_file_exits_2_naming_it(tmp_path):
    missing = tmp_path / "no_such_take.npz"
    out = tmp_path / "out.npz"
    assert_bad_input(run_cli("import", str(missing), "--out", str(out)), missing)
    assert not out.exists()


@pytest.mark.parametrize(
    "name, content",
    [
        ("corrupt.npz", b"this is not a zip archive\n"),
        ("empty.bvh", b""),
        ("truncated.bvh", None),  # the first lines of the Bandai excerpt
        ("notes.txt", b"some text\n"),
    ],
)
def test_bad_input_exits_2_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(BANDAI_EXCERPT.read_bytes()[:2000] if content is None else content)
    out = tmp_path / "out.npz"
    assert_bad_input(run_cli("import", str(path), "--out", str(out)), path)
    assert not out.exists()


def test_unknown_output_suffix_exits_2(tmp_path):
    out = tmp_path / "take.abc"
    assert_bad_input(run_cli("import", str(BEAT2_EXCERPT), "--out", str(out)), out)
    assert not out.exists()


def test_missing_output_folder_exits_2(tmp_path):
    out = tmp_path / "no_folder" / "take.npz"
    assert_bad_input(run_cli("import", str(BEAT2_EXCERPT), "--out", str(out)), out)


def test_blend_output_without_bpy_says_what_is_needed(tmp_path):
    # A Python where `import bpy` fails, as for a user without Blender's module.
    code = "import sys; sys.modules['bpy'] = None; from motion_tokens.cli import main; sys.exit(main(sys.argv[1:]))"
    out = tmp_path / "take.blend"
    result = run_cli("import", str(BEAT2_EXCERPT), "--out", str(out), code=code)
    assert_bad_input(result, out)
    assert "bpy" in result.stderr
    assert not out.exists()


def test_version_matches_the_manifest_and_pyproject():
    result = run_cli("--version")
    assert result.returncode == 0
    with open(REPO / "blender_manifest.toml", "rb") as f:
        manifest_version = tomllib.load(f)["version"]
    with open(REPO / "pyproject.toml", "rb") as f:
        project_version = tomllib.load(f)["project"]["version"]
    assert manifest_version == project_version
    assert result.stdout.strip() == f"motion-tokens {manifest_version}"


def test_no_command_is_a_usage_error():
    result = run_cli()
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


# --- --smplx-model: the rest skeleton of a model file, shaped by the take's betas ------------

@pytest.fixture(scope="module")
def smplx_model(tmp_path_factory):
    """The synthetic SMPL-X model of tests/test_skeleton.py, as a model folder."""
    from test_skeleton import synthetic_smplx_arrays

    folder = tmp_path_factory.mktemp("smplx_model")
    np.savez(folder / "SMPLX_NEUTRAL.npz", **synthetic_smplx_arrays())
    return folder


def test_import_with_smplx_model_writes_the_models_rest_skeleton(tmp_path, smplx_model):
    """The BVH written with --smplx-model has the rest joints the `smplx` package computes for
    the take's own betas (reference: smplx.create on the same model file), not the approximate
    table; the motion's rotations are the same either way."""
    from test_skeleton import smplx_package_joints

    with np.load(BEAT2_EXCERPT, allow_pickle=False) as take:
        betas = take["betas"].astype(np.float64)
    assert np.abs(betas).max() > 0.1  # the take's shape matters, or this proves nothing
    out, plain = tmp_path / "model.bvh", tmp_path / "plain.bvh"
    result = run_cli("import", str(BEAT2_EXCERPT), "--out", str(out), "--smplx-model", str(smplx_model))
    assert result.returncode == 0, result.stderr
    assert run_cli("import", str(BEAT2_EXCERPT), "--out", str(plain)).returncode == 0
    expected = smplx_package_joints(smplx_model, betas[:300])
    written, approximate = read_bvh(out), read_bvh(plain)
    order = [written.skeleton.index(n) for n in SMPLX_JOINT_NAMES]
    rest = written.skeleton.rest_positions()[order]
    # Relative to the pelvis (a BVH places its root where the file's first frame does).
    np.testing.assert_allclose(rest - rest[0], expected - expected[0], atol=2e-5)  # metres, BVH text precision
    other = approximate.skeleton.rest_positions()[[approximate.skeleton.index(n) for n in SMPLX_JOINT_NAMES]]
    assert np.abs((other - other[0]) - (rest - rest[0])).max() > 0.05
    np.testing.assert_allclose(written.rotations[:, order], approximate.rotations[:, order], atol=1e-4)


def test_smplx_model_folder_without_a_model_exits_2(tmp_path):
    result = run_cli("import", str(BEAT2_EXCERPT), "--out", str(tmp_path / "t.bvh"), "--smplx-model", str(tmp_path))
    assert_bad_input(result, "SMPLX_NEUTRAL.npz")
    assert not (tmp_path / "t.bvh").exists()
