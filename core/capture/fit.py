"""MediaPipe landmarks -> SMPL-X motion: the composition of the capture fit.

    landmarks --axes--> SMPL-X axes, un-mirrored --smoothing--> one-euro filtered points
      --body_fit--> body rotations (found frames) --gaps--> body, legs filled / at rest
      --hand_fit--> wrist and finger rotations (found frames) --gaps--> hands filled / at rest
      --> Motion on smplx_skeleton() at the landmarks' fps

The motion's translation is zero in every frame: MediaPipe's world landmarks are centred on
the hips in each frame, so a video gives no path (the root stays at the skeleton's rest pelvis
position; a caller that wants the path on screen must take it from the image landmarks).
The root orientation is the pelvis's (a person facing the camera faces +Z).
Everything runs on all frames at once; no loop over frames except the one-euro recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import rotations as rot
from ..errors import InputFileError, LayoutError
from ..kinematics import global_quats
from ..limits import check_range
from ..motion import Motion
from ..skeleton import NUM_SMPLX_JOINTS, smplx_skeleton
from .axes import SmplxPoints, to_smplx_axes
from .body_fit import fit_body
from .gaps import GapMasks, fill_gaps
from .hand_fit import FIRST_FINGER_JOINT, WRIST_JOINT, finger_locals, hand_global, hand_in_metres
from .landmarks import BODY_POINTS, HAND_POINTS, Landmarks
from .smoothing import one_euro
from .solve import local_from_global

#: The joints each component's found mask governs (the wrists' pose-based rotation rides
#: with the body: it is the hands' rest target).
UPPER_BODY_JOINTS = (0, 3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21)
LEG_JOINTS = {"left": (1, 4, 7, 10), "right": (2, 5, 8, 11)}
COMPONENTS = ("body", "left_leg", "right_leg", "left_hand", "right_hand")


@dataclass(frozen=True)
class FitSettings:
    """How the fit treats noise, gaps and weak evidence (the defaults suit MediaPipe at 25-30 fps).

    smoothing: run the one-euro filter on the landmarks before the fit.
    min_cutoff: Hz, the filter's cutoff for a point at rest (jitter removal).
    beta: s/m, how fast the cutoff rises with a point's speed (lag removal); hands are in
        metres too (scaled to SMPL-X's palm, `hand_fit.hand_in_metres`).
    d_cutoff: Hz, the cutoff of the filter's speed estimate.
    max_gap: s, the longest gap (from the last found frame to the next) filled by slerp; a
        longer gap, or a take's ends, return to rest.
    rest_blend: s, how long the return to rest (and the way back) takes.
    leg_visibility: the mean visibility (0-1) of a leg's knee, ankle and foot index below
        which the leg is not fitted (kept at rest, as a gap).
    hinge_fallback: the sin(bend) at which an elbow's or knee's hinge and the parent's
        carried twist have equal say in the upper limb's twist (see `solve.hinge_twist`).
    horizontal_fov: degrees, the camera's field of view across the image's width, used to
        undo the perspective shear of hands off the image's centre (`axes.unproject_hand`);
        60 suits phone and web cameras (most lie in 55-75).
    """

    smoothing: bool = True
    min_cutoff: float = 1.0
    beta: float = 20.0
    d_cutoff: float = 1.0
    max_gap: float = 0.5
    rest_blend: float = 0.5
    leg_visibility: float = 0.5
    hinge_fallback: float = 0.1
    horizontal_fov: float = 60.0

    def checked(self) -> "FitSettings":
        """self, or OptionError naming the setting out of its range."""
        check_range("min_cutoff", self.min_cutoff, 1e-3, 100.0, " Hz")
        check_range("beta", self.beta, 0.0, 1e4, " s/m")
        check_range("d_cutoff", self.d_cutoff, 1e-3, 100.0, " Hz")
        check_range("max_gap", self.max_gap, 0.0, 60.0, " s")
        check_range("rest_blend", self.rest_blend, 0.0, 60.0, " s")
        check_range("leg_visibility", self.leg_visibility, 0.0, 1.0)
        check_range("hinge_fallback", self.hinge_fallback, 1e-6, 10.0)
        check_range("horizontal_fov", self.horizontal_fov, 1.0, 170.0, " degrees")
        return self


@dataclass(frozen=True)
class CaptureFit:
    """The fitted motion and what it was made from.

    motion: (T, 55) local rotations on `smplx_skeleton()` at the landmarks' fps, trans zero.
    components: per component ('body', 'left_leg', 'right_leg', 'left_hand', 'right_hand')
        its `GapMasks`: found (fitted), filled (slerped across a short gap), rest_weight.
    warnings: what the user should know (components missing, kept at rest), one line each.
    """

    motion: Motion
    components: dict[str, GapMasks]
    warnings: list[str] = field(default_factory=list)

    @property
    def body_found(self) -> np.ndarray:
        return self.components["body"].found

    @property
    def left_found(self) -> np.ndarray:
        return self.components["left_hand"].found

    @property
    def right_found(self) -> np.ndarray:
        return self.components["right_hand"].found


def _check(landmarks: Landmarks) -> int:
    T = landmarks.num_frames
    if T == 0:
        raise InputFileError(landmarks.source, "holds no frames: there is nothing to fit")
    shapes = {"body": (T, BODY_POINTS, 3), "body_visibility": (T, BODY_POINTS), "left_hand": (T, HAND_POINTS, 3),
              "right_hand": (T, HAND_POINTS, 3), "body_found": (T,), "left_found": (T,), "right_found": (T,)}
    for name, shape in shapes.items():
        got = np.shape(getattr(landmarks, name))
        if got != shape:
            raise LayoutError(landmarks.source, f"landmarks {name} are {got}, expected {shape} (MediaPipe Holistic)")
    if not (np.isfinite(landmarks.fps) and landmarks.fps > 0):
        raise LayoutError(landmarks.source, f"frame rate {landmarks.fps!r} is not a positive number")
    return T


def smoothed_points(points: SmplxPoints, fps: float, settings: FitSettings, skeleton) -> SmplxPoints:
    """The landmarks the fit reads: hands relative to their wrists in metres, all of it
    one-euro filtered when `settings.smoothing` (one recursion over the 75 points)."""
    left = hand_in_metres(points.left_hand, points.left_found, skeleton, "left")
    right = hand_in_metres(points.right_hand, points.right_found, skeleton, "right")
    body = np.where(points.body_found[:, None, None], points.body, np.nan)
    if settings.smoothing:
        tracks = one_euro(np.concatenate([body, left, right], axis=1), fps, settings.min_cutoff, settings.beta,
                          settings.d_cutoff)
        body, left, right = np.split(tracks, [BODY_POINTS, BODY_POINTS + HAND_POINTS], axis=1)
    return SmplxPoints(body, points.body_visibility, left, right, points.body_found, points.left_found,
                       points.right_found)


def _fit_body_part(points: SmplxPoints, skeleton, settings, fps, local) -> dict[str, GapMasks]:
    """Fill local[:, :22] from the body landmarks (found frames), gaps filled; the masks."""
    T = local.shape[0]
    found = points.body_found
    body = np.full((T, 22, 4), np.nan)
    legs = np.zeros((T, 2), dtype=bool)
    if found.any():
        fit = fit_body(points.body[found], points.body_visibility[found], skeleton,
                       hinge_fallback=settings.hinge_fallback, leg_threshold=settings.leg_visibility)
        body[found] = fit.local
        legs[found] = fit.leg_visible
    masks = {}
    upper = list(UPPER_BODY_JOINTS)
    local[:, upper], masks["body"] = fill_gaps(body[:, upper], found, fps, settings.max_gap, settings.rest_blend)
    for k, side in enumerate(("left", "right")):
        joints = list(LEG_JOINTS[side])
        local[:, joints], masks[f"{side}_leg"] = fill_gaps(body[:, joints], legs[:, k], fps, settings.max_gap,
                                                           settings.rest_blend)
    return masks


def _fit_hand(points: SmplxPoints, side: str, skeleton, settings, fps, local) -> GapMasks:
    """Fill the wrist's and fingers' local rotations of one hand (the wrist's rest target is
    its rotation from the body's own hand points, already in `local`)."""
    T = local.shape[0]
    wrist, first = WRIST_JOINT[side], FIRST_FINGER_JOINT[side]
    joints = [wrist] + list(range(first, first + 15))
    hand = getattr(points, f"{side}_hand")
    found = getattr(points, f"{side}_found")
    values = np.full((T, 16, 4), np.nan)
    if found.any():
        # The elbow's world rotation from the filled body, so the wrist's local rotation is
        # relative to the arm the motion actually has.
        elbow = global_quats(local[found, :22], skeleton.parents[:22])[:, skeleton.parents[wrist]]
        g_hand = hand_global(hand[found], skeleton, side)
        values[found, 0] = local_from_global(elbow, g_hand)
        values[found, 1:] = finger_locals(hand[found], g_hand, skeleton, side)
    rest = np.broadcast_to(np.array([1.0, 0.0, 0.0, 0.0]), (T, 16, 4)).copy()
    rest[:, 0] = local[:, wrist]
    local[:, joints], masks = fill_gaps(values, found, fps, settings.max_gap, settings.rest_blend, rest=rest)
    return masks


def _note(label: str, masks: GapMasks, what_is_missing: str, at_rest: str, max_gap: float) -> str | None:
    T = masks.found.shape[0]
    missing = int((~masks.found).sum())
    if missing == 0:
        return None
    if missing == T:
        return f"{label} {what_is_missing} in any of {T} frames: {at_rest}"
    filled = int(masks.filled.sum())
    return (f"{label} {what_is_missing} in {missing} of {T} frames: {filled} filled across gaps up to "
            f"{max_gap:g} s, {missing - filled} returned to rest")


def _warnings(masks: dict[str, GapMasks], settings: FitSettings) -> list[str]:
    notes = [
        _note("body", masks["body"], "not found", "the motion is the rest pose", settings.max_gap),
        _note("left leg", masks["left_leg"], f"not visible (visibility below {settings.leg_visibility:g})",
              "kept at rest", settings.max_gap),
        _note("right leg", masks["right_leg"], f"not visible (visibility below {settings.leg_visibility:g})",
              "kept at rest", settings.max_gap),
        _note("left hand", masks["left_hand"], "not found",
              "fingers kept at rest, the wrist turned by the body's own hand points", settings.max_gap),
        _note("right hand", masks["right_hand"], "not found",
              "fingers kept at rest, the wrist turned by the body's own hand points", settings.max_gap),
    ]
    if not masks["body"].found.any():
        notes[1:3] = [None, None]  # no body: the legs' note says nothing more
    return [n for n in notes if n]


def fit_landmarks(landmarks: Landmarks, settings: FitSettings = FitSettings()) -> CaptureFit:
    """Fit SMPL-X motion to one take's MediaPipe Holistic landmarks (module docstring).

    Raises InputFileError (LayoutError) naming `landmarks.source` for landmarks of the wrong
    shapes or no frames, OptionError for settings out of range.
    """
    settings = settings.checked()
    T = _check(landmarks)
    skeleton = smplx_skeleton()
    fps = float(landmarks.fps)
    points = smoothed_points(to_smplx_axes(landmarks, settings.horizontal_fov), fps, settings, skeleton)
    local = np.zeros((T, NUM_SMPLX_JOINTS, 4))
    local[..., 0] = 1.0  # jaw and eyes stay at rest
    with np.errstate(invalid="ignore", divide="ignore"):
        masks = _fit_body_part(points, skeleton, settings, fps, local)
        for side in ("left", "right"):
            masks[f"{side}_hand"] = _fit_hand(points, side, skeleton, settings, fps, local)
    motion = Motion(skeleton, fps, rot.quat_normalize(local), np.zeros((T, 3)),
                    name=str(landmarks.source))
    return CaptureFit(motion=motion, components={k: masks[k] for k in COMPONENTS}, warnings=_warnings(masks, settings))
