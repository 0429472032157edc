"""SMPL-X npz files: BEAT2 round trips, the AMASS Z-up layout against hand-worked rotations,
SMPL-H poses, resampling, and every kind of broken file."""

from pathlib import Path

import numpy as np
import pytest
from motion_tokens.core import rotations as rot
from motion_tokens.core.errors import (
    CorruptFileError,
    LayoutError,
    MissingFileError,
    OutputError,
    SkeletonError,
)
from motion_tokens.core.formats import read_motion, write_motion
from motion_tokens.core.formats.npz import BEAT2_KEYS, read_smplx_npz, write_smplx_npz
from motion_tokens.core.motion import Motion
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, Skeleton, smplx_skeleton
from scipy.spatial.transform import Rotation

REPO = Path(__file__).resolve().parents[1]
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"


def raw_arrays(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def matrices_from_poses(poses):
    """(T, 165) axis-angle -> (T, 55, 3, 3) with scipy, independent of the module."""
    rotvecs = np.asarray(poses, dtype=np.float64).reshape(-1, 3)
    return Rotation.from_rotvec(rotvecs).as_matrix().reshape(len(poses), -1, 3, 3)


def check_round_trip(src: Path, tmp_path: Path):
    original = raw_arrays(src)
    m = read_smplx_npz(src)
    assert m.skeleton.names == SMPLX_JOINT_NAMES
    assert m.num_frames == len(original["poses"]) and m.fps == float(original["mocap_frame_rate"])
    # What was read is what the file says (scipy's own axis-angle conversion).
    np.testing.assert_allclose(rot.quat_to_matrix(m.rotations), matrices_from_poses(original["poses"]), atol=1e-6)
    np.testing.assert_allclose(m.trans, original["trans"], atol=1e-7)

    out = write_smplx_npz(tmp_path / "out.npz", m, extra={"tokens_body": np.arange(m.num_frames, dtype=np.int16)})
    written = raw_arrays(out)
    assert set(written) == set(BEAT2_KEYS) | {"tokens_body"}
    for key in ("poses", "trans", "betas", "expressions"):
        assert written[key].dtype == np.float32, key
    assert written["poses"].shape == (m.num_frames, 165) and written["betas"].shape == (300,)
    assert written["mocap_frame_rate"].dtype.kind == "i" and int(written["mocap_frame_rate"]) == 30
    assert str(written["gender"]) == "neutral" and str(written["model"]) == "smplx2020"
    assert written["tokens_body"].dtype == np.int16
    # Same rotations as the source file within float32 precision (axis-angle may take
    # another representative near pi, so compare matrices).
    expect = matrices_from_poses(original["poses"])
    np.testing.assert_allclose(matrices_from_poses(written["poses"]), expect, atol=2e-6)
    np.testing.assert_allclose(written["trans"], original["trans"], atol=1e-6)
    np.testing.assert_allclose(written["expressions"], original["expressions"], atol=1e-6)
    np.testing.assert_allclose(written["betas"], original["betas"], atol=1e-6)

    back = read_smplx_npz(out)
    assert back.fps == m.fps and back.num_frames == m.num_frames
    assert np.abs(back.positions() - m.positions()).max() < 1e-5
    np.testing.assert_allclose(back.expressions, m.expressions, atol=1e-6)


def test_round_trip_of_the_excerpt(tmp_path):
    check_round_trip(BEAT2_EXCERPT, tmp_path)


def test_round_trip_of_the_full_beat2_take(data_dir, tmp_path):
    check_round_trip(data_dir / "beat2" / "2_scott_0_1_1.npz", tmp_path)


def test_excerpt_keeps_the_beat2_keys(data_dir):
    full = raw_arrays(data_dir / "beat2" / "2_scott_0_1_1.npz")
    excerpt = raw_arrays(BEAT2_EXCERPT)
    assert set(excerpt) == set(full)
    assert excerpt["poses"].shape == (150, 165) and excerpt["poses"].dtype == np.float32
    # The excerpt is a run of frames of the take, bit for bit in float32.
    start = int(np.flatnonzero(np.all(full["poses"] == excerpt["poses"][0], axis=1))[0])
    np.testing.assert_array_equal(full["poses"][start : start + 150], excerpt["poses"])
    np.testing.assert_array_equal(full["trans"][start : start + 150].astype(np.float32), excerpt["trans"])


def test_writing_fills_missing_betas_and_expressions_with_zeros(tmp_path):
    m = read_smplx_npz(BEAT2_EXCERPT)
    bare = Motion(m.skeleton, m.fps, m.rotations, m.trans, betas=np.ones(16), expressions=np.ones((m.num_frames, 50)))
    written = raw_arrays(write_smplx_npz(tmp_path / "bare.npz", bare))
    np.testing.assert_array_equal(written["betas"], np.r_[np.ones(16), np.zeros(284)])
    assert written["expressions"].shape == (m.num_frames, 100)
    assert np.all(written["expressions"][:, :50] == 1) and np.all(written["expressions"][:, 50:] == 0)
    none = Motion(m.skeleton, 29.97, m.rotations, m.trans)
    written = raw_arrays(write_smplx_npz(tmp_path / "none.npz", none))
    assert np.all(written["betas"] == 0) and np.all(written["expressions"] == 0)
    assert float(written["mocap_frame_rate"]) == pytest.approx(29.97)  # not rounded to 30


def test_resampling_on_reading(tmp_path):
    m = read_smplx_npz(BEAT2_EXCERPT)  # 150 frames at 30 fps
    at15 = read_smplx_npz(BEAT2_EXCERPT, fps=15)
    assert at15.fps == 15.0 and at15.num_frames == 75
    assert np.allclose(np.abs(np.sum(at15.rotations * m.rotations[::2], axis=-1)), 1.0, atol=1e-9)
    np.testing.assert_allclose(at15.trans, m.trans[::2], atol=1e-12)
    assert read_smplx_npz(BEAT2_EXCERPT, fps=30).num_frames == 150


# --- AMASS ---------------------------------------------------------------------------------


def amass_file(tmp_path, root_orient, trans, fps=120, name="amass.npz", smplh=False):
    """A synthetic AMASS file: Z-up root orientation/translation, a bent left knee."""
    T = len(root_orient)
    width = 156 if smplh else 165
    poses = np.zeros((T, width), dtype=np.float32)
    poses[:, :3] = root_orient
    poses[:, 12:15] = [0.5, 0.0, 0.0]  # left_knee (joint 4)
    arrays = dict(poses=poses, trans=np.asarray(trans, dtype=np.float32), betas=np.zeros(16, np.float32),
                  gender=np.array("female"))
    if smplh:
        arrays["mocap_framerate"] = np.array(float(fps))
    else:
        arrays.update(
            root_orient=poses[:, :3], pose_body=poses[:, 3:66], pose_jaw=poses[:, 66:69], pose_eye=poses[:, 69:75],
            pose_hand=poses[:, 75:], surface_model_type=np.array("smplx"), mocap_frame_rate=np.array(float(fps)),
        )
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_amass_is_turned_from_z_up_to_y_up(tmp_path):
    # Frame 0: the usual AMASS standing pose, +90 degrees about X (the body's Y-up axis made
    #          to point along the world's Z-up). Frame 1: the same, then a 90-degree turn about
    #          the world's vertical Z: Rz(90) @ Rx(90).
    stand = np.array([np.pi / 2, 0, 0])
    turned = Rotation.from_matrix(
        np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]]) @ np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0.0]])
    ).as_rotvec()
    trans_z_up = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.9]])
    m = read_smplx_npz(amass_file(tmp_path, [stand, turned], trans_z_up), fps=None)
    assert m.fps == 120.0
    # Z up -> Y up is -90 degrees about X: (x, y, z) -> (x, z, -y). Standing: Rx(-90) Rx(90) = I.
    # Turned: Rx(-90) Rz(90) Rx(90) = Ry(90), a turn about the new vertical Y.
    ry90 = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0.0]])
    np.testing.assert_allclose(rot.quat_to_matrix(m.rotations[0, 0]), np.eye(3), atol=1e-6)
    np.testing.assert_allclose(rot.quat_to_matrix(m.rotations[1, 0]), ry90, atol=1e-6)
    # The root's world point turns with it: o + trans in Z up -> (x, z, -y) in Y up.
    o = smplx_skeleton().offsets[0]
    for t in range(2):
        x, y, z = o + trans_z_up[t]
        np.testing.assert_allclose(m.root_positions()[t], [x, z, -y], atol=1e-6)
    # Joints other than the root are untouched: the left knee's local 0.5 rad about X.
    np.testing.assert_allclose(m.axis_angle()[:, 4], [[0.5, 0, 0]] * 2, atol=1e-6)
    # The body stands up in Y up: its head is above its pelvis in frame 0.
    pos = m.positions()[0]
    assert pos[15, 1] - pos[0, 1] > 0.3


def test_amass_smplh_poses_get_zero_jaw_and_eyes(tmp_path):
    T = 3
    path = amass_file(tmp_path, np.zeros((T, 3)), np.zeros((T, 3)), fps=60, smplh=True)
    arrays = raw_arrays(path)
    poses = np.zeros((T, 156), np.float32)
    poses[:, 66:69] = [0.1, 0.2, 0.3]  # SMPL-H joint 22 = the first left-hand joint (left_index1)
    poses[:, 153:156] = [0.0, -0.4, 0.0]  # SMPL-H joint 51 = right_thumb3
    arrays["poses"] = poses
    np.savez(path, **arrays)
    m = read_smplx_npz(path, fps=None)
    aa = m.axis_angle()
    assert m.fps == 60.0
    np.testing.assert_allclose(aa[:, SMPLX_JOINT_NAMES.index("left_index1")], [[0.1, 0.2, 0.3]] * T, atol=1e-6)
    np.testing.assert_allclose(aa[:, SMPLX_JOINT_NAMES.index("right_thumb3")], [[0, -0.4, 0]] * T, atol=1e-6)
    np.testing.assert_allclose(aa[:, 22:25], 0.0, atol=1e-12)  # jaw and eyes


def test_amass_resampled_to_30_fps(tmp_path):
    T = 13  # 0.1 s at 120 fps -> 4 frames at 30 fps
    # Standing (Rx 90) and turning steadily about the vertical Z up: Rz(angle) @ Rx(90).
    angle = np.linspace(0, 1.2, T)
    root = Rotation.from_euler("ZX", np.stack([angle, np.full(T, np.pi / 2)], axis=1)).as_rotvec()
    m = read_smplx_npz(amass_file(tmp_path, root, np.zeros((T, 3))))
    assert m.fps == 120.0
    m30 = read_smplx_npz(amass_file(tmp_path, root, np.zeros((T, 3)), name="b.npz"), fps=30)
    assert m30.fps == 30.0 and m30.num_frames == 4
    np.testing.assert_allclose(rot.quat_angle(m30.rotations[:, 0]), [0, 0.4, 0.8, 1.2], atol=1e-6)


# --- write refusals -------------------------------------------------------------------------


def test_write_refuses_a_non_smplx_skeleton(tmp_path):
    sk = Skeleton(("a", "b"), (-1, 0), np.zeros((2, 3)))
    m = Motion(sk, 30, np.tile([1.0, 0, 0, 0], (4, 2, 1)), np.zeros((4, 3)), name="chain")
    with pytest.raises(SkeletonError, match="not the 55-joint SMPL-X one; retarget it to SMPL-X first") as info:
        write_smplx_npz(tmp_path / "x.npz", m)
    assert "x.npz" in str(info.value)
    assert not (tmp_path / "x.npz").exists()


def test_write_refuses_bad_extras_and_empty_motions(tmp_path):
    m = read_smplx_npz(BEAT2_EXCERPT)
    with pytest.raises(OutputError, match="'poses' would replace"):
        write_smplx_npz(tmp_path / "x.npz", m, extra={"poses": np.zeros(3)})
    with pytest.raises(OutputError, match="'codec' holds Python objects"):
        write_smplx_npz(tmp_path / "x.npz", m, extra={"codec": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(OutputError, match="has no frames"):
        write_smplx_npz(tmp_path / "x.npz", m.frames(0, 0))
    extra = {"codec": np.array("kmeans-body-9"), "token_fps": 30.0}
    written = raw_arrays(write_smplx_npz(tmp_path / "x.npz", m, extra=extra))
    assert str(written["codec"]) == "kmeans-body-9" and written["token_fps"].dtype == np.float32


def test_a_failed_write_leaves_the_old_file_untouched(tmp_path, monkeypatch):
    m = read_smplx_npz(BEAT2_EXCERPT)
    path = tmp_path / "keep.npz"
    path.write_bytes(b"old content")

    def broken_savez(f, **arrays):
        f.write(b"PK half a file")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(RuntimeError, match="interrupted"):
        write_smplx_npz(path, m)
    assert path.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.npz"]


def test_write_motion_npz_and_unknown_suffix(tmp_path):
    m = read_smplx_npz(BEAT2_EXCERPT)
    back = read_motion(write_motion(tmp_path / "out.npz", m), fps=None)
    assert np.abs(back.positions() - m.positions()).max() < 1e-5
    assert read_motion(tmp_path / "out.npz", fps=15).num_frames == 75
    with pytest.raises(OutputError, match=r"unsupported suffix '\.txt'; motion files are \.npz or \.bvh"):
        write_motion(tmp_path / "out.txt", m)


# --- broken files -------------------------------------------------------------------------


def save(tmp_path, name="bad.npz", **arrays):
    path = tmp_path / name
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def good_arrays(T=4):
    return dict(poses=np.zeros((T, 165), np.float32), trans=np.zeros((T, 3), np.float32),
                betas=np.zeros(300, np.float32), mocap_frame_rate=np.array(30))


def check_refusal(path, error, *fragments):
    with pytest.raises(error) as info:
        read_smplx_npz(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_the_good_arrays_are_readable(tmp_path):
    assert read_smplx_npz(save(tmp_path, **good_arrays())).num_frames == 4


def test_missing_file(tmp_path):
    check_refusal(tmp_path / "nope.npz", MissingFileError, "no such file")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.touch()
    check_refusal(path, CorruptFileError, "empty")


def test_not_a_zip(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("poses,trans\n1,2\n")
    check_refusal(path, CorruptFileError, "not an .npz archive")


def test_truncated_archive(tmp_path):
    data = BEAT2_EXCERPT.read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(data[: len(data) // 2])
    check_refusal(path, CorruptFileError, "perhaps truncated")


def test_damaged_member(tmp_path):
    path = save(tmp_path, **good_arrays(200))
    data = bytearray(path.read_bytes())
    data[300:340] = b"\xff" * 40  # inside `poses`' .npy header
    path.write_bytes(bytes(data))
    check_refusal(path, CorruptFileError, "`poses`")


def test_a_single_npy_array(tmp_path):
    path = tmp_path / "poses.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((4, 165)))
    check_refusal(path, LayoutError, "single .npy array")


def test_missing_poses(tmp_path):
    arrays = good_arrays()
    del arrays["poses"]
    path = save(tmp_path, **arrays)
    check_refusal(path, LayoutError, "missing key `poses`", "the file has: trans, betas, mocap_frame_rate")


def test_wrong_poses_shape(tmp_path):
    arrays = good_arrays()
    arrays["poses"] = np.zeros((4, 72), np.float32)  # SMPL body-only poses
    check_refusal(save(tmp_path, **arrays), LayoutError, "`poses` has shape (4, 72)", "expected (T, 165)")


def test_trans_that_does_not_match_poses(tmp_path):
    arrays = good_arrays()
    arrays["trans"] = np.zeros((5, 3))
    check_refusal(save(tmp_path, **arrays), LayoutError, "`trans` has shape (5, 3), expected (4, 3)")


def test_nan_values(tmp_path):
    arrays = good_arrays()
    arrays["poses"][2, 7] = np.nan
    check_refusal(save(tmp_path, **arrays), LayoutError, "`poses` has 1 NaN or infinite values (first at frame 2)")


def test_zero_frames(tmp_path):
    check_refusal(save(tmp_path, **good_arrays(0)), LayoutError, "`poses` has zero frames")


def test_object_array(tmp_path):
    arrays = good_arrays()
    arrays["poses"] = np.array([np.zeros(165)] * 4 + [None], dtype=object)
    check_refusal(save(tmp_path, **arrays), LayoutError, "`poses` is an object array", "never unpickled")


def test_missing_frame_rate(tmp_path):
    arrays = good_arrays()
    del arrays["mocap_frame_rate"]
    check_refusal(save(tmp_path, **arrays), LayoutError, "missing key `mocap_frame_rate`")


def test_wrong_expressions(tmp_path):
    arrays = good_arrays()
    arrays["expressions"] = np.zeros((3, 100))
    check_refusal(save(tmp_path, **arrays), LayoutError, "`expressions` must be (4, E)", "got (3, 100)")
