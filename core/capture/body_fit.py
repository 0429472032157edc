"""The body's local rotations (SMPL-X joints 0-21) from BlazePose world landmarks, per frame.

Input: (N, 33, 3) landmarks in SMPL-X axes (metres, `core.capture.axes`), the frames where the
body was found. Every joint is solved analytically from directions between landmarks, never
from their absolute positions (MediaPipe's points are not SMPL-X's joints: its hips sit higher
and wider, its shoulders on the shoulder's surface), all frames at once:

- pelvis (the root orientation): best rotation (Wahba) taking rest X onto the hip line
  (left hip 23 - right hip 24) and rest Y onto the spine's up (mid-hips -> mid-shoulders).
- spine1/2/3: the torso frame T (rest X onto the shoulder line 11 - 12, Y onto the same up)
  relative to the pelvis, R = pelvis^-1 T, shared in equal thirds (R^(1/3) each), so spine3
  turns exactly as the torso does. How a bend divides between the pelvis and the three spine
  joints is not observable from these points.
- collars: at rest (a shrug moves the shoulder points a few centimetres; MediaPipe has no
  point that tells the collar from the spine). The shoulders are aligned by direction, so the
  arms still point the right way.
- neck, head: the head frame H (Wahba over the ear line 7 - 8, mid-ears -> nose 0 and
  mid-ears -> mid-eyes 2/5, rest directions from `HEAD_POINTS`) relative to spine3, shared in
  halves (neck and head each half).
- shoulder: the upper arm along shoulder -> elbow (11 -> 13), twisted about itself so the
  elbow's hinge axis (`ELBOW_HINGE`, measured from BEAT2) lies along the bend's normal
  (upper arm x forearm); the hinge's say is sin(bend), so as the arm straightens the twist
  falls back smoothly to the smallest turn from the torso (`FitSettings.hinge_fallback`).
- elbow: the smallest turn taking the carried forearm onto elbow -> wrist (13 -> 15): the
  remaining bend. The forearm's twist is not observable from the arm's points: the wrist
  (from the hand) takes it.
- wrist (fallback, where the hand is not found): Wahba over the pose's own hand points
  (wrist 15 -> pinky 17, index 19, thumb 21; in practice near the pinky MCP, between the
  index and middle MCPs, and the thumb MCP).
- legs: as the arms, with the knee's hinge along the thigh's X (BEAT2: 0.98-1.0 of the
  knees' swing about X); the thigh starts from the hip line scaled to SMPL-X's hip width,
  since MediaPipe's hips sit wider; ankle: the smallest turn onto ankle -> foot index (27 ->
  31) with the foot's rest direction to the toe tip (`TOE_TIP`); the foot joint at rest.
  Whether a leg is fitted at all is decided by its visibility (`leg_visible`).
- jaw and eyes: at rest.

Returned locals are relative to each joint's parent, (w, x, y, z).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import rotations as rot
from ..skeleton import Skeleton
from .solve import hinge_twist, local_from_global, quat_fraction, swing_onto, unit, weighted_kabsch

# BlazePose point indices.
NOSE, L_EYE, R_EYE, L_EAR, R_EAR = 0, 2, 5, 7, 8
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_PINKY, R_PINKY, L_INDEX, R_INDEX, L_THUMB, R_THUMB = 17, 18, 19, 20, 21, 22
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28
L_FOOT_INDEX, R_FOOT_INDEX = 31, 32
#: The leg points whose visibility decides whether a leg is fitted, per side.
LEG_POINTS = {"left": (L_KNEE, L_ANKLE, L_FOOT_INDEX), "right": (R_KNEE, R_ANKLE, R_FOOT_INDEX)}

#: Face points in the SMPL-X head joint's rest frame (metres from the head joint; the eyes at
#: SMPL-X's eye joints, the rest an anthropometric estimate: ears 2 cm below and 8 cm behind
#: the eyes, the nose tip 4 cm below and 3.5 cm before them). Only the directions between
#: them steer the head.
HEAD_POINTS = {
    NOSE: (0.0, 0.072, 0.108),
    L_EYE: (0.0314, 0.1107, 0.0734), R_EYE: (-0.0314, 0.1107, 0.0734),
    L_EAR: (0.075, 0.091, -0.008), R_EAR: (-0.075, 0.091, -0.008),
}
#: The toe tip (BlazePose's foot index) in the SMPL-X foot joint's rest frame: 6 cm before
#: the ball of the foot and 1 cm below it.
TOE_TIP = (0.0, -0.01, 0.06)
#: Elbow hinge axes in each elbow's rest frame (perpendicular to the rest forearm): the
#: principal axis of the elbows' swing (the rotation with its twist about the forearm taken
#: out) over the 1,906 frames of BEAT2 2_scott_0_1_1, left and mirrored right together: 94% of
#: the swing lies along it, tilted 22 degrees from -Y towards +Z for the left arm. Flexion is
#: a positive turn about it.
ELBOW_HINGE = {"left": (0.0, -0.9242, 0.3818), "right": (0.0, 0.9242, -0.3818)}
#: Knee hinge (both knees): flexion is a positive turn about +X.
KNEE_HINGE = (1.0, 0.0, 0.0)

_SIDES = {
    "left": dict(shoulder=16, elbow=18, wrist=20, hip=1, knee=4, ankle=7, foot=10, index1=25, middle1=28,
                 pinky1=31, thumb2=38, p_shoulder=L_SHOULDER, p_elbow=L_ELBOW, p_wrist=L_WRIST,
                 p_pinky=L_PINKY, p_index=L_INDEX, p_thumb=L_THUMB, p_hip=L_HIP, p_knee=L_KNEE,
                 p_ankle=L_ANKLE, p_foot=L_FOOT_INDEX),
    "right": dict(shoulder=17, elbow=19, wrist=21, hip=2, knee=5, ankle=8, foot=11, index1=40, middle1=43,
                  pinky1=46, thumb2=53, p_shoulder=R_SHOULDER, p_elbow=R_ELBOW, p_wrist=R_WRIST,
                  p_pinky=R_PINKY, p_index=R_INDEX, p_thumb=R_THUMB, p_hip=R_HIP, p_knee=R_KNEE,
                  p_ankle=R_ANKLE, p_foot=R_FOOT_INDEX),
}
_X, _Y = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])


@dataclass(frozen=True)
class BodyFit:
    """The body's rotations for N frames.

    local: (N, 22, 4) local rotations of SMPL-X joints 0-21 (the wrists from the pose's own
        hand points: the fallback for frames without the hand).
    global_: (N, 22, 4) their world rotations.
    leg_visible: (N, 2) bool, left and right: the leg's points were visible enough to fit.
    """

    local: np.ndarray
    global_: np.ndarray
    leg_visible: np.ndarray


def leg_visible(visibility: np.ndarray, threshold: float) -> np.ndarray:
    """(N, 33) visibility -> (N, 2) bool: the mean visibility of each leg's knee, ankle and
    foot index is at least `threshold` (left, right)."""
    return np.stack([visibility[:, list(LEG_POINTS[s])].mean(axis=1) >= threshold for s in ("left", "right")], axis=1)


def _torso(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) pelvis and torso (spine3) world rotations."""
    up = 0.5 * (points[:, L_SHOULDER] + points[:, R_SHOULDER] - points[:, L_HIP] - points[:, R_HIP])
    rest = np.stack([_X, _Y])
    pelvis = weighted_kabsch(rest, np.stack([points[:, L_HIP] - points[:, R_HIP], up], axis=1), (1.0, 1.0))
    torso = weighted_kabsch(rest, np.stack([points[:, L_SHOULDER] - points[:, R_SHOULDER], up], axis=1), (1.0, 1.0))
    return pelvis, torso


def _head(points: np.ndarray) -> np.ndarray:
    """(N, 4) head world rotation from the ears, eyes and nose."""
    hp = {k: np.asarray(v) for k, v in HEAD_POINTS.items()}

    def vectors(p):  # the ear line, mid-ears -> nose, mid-ears -> mid-eyes, the eye line
        ears = 0.5 * (p[L_EAR] + p[R_EAR])
        return [p[L_EAR] - p[R_EAR], p[NOSE] - ears, 0.5 * (p[L_EYE] + p[R_EYE]) - ears, p[L_EYE] - p[R_EYE]]

    rest = np.stack(vectors(hp))
    observed = np.stack(vectors({k: points[:, k] for k in hp}), axis=1)
    return weighted_kabsch(rest, observed, (1.0, 1.0, 1.0, 0.5))


def _limb(points, parent_global, rest_bone, hinge, top, mid, end, fallback_weight):
    """(N, 4) world rotations of a two-bone limb's upper and middle joints (shoulder and elbow,
    hip and knee): see the module docstring. top/mid/end: (N, 3) points."""
    upper, lower = mid - top, end - mid
    g_upper = swing_onto(parent_global, rest_bone, upper)
    g_upper = hinge_twist(g_upper, upper, hinge, np.cross(unit(upper), unit(lower)), fallback_weight)
    return g_upper, swing_onto(g_upper, rest_bone, lower)


def _wrist_from_pose(points, side, rest):
    """(N, 4) the wrist's world rotation from the pose's own hand points 15/17/19/21."""
    s = _SIDES[side]
    w = rest[s["wrist"]]
    rest_dirs = np.stack([rest[s["pinky1"]] - w, 0.5 * (rest[s["index1"]] + rest[s["middle1"]]) - w, rest[s["thumb2"]] - w])
    wrist = points[:, s["p_wrist"]]
    observed = np.stack([points[:, s[k]] - wrist for k in ("p_pinky", "p_index", "p_thumb")], axis=1)
    return weighted_kabsch(rest_dirs, observed, (1.0, 1.0, 0.5))


def _hip_joints(points, skeleton: Skeleton):
    """(N, 3) left and right thigh starts: the hip line's midpoint +- half SMPL-X's hip width
    along it (MediaPipe's hips sit wider than the hip joints)."""
    half = 0.5 * np.linalg.norm(skeleton.offsets[1] - skeleton.offsets[2])
    mid = 0.5 * (points[:, L_HIP] + points[:, R_HIP])
    across = unit(points[:, L_HIP] - points[:, R_HIP]) * half
    return mid + across, mid - across


def fit_body(points: np.ndarray, visibility: np.ndarray, skeleton: Skeleton, *, hinge_fallback: float,
             leg_threshold: float) -> BodyFit:
    """The body's rotations for (N, 33, 3) SMPL-X-axis landmarks and (N, 33) visibility."""
    n = points.shape[0]
    rest = skeleton.rest_positions()
    glob = np.zeros((n, 22, 4))
    glob[..., 0] = 1.0
    pelvis, torso = _torso(points)
    third = quat_fraction(local_from_global(pelvis, torso), 1.0 / 3.0)
    glob[:, 0] = pelvis
    glob[:, 3] = rot.quat_multiply(pelvis, third)
    glob[:, 6] = rot.quat_multiply(glob[:, 3], third)
    glob[:, 9] = torso
    half = quat_fraction(local_from_global(torso, _head(points)), 0.5)
    glob[:, 12] = rot.quat_multiply(torso, half)
    glob[:, 15] = rot.quat_multiply(glob[:, 12], half)
    glob[:, 13] = glob[:, 14] = torso  # collars at rest
    hips = dict(zip(("left", "right"), _hip_joints(points, skeleton)))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        s = _SIDES[side]
        glob[:, s["shoulder"]], glob[:, s["elbow"]] = _limb(
            points, torso, sign * _X, np.asarray(ELBOW_HINGE[side]), points[:, s["p_shoulder"]],
            points[:, s["p_elbow"]], points[:, s["p_wrist"]], hinge_fallback)
        glob[:, s["wrist"]] = _wrist_from_pose(points, side, rest)
        glob[:, s["hip"]], glob[:, s["knee"]] = _limb(
            points, pelvis, -_Y, np.asarray(KNEE_HINGE), hips[side], points[:, s["p_knee"]],
            points[:, s["p_ankle"]], hinge_fallback)
        toe_rest = skeleton.offsets[s["foot"]] + np.asarray(TOE_TIP)
        glob[:, s["ankle"]] = swing_onto(glob[:, s["knee"]], toe_rest, points[:, s["p_foot"]] - points[:, s["p_ankle"]])
        glob[:, s["foot"]] = glob[:, s["ankle"]]
    parents = np.asarray(skeleton.parents[:22])
    local = glob.copy()
    local[:, 1:] = local_from_global(glob[:, parents[1:]], glob[:, 1:])
    return BodyFit(local=rot.quat_normalize(local), global_=glob, leg_visible=leg_visible(visibility, leg_threshold))
