"""MediaPipe camera axes -> SMPL-X axes, un-mirroring and the hands' unprojection (core.capture.axes)."""

import numpy as np
from capture_synthetic import PAIRS, _project
from motion_tokens.core.capture.axes import (
    MEDIAPIPE_TO_SMPLX,
    body_mirror_order,
    focal_pixels,
    to_smplx_axes,
    unproject_hand,
)
from motion_tokens.core.capture.landmarks import Landmarks


def _landmarks(body, left=None, right=None, mirrored=False, size=(640, 480)):
    T = body.shape[0]
    left = np.zeros((T, 21, 3)) if left is None else left
    right = np.zeros((T, 21, 3)) if right is None else right
    ones = np.ones(T, dtype=bool)
    return Landmarks(body=body, body_visibility=np.ones((T, 33)), left_hand=left, right_hand=right, body_found=ones,
                     left_found=ones, right_found=ones.copy(), fps=30.0, image_size=size, source="test", mirrored=mirrored)


def test_camera_axes_to_smplx_by_hand():
    # A person facing the camera holds the left wrist up and out, towards the camera: in the
    # image that is to the right (+x), up (-y) and nearer (-z); in SMPL-X left (+X), up (+Y), front (+Z).
    body = np.zeros((1, 33, 3))
    body[0, 15] = (0.5, -0.3, -0.2)
    got = to_smplx_axes(_landmarks(body)).body[0, 15]
    np.testing.assert_allclose(got, (0.5, 0.3, 0.2))
    assert np.isclose(np.linalg.det(MEDIAPIPE_TO_SMPLX), 1.0)  # a rotation, not a reflection


def test_mirror_order_swaps_every_pair_once():
    order = body_mirror_order()
    np.testing.assert_array_equal(order[order], np.arange(33))
    assert order[0] == 0 and order[11] == 12 and order[16] == 15 and order[31] == 32 and order[7] == 8
    for a, b in PAIRS:
        assert order[a] == b


def test_mirrored_take_gives_the_real_view():
    rng = np.random.default_rng(1)
    body = rng.normal(size=(3, 33, 3))
    left, right = rng.uniform(0, 400, size=(3, 21, 3)), rng.uniform(0, 400, size=(3, 21, 3))
    real = to_smplx_axes(_landmarks(body, left, right))
    # What a selfie camera shows of the same person: x reversed, every label swapped.
    order = body_mirror_order()
    flip = np.array([-1.0, 1.0, 1.0])
    mirrored = _landmarks(body[:, order] * flip, np.array([640, 0, 0]) + right * flip,
                          np.array([640, 0, 0]) + left * flip, mirrored=True)
    view = to_smplx_axes(mirrored)
    np.testing.assert_allclose(view.body, real.body, atol=1e-12)
    np.testing.assert_allclose(view.left_hand, real.left_hand, atol=1e-9)
    np.testing.assert_allclose(view.right_hand, real.right_hand, atol=1e-9)


def test_unprojection_undoes_the_perspective_shear():
    # A hand-sized set of points well off the image's centre, seen by a 60-degree pinhole:
    # the unprojected directions are the true ones (in camera axes) up to one scale.
    size = (720, 960)
    f = focal_pixels(size, 60.0)
    assert np.isclose(f, 360 / np.tan(np.radians(30)))
    rng = np.random.default_rng(0)
    world = np.array([0.6, 0.4, 0.0]) + rng.normal(0.0, 0.05, size=(1, 21, 3))  # metres, SMPL-X axes
    camera = np.array([0.0, 0.0, 2.0])
    pixels = _project(world, camera, f, size)
    rel = unproject_hand(pixels, size, f) @ MEDIAPIPE_TO_SMPLX.T
    truth = world - world[:, :1]
    scale = np.sum(rel * truth) / np.sum(rel * rel)
    np.testing.assert_allclose(rel * scale, truth, atol=1e-9)
    # Without the correction the same points are sheared by centimetres.
    naive = (pixels - pixels[:, :1]) @ MEDIAPIPE_TO_SMPLX.T
    naive_scale = np.sum(naive * truth) / np.sum(naive * naive)
    assert np.abs(naive * naive_scale - truth).max() > 0.005


def test_unfound_or_non_finite_frames_are_not_found():
    body = np.zeros((2, 33, 3))
    body[1, 4] = np.nan
    pts = to_smplx_axes(_landmarks(body))
    np.testing.assert_array_equal(pts.body_found, [True, False])
