"""The preview render (scene.render): the mannequin's tubes, its rigid skinning against
Blender's own evaluated mesh, and a Workbench strip whose pixels show the pose rendered."""

import bpy
import numpy as np
import pytest
from mathutils import Quaternion
from motion_tokens.core.errors import OutputError
from motion_tokens.core.skeleton import smplx_skeleton
from motion_tokens.scene.armature import create_armature
from motion_tokens.scene.render import add_mannequin, compose_strip, render_strip, tube_geometry


def test_a_tube_has_its_radii_at_its_ends_and_closed_caps():
    ends = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    vertices, faces, segment = tube_geometry(ends, np.array([0.1]), sides=4)
    assert vertices.shape == (8, 3) and (segment == 0).all()
    near, far = vertices[:4], vertices[4:]
    np.testing.assert_allclose(near[:, 2], 0.0, atol=1e-12)
    np.testing.assert_allclose(far[:, 2], 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(near[:, :2], axis=1), 0.1, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(far[:, :2], axis=1), 0.08, atol=1e-12)  # tapered by 0.8
    assert len(faces) == 4 + 2  # four side quads, two caps
    # Every edge of a closed surface is shared by exactly two faces.
    edges = {}
    for face in faces:
        for a, b in zip(face, face[1:] + face[:1]):
            edges[frozenset((a, b))] = edges.get(frozenset((a, b)), 0) + 1
    assert set(edges.values()) == {2}


def test_compose_strip_puts_frames_side_by_side_with_gaps():
    a, b = np.zeros((3, 2, 3), np.float32), np.full((3, 5, 3), 0.5, np.float32)
    strip = compose_strip([a, b], gap=1)
    assert strip.shape == (3, 2 + 1 + 5, 3)
    assert (strip[:, :2] == 0).all() and (strip[:, 2] == 1).all() and (strip[:, 3:] == 0.5).all()


@pytest.fixture
def smplx(empty_scene):
    empty_scene.render.fps, empty_scene.render.fps_base = 30, 1.0
    return create_armature(smplx_skeleton(), "SMPL-X")


def _evaluated_vertices(obj):
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    try:
        co = np.empty(len(mesh.vertices) * 3)
        mesh.vertices.foreach_get("co", co)
    finally:
        evaluated.to_mesh_clear()
    return co.reshape(-1, 3)


def test_the_mannequin_moves_rigidly_with_each_bone(smplx):
    mannequin = add_mannequin(smplx)
    rest = np.array([v.co for v in mannequin.data.vertices])
    groups = [[mannequin.vertex_groups[g.group].name for g in v.groups] for v in mannequin.data.vertices]
    assert all(len(g) == 1 for g in groups)  # one bone per vertex, weight 1
    bone = smplx.pose.bones["left_elbow"]
    bone.rotation_mode = "QUATERNION"
    bone.rotation_quaternion = Quaternion((0.0, 0.0, 1.0), np.pi / 2)
    smplx.pose.bones["head"].rotation_quaternion = Quaternion((1.0, 0.0, 0.0), 0.4)
    bpy.context.view_layer.update()
    posed = _evaluated_vertices(mannequin)
    # Linear blend skinning with one bone: v' = pose_matrix @ rest_matrix^-1 @ v (armature space).
    for name in ("left_elbow", "left_wrist", "left_index3", "head", "spine1"):
        pb = smplx.pose.bones[name]
        m = np.array(pb.matrix) @ np.linalg.inv(np.array(pb.bone.matrix_local))
        mine = np.array([g[0] == name for g in groups])
        assert mine.any(), name
        expected = rest[mine] @ m[:3, :3].T + m[:3, 3]
        np.testing.assert_allclose(posed[mine], expected, atol=1e-5, err_msg=name)
    moved = np.linalg.norm(posed - rest, axis=1) > 1e-4
    left_arm = np.array([g[0].startswith(("left_elbow", "left_wrist", "left_index", "left_middle", "left_ring",
                                          "left_pinky", "left_thumb", "head", "jaw")) for g in groups])
    assert not (moved & ~left_arm).any()  # nothing but the posed bones' children moved


def _read(path):
    image = bpy.data.images.load(str(path))
    w, h = image.size
    px = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(px)
    bpy.data.images.remove(image)
    return px.reshape(h, w, 4)[::-1, :, :3]  # top row first


def test_the_strip_renders_each_frame_of_the_pose(smplx, tmp_path):
    scene = bpy.context.scene
    arm = smplx.pose.bones["left_shoulder"]  # the character's left: +X, the image's right from the front
    arm.rotation_mode = "QUATERNION"
    arm.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
    arm.keyframe_insert("rotation_quaternion", frame=1)
    arm.rotation_quaternion = Quaternion((0.0, 1.0, 0.0), np.radians(75))  # T-pose arm lowered
    arm.keyframe_insert("rotation_quaternion", frame=2)
    path = render_strip(smplx, [1, 2], tmp_path / "strip.png", frame_height=120)
    strip = _read(path)
    h, w = scene.render.resolution_y, scene.render.resolution_x
    assert strip.shape == (h, 2 * w + 4, 3) and h == 120
    first, second = strip[:, :w], strip[:, w + 4 :]
    background = first[0, 0]
    figure = [np.abs(f - background).sum(axis=-1) > 0.05 for f in (first, second)]
    assert 0.03 < figure[0].mean() < 0.6  # a figure, framed, not filling the picture
    cols = np.flatnonzero(figure[0].any(axis=0))
    assert cols.min() > 0 and cols.max() < w - 1  # nothing cut at the sides
    # Only the image's right half (the character's left arm) changes between the two frames.
    changed = figure[0] != figure[1]
    assert changed[:, w // 2 + 2 :].sum() > 20
    assert changed[:, : w // 2 - 2].sum() == 0


def test_a_missing_folder_is_refused_naming_it(smplx, tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        render_strip(smplx, [1], tmp_path / "nowhere" / "strip.png")
