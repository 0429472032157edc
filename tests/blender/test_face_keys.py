"""scene.face (expression coefficients keyed as armature properties driving shape keys) and
scene.tokens_prop (tokens kept on an action), checked through Blender's own evaluation."""

import bpy
import numpy as np
import pytest
from motion_tokens.core.formats.tokens import Codebook
from motion_tokens.core.motion import Motion
from motion_tokens.core.skeleton import smplx_skeleton
from motion_tokens.scene.actions import write_motion
from motion_tokens.scene.armature import create_armature
from motion_tokens.scene.face import expression_names, key_expressions
from motion_tokens.scene.tokens_prop import ActionTokens, read_tokens, store_tokens


def rest_motion(frames: int) -> Motion:
    skeleton = smplx_skeleton()
    rotations = np.zeros((frames, skeleton.num_joints, 4))
    rotations[..., 0] = 1.0
    return Motion(skeleton, 30.0, rotations, np.zeros((frames, 3)), name="rest")


def mesh_with_keys(parent, names):
    bpy.ops.mesh.primitive_cube_add()
    mesh = bpy.context.active_object
    mesh.shape_key_add(name="Basis")
    for name in names:
        mesh.shape_key_add(name=name)
    mesh.parent = parent
    return mesh


@pytest.fixture
def keyed(scene):
    obj = create_armature(smplx_skeleton())
    write = write_motion(obj, rest_motion(10), frame_start=5)
    return obj, write.action


def test_expressions_are_keyed_and_drive_the_child_mesh(keyed):
    obj, action = keyed
    mesh = mesh_with_keys(obj, ["exp_000", "exp_001", "other"])
    values = np.stack([np.linspace(-2, 2, 10), np.linspace(0.5, 1.5, 10), np.zeros(10)], axis=1)
    other = mesh.data.shape_keys.key_blocks["other"].value  # a new key's value differs between Blender versions
    made = key_expressions(obj, action, values, frame_start=5)
    assert made.added_properties == expression_names(3) == ["exp_000", "exp_001", "exp_002"]
    assert made.meshes == [mesh.name] and len(made.drivers) == 2  # exp_002 has no shape key; "other" is not one
    blocks = mesh.data.shape_keys.key_blocks
    for frame in (5, 9, 14):
        bpy.context.scene.frame_set(frame)
        row = values[frame - 5]
        assert obj["exp_000"] == pytest.approx(row[0], abs=1e-5)
        assert blocks["exp_000"].value == pytest.approx(row[0], abs=1e-5)  # Blender's driver evaluation
        assert blocks["exp_001"].value == pytest.approx(row[1], abs=1e-5)
        assert blocks["other"].value == other  # not an expression key: never driven
    made.remove(obj)
    assert "exp_000" not in obj and not mesh.data.shape_keys.animation_data.drivers


def test_a_shape_key_with_a_driver_of_its_own_is_left_alone(keyed):
    obj, action = keyed
    mesh = mesh_with_keys(obj, ["exp_000"])
    own = mesh.data.shape_keys.driver_add('key_blocks["exp_000"].value')
    own.driver.expression = "0.25"
    made = key_expressions(obj, action, np.ones((10, 1)), frame_start=5)
    assert made.drivers == []
    assert mesh.data.shape_keys.animation_data.drivers[0].driver.expression == "0.25"


def test_tokens_round_trip_on_an_action_and_map_frames_to_token_frames(keyed):
    _, action = keyed
    tokens = {"body": np.arange(10) % 7, "hands": np.arange(20).reshape(10, 2)}
    book = Codebook("a" * 64, "kmeans", {"k": 1024})
    store_tokens(action, ActionTokens(tokens, {"body": "kmeans-10", "hands": "rqvae-10"}, {"body": book}, 30.0,
                                      5, 24.0, "gen-kmeans-10", "b" * 64, 3, "Line A"))
    back = read_tokens(action)
    for part, t in tokens.items():
        np.testing.assert_array_equal(back.tokens[part], t)
    assert back.codec_names == {"body": "kmeans-10", "hands": "rqvae-10"}
    assert back.codebooks == {"body": book} and back.seed == 3 and back.source == "Line A"
    # Scene at 24 fps from frame 5, tokens at 30: frame 9 is 4/24 s in, token 5 (5/30 s); frame 12 is 7/24 s,
    # inside token 8 (8/30-9/30 s), so stop 9; frame 13 is 8/24 s, token 10, past the last (9): clipped.
    assert back.token_range(9, 12) == (5, 9)
    assert back.token_range(9, 13) == (5, 10)
    assert back.token_range(5, 5) == (0, 1)
    assert back.token_range(100, 200) == (10, 10)
    assert read_tokens(bpy.data.actions.new("plain")) is None
