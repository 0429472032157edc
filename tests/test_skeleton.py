"""The SMPL-X skeleton: exact rest joints from a model file (checked against the `smplx`
package on a synthetic model), the shipped approximate rest table, and Skeleton validation."""

import json

import numpy as np
import pytest
from motion_tokens.core import skeleton as sk
from motion_tokens.core.errors import CorruptFileError, LayoutError, MissingFileError
from motion_tokens.core.skeleton import SMPLX_JOINT_NAMES, SMPLX_PARENTS, Skeleton

NUM_VERTS = 10475
NUM_JOINTS = 55


def synthetic_smplx_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """Every array smplx.create(model_type='smplx', ext='npz') reads, with random content."""
    rng = np.random.default_rng(seed)
    regressor = rng.random((NUM_JOINTS, NUM_VERTS)) ** 8  # peaked, like a real regressor
    regressor /= regressor.sum(axis=1, keepdims=True)
    weights = rng.random((NUM_VERTS, NUM_JOINTS))
    weights /= weights.sum(axis=1, keepdims=True)
    faces = rng.integers(0, NUM_VERTS, size=(2000, 3)).astype(np.int64)
    return {
        "v_template": rng.uniform(-1, 1, size=(NUM_VERTS, 3)),
        "shapedirs": 0.01 * rng.normal(size=(NUM_VERTS, 3, 400)),  # 300 shape + 100 expression
        "J_regressor": regressor,
        "posedirs": np.zeros((NUM_VERTS, 3, (NUM_JOINTS - 1) * 9)),
        "weights": weights,
        "f": faces,
        "kintree_table": np.stack([np.array(SMPLX_PARENTS), np.arange(NUM_JOINTS)]).astype(np.int64),
        "lmk_faces_idx": rng.integers(0, len(faces), size=51).astype(np.int64),
        "lmk_bary_coords": np.full((51, 3), 1 / 3),
        "dynamic_lmk_faces_idx": rng.integers(0, len(faces), size=(79, 17)).astype(np.int64),
        "dynamic_lmk_bary_coords": np.full((79, 17, 3), 1 / 3),
        "hands_componentsl": rng.normal(size=(45, 45)),
        "hands_componentsr": rng.normal(size=(45, 45)),
        "hands_meanl": rng.normal(size=45),
        "hands_meanr": rng.normal(size=45),
    }


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("smplx_model")
    np.savez(folder / "SMPLX_NEUTRAL.npz", **synthetic_smplx_arrays())
    return folder


def smplx_package_joints(folder, betas):
    torch = pytest.importorskip("torch")
    smplx = pytest.importorskip("smplx")
    model = smplx.create(
        str(folder / "SMPLX_NEUTRAL.npz"), model_type="smplx", gender="neutral", ext="npz", num_betas=len(betas),
        flat_hand_mean=True, dtype=torch.float64,
    )
    with torch.no_grad():
        out = model(betas=torch.tensor(np.asarray(betas)[None], dtype=torch.float64), return_verts=True)
    assert tuple(out.vertices.shape) == (1, NUM_VERTS, 3)
    return out.joints[0, :NUM_JOINTS].numpy()


@pytest.mark.parametrize("nonzero", [False, True])
def test_model_rest_joints_match_the_smplx_package(model_folder, nonzero):
    betas = np.random.default_rng(1).normal(size=20) * 2.0 if nonzero else np.zeros(20)
    ours = sk.smplx_model_rest_positions(model_folder, betas=betas)
    ref = smplx_package_joints(model_folder, betas)
    assert ours.shape == (NUM_JOINTS, 3)
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    if nonzero:  # the betas must have moved the joints, or the test proves nothing
        assert np.abs(ours - sk.smplx_model_rest_positions(model_folder)).max() > 1e-3


def test_smplx_skeleton_from_model_folder(model_folder):
    skel = sk.smplx_skeleton(model_folder)
    np.testing.assert_allclose(skel.rest_positions(), smplx_package_joints(model_folder, np.zeros(10)), atol=1e-5)
    assert skel.names == SMPLX_JOINT_NAMES


def test_model_file_in_a_smplx_subfolder(tmp_path, model_folder):
    (tmp_path / "smplx").mkdir()
    (tmp_path / "smplx" / "SMPLX_NEUTRAL.npz").symlink_to(model_folder / "SMPLX_NEUTRAL.npz")
    np.testing.assert_allclose(sk.smplx_model_rest_positions(tmp_path), sk.smplx_model_rest_positions(model_folder))


def test_missing_model_folder(tmp_path):
    with pytest.raises(MissingFileError) as err:
        sk.smplx_model_rest_positions(tmp_path / "nowhere")
    assert "SMPLX_NEUTRAL.npz" in str(err.value) and "licence" in str(err.value)


def test_missing_gender_file(model_folder):
    with pytest.raises(MissingFileError, match="SMPLX_FEMALE.npz"):
        sk.smplx_model_rest_positions(model_folder, gender="female")


def test_damaged_model_file(tmp_path):
    (tmp_path / "SMPLX_NEUTRAL.npz").write_bytes(b"this is not a zip archive" * 10)
    with pytest.raises(CorruptFileError) as err:
        sk.smplx_model_rest_positions(tmp_path)
    assert "SMPLX_NEUTRAL.npz" in str(err.value) and "cannot be read" in str(err.value)


def test_truncated_model_file(tmp_path):
    path = tmp_path / "SMPLX_NEUTRAL.npz"
    np.savez(path, v_template=np.zeros((10, 3)), shapedirs=np.zeros((10, 3, 4)), J_regressor=np.zeros((55, 10)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="SMPLX_NEUTRAL.npz"):
        sk.smplx_model_rest_positions(tmp_path)


def test_model_file_missing_keys(tmp_path):
    np.savez(tmp_path / "SMPLX_NEUTRAL.npz", v_template=np.zeros((10, 3)))
    with pytest.raises(LayoutError) as err:
        sk.smplx_model_rest_positions(tmp_path)
    assert "SMPLX_NEUTRAL.npz" in str(err.value)
    assert "shapedirs" in str(err.value) and "J_regressor" in str(err.value)


def test_model_file_wrong_shapes(tmp_path):
    np.savez(tmp_path / "SMPLX_NEUTRAL.npz", v_template=np.zeros((10, 3)), shapedirs=np.zeros((10, 3, 4)),
             J_regressor=np.zeros((55, 11)))
    with pytest.raises(LayoutError, match="J_regressor"):
        sk.smplx_model_rest_positions(tmp_path)


def test_model_file_with_pickled_arrays_is_refused(tmp_path):
    np.savez(tmp_path / "SMPLX_NEUTRAL.npz", v_template=np.array([{"a": 1}], dtype=object),
             shapedirs=np.zeros((10, 3, 4)), J_regressor=np.zeros((55, 10)))
    with pytest.raises(LayoutError, match="unpickling"):
        sk.smplx_model_rest_positions(tmp_path)


# --- Skeleton validation ----------------------------------------------------------------------


def test_skeleton_validation():
    off = np.zeros((3, 3))
    Skeleton(("a", "b", "c"), (-1, 0, 1), off)
    with pytest.raises(ValueError, match="one parent"):
        Skeleton(("a", "b"), (-1, 0, 1), off)
    with pytest.raises(ValueError, match="one parent"):
        Skeleton(("a", "b", "c"), (-1, 0, 1), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="unique"):
        Skeleton(("a", "b", "a"), (-1, 0, 1), off)
    with pytest.raises(ValueError, match="precede"):
        Skeleton(("a", "b", "c"), (-1, 2, 0), off)
    with pytest.raises(ValueError, match="one root"):
        Skeleton(("a", "b", "c"), (-1, -1, 1), off)


def test_skeleton_is_read_only_and_indexes():
    skel = Skeleton(("a", "b"), (-1, 0), np.array([[0, 1.0, 0], [1.0, 0, 0]]))
    with pytest.raises(ValueError):
        skel.offsets[0, 0] = 5.0
    assert skel.index("b") == 1 and skel.children(0) == [1]
    with pytest.raises(KeyError, match="'z'"):
        skel.index("z")
    np.testing.assert_allclose(skel.rest_positions(), [[0, 1, 0], [1, 1, 0]])


def test_offsets_from_positions_inverts_rest_positions():
    rng = np.random.default_rng(4)
    pos = rng.normal(size=(NUM_JOINTS, 3))
    offsets = sk.offsets_from_positions(pos, SMPLX_PARENTS)
    np.testing.assert_allclose(Skeleton(SMPLX_JOINT_NAMES, SMPLX_PARENTS, offsets).rest_positions(), pos, atol=1e-12)


# --- the shipped approximate rest table -------------------------------------------------------


@pytest.fixture(scope="module")
def rest():
    skel = sk.smplx_skeleton()
    return {n: p for n, p in zip(skel.names, skel.rest_positions())}


def length(rest, a, b):
    return float(np.linalg.norm(rest[b] - rest[a]))


def test_rest_table_documents_how_it_was_measured():
    table = json.loads((sk._REST_TABLE).read_text())
    assert set(table["positions"]) == set(SMPLX_JOINT_NAMES)
    how = table["how"]
    assert "PLACEHOLDER" not in how
    for source in ("bandai", "fingerspelling", "2_scott_0_1_1.npz", "tools/measure_smplx_rest.py"):
        assert source in how or source in json.dumps(table.get("sources", "")), source


def test_rest_table_bone_lengths_are_human(rest):
    for side in ("left", "right"):
        assert 0.33 < length(rest, f"{side}_hip", f"{side}_knee") < 0.50  # thigh
        assert 0.33 < length(rest, f"{side}_knee", f"{side}_ankle") < 0.48  # shin
        assert 0.08 < length(rest, f"{side}_ankle", f"{side}_foot") < 0.18
        assert 0.22 < length(rest, f"{side}_shoulder", f"{side}_elbow") < 0.34  # upper arm
        assert 0.20 < length(rest, f"{side}_elbow", f"{side}_wrist") < 0.30  # forearm
        assert 0.06 < length(rest, f"{side}_wrist", f"{side}_middle1") < 0.13  # palm
        for finger in ("index", "middle", "ring", "pinky", "thumb"):
            seg = length(rest, f"{side}_{finger}1", f"{side}_{finger}2")
            assert 0.015 < seg < 0.06, (side, finger, seg)
    # Bandai's shoulder joints sit 20.5 cm apart (narrower than anatomy's ~35 cm); the table keeps them.
    assert 0.18 < length(rest, "left_shoulder", "right_shoulder") < 0.45
    assert 0.08 < length(rest, "left_hip", "right_hip") < 0.25
    assert 0.10 < length(rest, "left_wrist", "left_middle1") + length(rest, "left_middle1", "left_middle3") < 0.20
    # floor (ankle joint minus ~10 cm) to eyes: a standing adult
    assert 1.4 < rest["left_eye_smplhf"][1] - rest["left_ankle"][1] + 0.1 < 1.9


def test_rest_table_is_left_right_symmetric(rest):
    for name in SMPLX_JOINT_NAMES:
        if name.startswith("left_"):
            mirrored = rest[name] * [-1, 1, 1]
            np.testing.assert_allclose(mirrored, rest["right_" + name[5:]], atol=1e-3, err_msg=name)
        elif not name.startswith("right_"):
            assert abs(rest[name][0]) < 1e-3, name


def test_rest_table_is_a_t_pose_facing_z(rest):
    x = np.array([1.0, 0, 0])
    # arms straight out, the character's left at +X
    for a, b in [("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"), ("left_wrist", "left_middle1"),
                 ("left_middle1", "left_middle2"), ("left_index2", "left_index3")]:
        d = (rest[b] - rest[a]) / length(rest, a, b)
        assert d @ x > 0.98, (a, b, d)
    # legs down, spine up, feet forward (+Z)
    for a, b in [("left_hip", "left_knee"), ("left_knee", "left_ankle")]:
        assert (rest[b] - rest[a])[1] / length(rest, a, b) < -0.95
    for a, b in [("pelvis", "spine1"), ("spine3", "neck"), ("neck", "head")]:
        assert (rest[b] - rest[a])[1] / length(rest, a, b) > 0.9
    assert rest["left_foot"][2] > rest["left_ankle"][2] + 0.05
    assert rest["left_thumb1"][2] > rest["left_index1"][2]  # thumb forward of the palm
    assert rest["left_eye_smplhf"][2] > rest["head"][2]  # eyes in front of the head joint


def test_beat2_take_stands_on_the_floor(data_dir):
    """BEAT2's trans (about 1.29 m up) puts the default skeleton's feet on y = 0."""
    from motion_tokens.core import rotations as rot
    from motion_tokens.core.kinematics import forward_kinematics

    with np.load(data_dir / "beat2" / "2_scott_0_1_1.npz") as d:
        poses, trans = d["poses"].astype(np.float64), d["trans"].astype(np.float64)
    skel = sk.smplx_skeleton()
    _, pos = forward_kinematics(rot.axis_angle_to_quat(poses.reshape(-1, 55, 3)), skel.offsets, skel.parents,
                                skel.offsets[0] + trans)
    idx = SMPLX_JOINT_NAMES.index
    ankle = pos[:, [idx("left_ankle"), idx("right_ankle")], 1].min(axis=1)  # the standing foot
    toe = pos[:, [idx("left_foot"), idx("right_foot")], 1].min(axis=1)
    assert 0.06 < np.median(ankle) < 0.15  # an ankle's height above the sole
    assert 0.0 < np.median(toe) < 0.07  # the ball of the foot just above the floor
    assert toe.min() > -0.03  # never far through it
