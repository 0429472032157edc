"""How closely a capture fit follows its landmarks: per-joint position and bone-direction errors.

Forward kinematics of the fitted motion is compared with the landmarks it was fitted to, in
SMPL-X axes (`core.capture.axes`), on the frames each component was found in:

- body: MediaPipe's shoulders, elbows, wrists, knees and ankles against SMPL-X's joints, each
  frame centred on the mean of its points (a leg's only where the leg was fitted; world
  landmarks are hip-centred, and MediaPipe's hips are not SMPL-X's) and the landmarks scaled by one least-squares factor for the whole take;
  directions of the upper arms, forearms, shins and the shoulder line (not the thighs:
  MediaPipe's hips are not SMPL-X's hip joints).
- each hand: the 21 points (wrist, finger joints, tips beyond the third segments) relative to
  the wrist, the landmarks scaled per frame (a hand's pixel size changes with its distance);
  per finger, the mean over its four points and its three bones.

Positions are in centimetres of the fitted skeleton, directions in degrees. This measures how
well the fit follows its input (including what smoothing and the model cannot follow), not
its truth: that needs a known motion (tests/capture_synthetic.py).
"""

from __future__ import annotations

import numpy as np

from .. import rotations as rot
from ..kinematics import forward_kinematics_quats
from .axes import to_smplx_axes
from .fit import CaptureFit, FitSettings
from .hand_fit import FINGER_POINTS, FINGERS, WRIST_JOINT, finger_joints
from .landmarks import Landmarks

# (name, MediaPipe point, SMPL-X joint)
_BODY_POINTS = (("left_shoulder", 11, 16), ("right_shoulder", 12, 17), ("left_elbow", 13, 18),
                ("right_elbow", 14, 19), ("left_wrist", 15, 20), ("right_wrist", 16, 21), ("left_knee", 25, 4),
                ("right_knee", 26, 5), ("left_ankle", 27, 7), ("right_ankle", 28, 8))
_BODY_BONES = (("left_upper_arm", 11, 13), ("left_forearm", 13, 15), ("right_upper_arm", 12, 14),
               ("right_forearm", 14, 16), ("left_shin", 25, 27), ("right_shin", 26, 28),
               ("shoulder_line", 12, 11))
_LEG_NAMES = {"left_knee": "left_leg", "left_ankle": "left_leg", "right_knee": "right_leg",
              "right_ankle": "right_leg", "right_shin": "right_leg", "left_shin": "left_leg"}


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = np.einsum("...i,...i->...", a, b) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _mean(values: np.ndarray, mask: np.ndarray) -> float | None:
    return float(values[mask].mean()) if mask.any() else None


def _body_errors(points: np.ndarray, fk: np.ndarray, masks) -> dict:
    found = masks["body"].found
    mp = points[found][:, [p for _, p, _ in _BODY_POINTS]]
    sk = fk[found][:, [j for _, _, j in _BODY_POINTS]]
    frames = int(found.sum())
    out = {"frames": frames, "position_cm": {}, "direction_deg": {}}
    if frames:
        # A leg's points count only where the leg was fitted: MediaPipe guesses an unseen leg,
        # the fit keeps it at rest, and either would move the centre the arms are measured from.
        used = np.stack([np.ones(frames, dtype=bool) if _LEG_NAMES.get(name) is None
                         else masks[_LEG_NAMES[name]].found[found] for name, _, _ in _BODY_POINTS], axis=1)
        w = used[..., None].astype(np.float64)  # (n, 10, 1)
        mp = mp - np.sum(w * mp, axis=1, keepdims=True) / np.sum(w, axis=1, keepdims=True)
        sk = sk - np.sum(w * sk, axis=1, keepdims=True) / np.sum(w, axis=1, keepdims=True)
        scale = float(np.sum(w * mp * sk) / max(np.sum(w * mp * mp), 1e-12))
        err = np.linalg.norm(scale * mp - sk, axis=-1) * 100.0  # (n, 10)
        for k, (name, _, _) in enumerate(_BODY_POINTS):
            out["position_cm"][name] = _mean(err[:, k], used[:, k])
        joint_of = {p: j for _, p, j in _BODY_POINTS}
        for name, a, b in _BODY_BONES:
            ja, jb = joint_of[a], joint_of[b]
            ang = _angle_deg(points[found][:, b] - points[found][:, a], fk[found][:, jb] - fk[found][:, ja])
            leg = _LEG_NAMES.get(name)
            use = np.ones(frames, dtype=bool) if leg is None else masks[leg].found[found]
            out["direction_deg"][name] = _mean(ang, use)
    return _with_means(out)


def _hand_fk_points(glob: np.ndarray, pos: np.ndarray, offsets: np.ndarray, side: str) -> np.ndarray:
    """(T, 21, 3) the fitted skeleton at MediaPipe's 21 hand points."""
    out = np.empty(pos.shape[:1] + (21, 3))
    out[:, 0] = pos[:, WRIST_JOINT[side]]
    for finger in FINGERS:
        ids, joints = FINGER_POINTS[finger], finger_joints(side, finger)
        out[:, list(ids[:3])] = pos[:, list(joints)]
        out[:, ids[3]] = pos[:, joints[2]] + rot.quat_apply(glob[:, joints[2]], offsets[joints[2]])
    return out


def _hand_errors(points: np.ndarray, fk: np.ndarray, found: np.ndarray) -> dict:
    frames = int(found.sum())
    out = {"frames": frames, "position_cm": {}, "direction_deg": {}}
    if frames:
        mp = points[found] - points[found][:, :1]
        sk = fk[found] - fk[found][:, :1]
        scale = np.sum(mp * sk, axis=(1, 2)) / np.maximum(np.sum(mp * mp, axis=(1, 2)), 1e-12)
        err = np.linalg.norm(scale[:, None, None] * mp - sk, axis=-1) * 100.0
        for finger in FINGERS:
            ids = list(FINGER_POINTS[finger])
            out["position_cm"][finger] = float(err[:, ids].mean())
            bones = [_angle_deg(mp[:, b] - mp[:, a], sk[:, b] - sk[:, a]) for a, b in zip(ids[:-1], ids[1:])]
            out["direction_deg"][finger] = float(np.mean(bones))
    return _with_means(out)


def _with_means(out: dict) -> dict:
    for key in ("position_cm", "direction_deg"):
        values = [v for v in out[key].values() if v is not None]
        out[f"mean_{key}"] = float(np.mean(values)) if values else None
    return out


def fit_errors(fit: CaptureFit, landmarks: Landmarks, settings: FitSettings = FitSettings()) -> dict:
    """{'body': ..., 'left_hand': ..., 'right_hand': ...}, each {'frames': n, 'position_cm':
    {point: cm}, 'direction_deg': {bone or finger: degrees}, 'mean_position_cm',
    'mean_direction_deg'} (None where nothing was found); see the module docstring.
    `settings` must be those of the fit (its field of view unprojects the hands)."""
    points = to_smplx_axes(landmarks, settings.horizontal_fov)
    skeleton = fit.motion.skeleton
    glob, pos = forward_kinematics_quats(fit.motion.rotations, skeleton.offsets, skeleton.parents,
                                         fit.motion.root_positions())
    result = {"body": _body_errors(points.body, pos, fit.components)}
    for side in ("left", "right"):
        fk = _hand_fk_points(glob, pos, skeleton.offsets, side)
        result[f"{side}_hand"] = _hand_errors(getattr(points, f"{side}_hand"), fk, fit.components[f"{side}_hand"].found)
    return result
