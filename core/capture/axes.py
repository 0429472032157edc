"""MediaPipe camera axes -> SMPL-X axes: the one place the fit converts landmarks.

MediaPipe gives every component in its camera axes: x to the right of the image, y down, z
away from the camera. SMPL-X is Y up, the body facing +Z, the person's left at +X. For a
person facing the camera, the camera looks along SMPL-X's -Z, so the image's right is the
person's left (+X), image down is -Y and "away from the camera" is -Z:

    (x, y, z) -> (x, -y, -z)

a proper rotation (180 degrees about X), the same for the body's world landmarks (metres)
and the hands' pixel landmarks (only their directions are used, and a rotation keeps them).

A mirrored take (a selfie camera: `Landmarks.mirrored`) shows the mirror image of the person,
and MediaPipe labels that mirror image as if it were a real person: what it calls "left" is the
person's right, and the image's x runs the wrong way. Un-mirroring is a reflection x -> -x of
every component (world landmarks x -> -x, hand pixels x -> width - x) together with swapping every
left/right pair (body points 1-6, 7/8, 9/10, 11-22 and 23-32 pairwise; the two hands, with their
found masks). It happens here, before the rotation, so the rest of the fit sees a real view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .landmarks import BODY_POINTS, Landmarks

#: MediaPipe camera axes -> SMPL-X axes for a person facing the camera: row i gives SMPL-X axis i.
MEDIAPIPE_TO_SMPLX = np.diag([1.0, -1.0, -1.0])

# BlazePose's left/right pairs (left first): eyes inner/centre/outer, ears, mouth corners,
# shoulders, elbows, wrists, pinky, index, thumb, hips, knees, ankles, heels, foot index.
_BODY_PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10)) + tuple((i, i + 1) for i in range(11, 33, 2))


def body_mirror_order() -> np.ndarray:
    """(33,) int: for each BlazePose point, the index of its left/right mirror image (the nose
    is its own)."""
    order = np.arange(BODY_POINTS)
    for a, b in _BODY_PAIRS:
        order[a], order[b] = b, a
    return order


@dataclass(frozen=True)
class SmplxPoints:
    """One take's landmarks in SMPL-X axes, un-mirrored.

    body: (T, 33, 3) metres, hip-centred as MediaPipe gives it; body_visibility (T, 33).
    left_hand, right_hand: (T, 21, 3) relative to each wrist, in the hands' pixel scale
        (directions only), the person's own left and right hand.
    body_found, left_found, right_found: (T,) bool, each also False where any of that
        component's points is not finite.
    """

    body: np.ndarray
    body_visibility: np.ndarray
    left_hand: np.ndarray
    right_hand: np.ndarray
    body_found: np.ndarray
    left_found: np.ndarray
    right_found: np.ndarray


def _finite_rows(points: np.ndarray, found) -> np.ndarray:
    return np.asarray(found, dtype=bool) & np.isfinite(points).all(axis=(1, 2))


def unproject_hand(pixels: np.ndarray, image_size, focal_px: float) -> np.ndarray:
    """(T, 21, 3) hand landmarks in pixels (x, y from the image's corner, z the depth from the
    wrist in x's pixel scale) -> (T, 21, 3) the points relative to the wrist in camera axes,
    in the pixel scale of the wrist's depth.

    MediaPipe's x, y are the perspective image of each point while its z is a depth, so a hand
    off the image's centre is sheared: a point d nearer the camera than the wrist shows
    (u - cx) d / f pixels further from the centre. With a pinhole of focal length f (pixels)
    centred on the image, a point at pixel (u, v) and relative depth z lies at
    ((u - cx)(1 + z / f), (v - cy)(1 + z / f), z) times the wrist's depth over f, which undoes it.
    """
    centre = np.array([0.5 * image_size[0], 0.5 * image_size[1]])
    stretch = 1.0 + pixels[..., 2:] / focal_px
    xy = (pixels[..., :2] - centre) * stretch
    rel = np.concatenate([xy, pixels[..., 2:]], axis=-1)
    return rel - rel[:, :1]


def focal_pixels(image_size, horizontal_fov_deg: float) -> float:
    """A pinhole's focal length in pixels for an image `image_size` (width, height) whose
    width spans `horizontal_fov_deg` degrees."""
    return 0.5 * float(image_size[0]) / np.tan(0.5 * np.radians(horizontal_fov_deg))


def to_smplx_axes(landmarks: Landmarks, horizontal_fov_deg: float = 60.0) -> SmplxPoints:
    """`landmarks` (MediaPipe camera axes, maybe mirrored) -> `SmplxPoints` (SMPL-X axes, a
    real view; the hands relative to their wrists, unprojected by a pinhole whose image width
    spans `horizontal_fov_deg`, see `unproject_hand`)."""
    body = np.asarray(landmarks.body, dtype=np.float64)
    vis = np.asarray(landmarks.body_visibility, dtype=np.float64)
    left = np.asarray(landmarks.left_hand, dtype=np.float64)
    right = np.asarray(landmarks.right_hand, dtype=np.float64)
    left_found, right_found = landmarks.left_found, landmarks.right_found
    if landmarks.mirrored:
        flip = np.array([-1.0, 1.0, 1.0])
        shift = np.array([float(landmarks.image_size[0]), 0.0, 0.0])  # pixels: x -> width - x
        order = body_mirror_order()
        body, vis = body[:, order] * flip, vis[:, order]
        left, right = shift + right * flip, shift + left * flip
        left_found, right_found = right_found, left_found
    focal = focal_pixels(landmarks.image_size, horizontal_fov_deg)
    return SmplxPoints(
        body=body @ MEDIAPIPE_TO_SMPLX.T,
        body_visibility=vis,
        left_hand=unproject_hand(left, landmarks.image_size, focal) @ MEDIAPIPE_TO_SMPLX.T,
        right_hand=unproject_hand(right, landmarks.image_size, focal) @ MEDIAPIPE_TO_SMPLX.T,
        body_found=_finite_rows(body, landmarks.body_found),
        left_found=_finite_rows(left, left_found),
        right_found=_finite_rows(right, right_found),
    )
