"""Synthetic MediaPipe Holistic landmarks from known SMPL-X motion: the capture fit's truth.

`motion_to_landmarks(motion, ...)` runs forward kinematics and places MediaPipe's points the
way MediaPipe reports them, written here independently of `core.capture`:

- body: the 33 BlazePose points in metres, centred on the middle of *MediaPipe's* hips,
  which sit 3 cm wider and 3 cm higher than SMPL-X's hip joints (in the pelvis frame); the
  shoulders, elbows, wrists, knees and ankles at SMPL-X's joints; the pose's hand points at the
  knuckles (pinky at pinky1, index between index1 and middle1, thumb at thumb2); heels and
  toe tips from the foot; face points at fixed places in the head frame (eyes at SMPL-X's eye
  joints, ears beside and behind them, nose tip in front).
- hands: the 21 points (wrist, thumb CMC/MCP/IP/tip = thumb1/2/3/tip, finger MCP/PIP/DIP/tip =
  *1/*2/*3/tip; a tip beyond *3 by *3's own rest offset) projected by a pinhole camera
  (`fov_deg` wide, 2.5 m in front of the first frame's pelvis, looking along -Z) to pixels, z
  = depth relative to the wrist in x's pixel scale (MediaPipe's z times the image width).
- axes: MediaPipe's camera axes, x right, y down, z away from the camera: (x, y, z)_smplx ->
  (x, -y, -z).
- mirrored: the take as a selfie camera shows it: x -> -x (pixels: width - x) and every
  left/right label swapped, hands included.
- noise: Gaussian, metres on the body and pixels on the hands; missing frames: NaN and found
  False; flat_depth: every z replaced by a constant (a camera-only input with no depth).
"""

from __future__ import annotations

import numpy as np
from motion_tokens.core import rotations as rot
from motion_tokens.core.capture.landmarks import Landmarks
from motion_tokens.core.kinematics import forward_kinematics

# Face points in the head joint's frame (metres).
FACE = {0: (0.0, 0.072, 0.108), 1: (0.017, 0.110, 0.078), 2: (0.0314, 0.1107, 0.0734), 3: (0.046, 0.110, 0.066),
        4: (-0.017, 0.110, 0.078), 5: (-0.0314, 0.1107, 0.0734), 6: (-0.046, 0.110, 0.066),
        7: (0.075, 0.091, -0.008), 8: (-0.075, 0.091, -0.008), 9: (0.024, 0.045, 0.095), 10: (-0.024, 0.045, 0.095)}
HIP_SHIFT = 0.03  # MediaPipe's hips: this much wider (each side) and higher than SMPL-X's
JOINT_POINTS = {11: 16, 12: 17, 13: 18, 14: 19, 15: 20, 16: 21, 25: 4, 26: 5, 27: 7, 28: 8}
PAIRS = ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10)) + tuple((i, i + 1) for i in range(11, 33, 2))
# MediaPipe hand order -> SMPL-X joints (left hand; right = +15); "tip" points beyond a joint.
HAND_JOINTS_LEFT = (20, 37, 38, 39, "t39", 25, 26, 27, "t27", 28, 29, 30, "t30", 34, 35, 36, "t36", 31, 32, 33, "t33")


def _frame_points(glob, pos, joint, offset):
    return pos[:, joint] + np.einsum("tij,j->ti", glob[:, joint], np.asarray(offset, dtype=np.float64))


def body_points_smplx(glob, pos) -> np.ndarray:
    """(T, 33, 3) BlazePose points in SMPL-X axes from FK (T, 55, 3, 3) rotations and positions."""
    T = pos.shape[0]
    p = np.zeros((T, 33, 3))
    for k, off in FACE.items():
        p[:, k] = _frame_points(glob, pos, 15, off)
    for k, j in JOINT_POINTS.items():
        p[:, k] = pos[:, j]
    for side, (pinky, index, middle, thumb2) in ((0, (31, 25, 28, 38)), (1, (46, 40, 43, 53))):
        p[:, 17 + side] = pos[:, pinky]
        p[:, 19 + side] = 0.5 * (pos[:, index] + pos[:, middle])
        p[:, 21 + side] = pos[:, thumb2]
    p[:, 23] = pos[:, 1] + np.einsum("tij,j->ti", glob[:, 0], (HIP_SHIFT, HIP_SHIFT, 0))
    p[:, 24] = pos[:, 2] + np.einsum("tij,j->ti", glob[:, 0], (-HIP_SHIFT, HIP_SHIFT, 0))
    for side, (ankle, foot) in ((0, (7, 10)), (1, (8, 11))):
        p[:, 29 + side] = _frame_points(glob, pos, ankle, (0.0, -0.06, -0.05))
        p[:, 31 + side] = _frame_points(glob, pos, foot, (0.0, -0.01, 0.06))
    return p


def hand_points_smplx(glob, pos, offsets, side: str) -> np.ndarray:
    """(T, 21, 3) the hand's points in SMPL-X axes (metres, world)."""
    shift = 0 if side == "left" else 15
    out = []
    for j in HAND_JOINTS_LEFT:
        if isinstance(j, str):
            k = int(j[1:]) + shift
            out.append(_frame_points(glob, pos, k, offsets[k]))
        else:
            out.append(pos[:, j + shift if j >= 25 else j + shift // 15])
    return np.stack(out, axis=1)


def _project(points, camera, f, size):
    """(T, 21, 3) SMPL-X world points -> pixels (x right, y down) and z relative to the wrist."""
    c = points - camera
    X, Y, Z = c[..., 0], -c[..., 1], -c[..., 2]  # camera looks along -Z: depth = -z
    u = f * X / Z + 0.5 * size[0]
    v = f * Y / Z + 0.5 * size[1]
    zw = Z[:, :1]
    return np.stack([u, v, f * (Z - zw) / zw], axis=-1)


def motion_to_landmarks(motion, *, size=(720, 960), fov_deg=60.0, distance=2.5, mirrored=False, noise_m=0.0,
                        noise_px=0.0, missing_left=None, missing_right=None, missing_body=None, flat_depth=False,
                        seed=0, source="synthetic") -> Landmarks:
    """`Landmarks` (MediaPipe's layout and camera axes) of an SMPL-X `Motion` (module docstring).

    missing_*: (T,) bool frames where that component is not found (the person's own left/right).
    """
    glob, pos = forward_kinematics(motion.rotations, motion.skeleton.offsets, motion.skeleton.parents,
                                   motion.root_positions())
    T = pos.shape[0]
    body = body_points_smplx(glob, pos)
    body = body - 0.5 * (body[:, 23:24] + body[:, 24:25])
    f = 0.5 * size[0] / np.tan(0.5 * np.radians(fov_deg))
    camera = pos[0, 0] + np.array([0.0, 0.3, distance])
    hands = [_project(hand_points_smplx(glob, pos, motion.skeleton.offsets, s), camera, f, size) for s in ("left", "right")]
    body = body * np.array([1.0, -1.0, -1.0])  # SMPL-X -> MediaPipe camera axes
    rng = np.random.default_rng(seed)
    body = body + rng.normal(0.0, noise_m, body.shape) if noise_m else body
    hands = [h + rng.normal(0.0, noise_px, h.shape) if noise_px else h for h in hands]
    if flat_depth:
        body[..., 2] = 0.5
        hands = [np.concatenate([h[..., :2], np.full(h.shape[:-1] + (1,), 250.0)], axis=-1) for h in hands]
    found = [np.ones(T, dtype=bool) if m is None else ~np.asarray(m, dtype=bool) for m in (missing_body, missing_left, missing_right)]
    body = np.where(found[0][:, None, None], body, np.nan)
    hands = [np.where(fm[:, None, None], h, np.nan) for h, fm in zip(hands, found[1:])]
    vis = np.where(found[0][:, None], 1.0, 0.0) * np.ones((T, 33))
    left, right = hands
    left_found, right_found = found[1], found[2]
    if mirrored:
        order = np.arange(33)
        for a, b in PAIRS:
            order[a], order[b] = b, a
        body = body[:, order] * np.array([-1.0, 1.0, 1.0])
        vis = vis[:, order]
        unmirror = np.array([-1.0, 1.0, 1.0])
        shift = np.array([size[0], 0.0, 0.0])
        left, right = shift + right * unmirror, shift + left * unmirror
        left_found, right_found = right_found, left_found
    return Landmarks(body=body, body_visibility=vis, left_hand=left, right_hand=right, body_found=found[0],
                     left_found=left_found, right_found=right_found, fps=motion.fps, image_size=tuple(size),
                     source=source, mirrored=mirrored)


def quat_angle_deg(a, b) -> np.ndarray:
    """(...) degrees between (..., 4) rotations a and b."""
    return np.degrees(rot.quat_angle(rot.quat_multiply(rot.quat_conjugate(a), b)))
