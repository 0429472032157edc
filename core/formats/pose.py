"""MediaPipe Holistic landmarks from a pose-format `.pose` file, as `core.capture.Landmarks`.

    landmarks = read_pose_landmarks("A.pose")   # Landmarks; InputFileError naming the file

What comes back (`core.capture.landmarks`), MediaPipe's camera axes (x right, y down, z away):
- body (T, 33, 3): the POSE_WORLD_LANDMARKS in metres, origin at the middle of the hips;
  body_visibility (T, 33): their confidence (MediaPipe's visibility, 0 where not found);
- left_hand, right_hand (T, 21, 3): LEFT/RIGHT_HAND_LANDMARKS in the file's image pixels, z in
  x's pixel scale, the wrist at z = 0 (MediaPipe's own convention);
- body_found, left_found, right_found (T,): a frame whose component has zero confidence at
  every point was not found (pose-format's convention); such frames hold NaN;
- fps: the file's; image_size: the header's (width, height): the pixel frame of the hands;
  source: the path; mirrored: False (the caller says whether the camera was a mirror).
Every frame is read, the first included (see "The first frame" below). Only the first person
is read: pose-format's body is (frames, people, points, dims) and Holistic finds one person;
a file with more says so in a note (`warnings`, or the log).

The layout (pose-format's `utils/holistic.py`): components POSE_LANDMARKS (33 BlazePose points),
FACE_LANDMARKS (468, or 478 with the irises; not read here), LEFT_HAND_LANDMARKS and
RIGHT_HAND_LANDMARKS (21 each) and POSE_WORLD_LANDMARKS (33), each "XYZC", in that order in
the files it writes (found here by name). Its `body_points`/`component_points` store every
component as (x * width, y * height, z): the image components' normalised x, y in pixels and
their z as MediaPipe gives it (normalised like x), and the *world* landmarks, which MediaPipe
gives in metres, multiplied by the frame's width and height too, with z left in metres; the
confidence is the visibility (pose) or 1 (face, hands), and 0 with zeros where a component was
not found. Files of another layout are refused, naming what differs (a component missing, a
wrong point count, names out of BlazePose's order, 2-D points).

No POSE_WORLD_LANDMARKS: refused. The image POSE_LANDMARKS do not give metres soundly: x, y
are a perspective image in pixels, and their z is not in x's scale: on the shared signing clip
(MediaPipe 0.10.21) the nose is 445 px (z times the width) in front of the shoulders' middle in
POSE_LANDMARKS but 0.159 m (146 px at that clip's 919 px per metre) in the world landmarks.

Two arrangements of those numbers are read; which one a file is in is told by where its world
hip midpoint lies (MediaPipe puts the world origin there):

1. As pose-format writes them (`video_to_pose`): the hip midpoint at about 0 (within 0.05 m).
   body = world / (width, height, 1), exactly; hands: (x, y, z * width).

2. Shoulder-normalised, as pose-format's `normalize_pose_size` and pose-anonymization's
   `remove_appearance` write them (every shared sign file: `sign/fingerspelling`, the nine
   lexicons): `pose.normalize` moved every point of every component by the shoulders' mean
   middle c and divided it by their mean distance d (pixels), then `(p + 1.25) * width / 2.5`,
   so the header says 500 x 500 and the shoulders sit 200 px apart about (250, 250) (the shared
   files' reference frame has them at x = 150.0 and 350.0) while the world z, metres / d, is
   left at 250 +- 1 (the "depth nearly lost" one sees), and hand z at 250 +- 0.07. Told by
   the hip midpoint's z within 1% of the width from width / 2 and the image shoulders 0.4
   widths apart (within 15%). In shoulder units n = p / (width / 2.5) - 1.25 (shoulders 1
   apart) a world point is (X W0 / d, Y H0 / d, Z / d) up to offsets, with W0 x H0 the frame
   the signer was filmed in, which the file no longer holds. So metres need three numbers the
   file lost; they are taken from the reference frame these files share (below), the same for
   every file:
       body = (n - n_hips) * (F, F / A, F * W0)      F = d / W0 = 0.292, A = H0 / W0 = 0.785,
       hands z = (z - z_wrist) * W0 (file pixels)    W0 = 390 px
   - F: the world hip midpoint (metres 0) sits at n_x = -1.714 in the reference frame, that is
     the shoulders' middle 1.714 shoulder widths right of the frame's left edge; a signer in
     the middle of the frame makes the width 3.427 shoulder widths, F = 1 / 3.427. Check: the
     reference's shoulders come out 0.31 m apart, MediaPipe's own world shoulders on the
     signing clip 0.313 m.
   - A: the reference's world x over image x is 1.023 across the shoulders and 1.020 across
     the hips, its world y over image y 0.802 along the torso (shoulders' middle to hips'
     middle): x carries W0, y carries H0, so H0 / W0 = 0.802 / 1.021. Check: the reference's
     torso comes out 0.43 m, 1.38 shoulder widths; the signing clip's 0.435 m, 1.39.
   - W0: the face mesh is rigid: on the signing clip its z span (z times the width) is 0.738 of
     its x span (median of 58 frames, interquartile 0.726-0.743); the reference face spans
     0.4656 shoulder units in x and 0.000880 in z, so z needs 0.738 * 0.4656 / 0.000880 = 390
     times x's factor. Check: rigid hand bones (the z scale that makes the 20 bones of each
     found hand least variable in length over a file, divided by that estimate's 1.92 over
     the truth on the clip's right hand) give 305-410 px per language (medians), one lexicon
     (sgg) 1300: its depths come out about 3 times too flat.
   Every body landmark but the hands' in these files is the reference frame plus the signer's
   movement since their first frame (pose-anonymization keeps only the hands and POSE 15-22),
   so the body's proportions are the reference's, and its metres are estimates good to a few
   tens of per cent; the fit only takes directions from them. On letter A the shoulders come
   out 0.30-0.31 m apart and the signing upper arm 0.24-0.26 m (292 lexicon files: shoulders
   0.27-0.34 m), but the forearms only 0.09-0.13 m (the clip: 0.21-0.23 m): the reference's
   elbows and wrists are means over moving arms, so forearm directions carry that error. The
   hands are the signer's own (relative to the wrist, pose-format's `correct_wrists` aside).
   A note says the metres are estimates.

The first frame: in each of the 318 shared sign files, frame 0 holds the same values at POSE
points 0-14 and 23-32, at all 478 face points and all 33 world points (to 1e-5); the hands and
POSE 15-22 differ. That is `remove_appearance` (the reference plus zero movement), not a frame
put in front: the body's step from frame 0 to 1 matches the next ones (median over the files,
mean point step in pixels: image points 0-14 2.55 then 2.72, 2.50; right hand 80, 61, 38 as it
rises), so frame 0 is the signer's first pose like every other and is kept.

Errors (`core.errors`, each one line naming the file): MissingFileError (no such file);
CorruptFileError (empty, cut short, bytes after the last frame, a header pose-format cannot
parse, no frames, a frame rate outside 1-240 fps or not finite, a frame size of 0,
non-finite coordinates in a found frame); LayoutError (not MediaPipe Holistic with world
landmarks, or world landmarks in neither arrangement above, or metres that are not a body's).
"""

from __future__ import annotations

import logging
import math
import os
import struct

import numpy as np

from ..capture.landmarks import Landmarks
from ..errors import CorruptFileError, LayoutError, pass_on, require_file
from ..limits import MAX_FPS, MIN_FPS

log = logging.getLogger(__name__)

__all__ = ["read_pose_landmarks", "SHOULDER_FRACTION", "ASPECT", "WIDTH_PX"]

#: Shoulder-normalised files (module docstring, arrangement 2): the shoulders' distance over the
#: original frame width (d / W0), that frame's height over its width (H0 / W0), and its width in
#: pixels (W0), all measured on the reference frame the shared sign files start from.
SHOULDER_FRACTION = 0.292
ASPECT = 0.785
WIDTH_PX = 390.0

BODY_NAMES = (
    "NOSE", "LEFT_EYE_INNER", "LEFT_EYE", "LEFT_EYE_OUTER", "RIGHT_EYE_INNER", "RIGHT_EYE",
    "RIGHT_EYE_OUTER", "LEFT_EAR", "RIGHT_EAR", "MOUTH_LEFT", "MOUTH_RIGHT", "LEFT_SHOULDER",
    "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST", "LEFT_PINKY",
    "RIGHT_PINKY", "LEFT_INDEX", "RIGHT_INDEX", "LEFT_THUMB", "RIGHT_THUMB", "LEFT_HIP",
    "RIGHT_HIP", "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE", "LEFT_HEEL",
    "RIGHT_HEEL", "LEFT_FOOT_INDEX", "RIGHT_FOOT_INDEX",
)
HAND_NAMES = (
    "WRIST", "THUMB_CMC", "THUMB_MCP", "THUMB_IP", "THUMB_TIP", "INDEX_FINGER_MCP",
    "INDEX_FINGER_PIP", "INDEX_FINGER_DIP", "INDEX_FINGER_TIP", "MIDDLE_FINGER_MCP",
    "MIDDLE_FINGER_PIP", "MIDDLE_FINGER_DIP", "MIDDLE_FINGER_TIP", "RING_FINGER_MCP",
    "RING_FINGER_PIP", "RING_FINGER_DIP", "RING_FINGER_TIP", "PINKY_MCP", "PINKY_PIP",
    "PINKY_DIP", "PINKY_TIP",
)
POSE, WORLD, LEFT, RIGHT = "POSE_LANDMARKS", "POSE_WORLD_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"
#: The components read, with the point names MediaPipe Holistic gives them (pose-format's order).
REQUIRED = {POSE: BODY_NAMES, LEFT: HAND_NAMES, RIGHT: HAND_NAMES, WORLD: BODY_NAMES}

_L_SHOULDER, _R_SHOULDER, _L_HIP, _R_HIP = 11, 12, 23, 24
# pose-format's normalize_pose_size: p' = (p + 1.25) * width / 2.5 puts the shoulders (1 apart
# after pose.normalize) 0.4 widths apart and every z near width / 2.
_SHIFT = 1.25
# Where a world hip midpoint may lie and still be MediaPipe's origin (metres) or the
# normalised frame's middle (a fraction of the width); a body's shoulders in metres.
_ORIGIN_TOLERANCE_M = 0.05
_MIDDLE_TOLERANCE = 0.01
_SHOULDER_SPAN_TOLERANCE = 0.15
_SHOULDER_M = (0.1, 1.0)


def read_pose_landmarks(path: str | os.PathLike, warnings: list[str] | None = None) -> Landmarks:
    """The MediaPipe Holistic landmarks in the `.pose` file `path` (module docstring: what each
    array holds, in which units, and how the file's numbers are turned into them). Notes (more
    than one person; estimated metres) go to `warnings`, or the log when it is None. Raises
    MissingFileError, CorruptFileError or LayoutError naming the file and the problem."""
    path = require_file(path)
    with open(path, "rb") as fh:
        buffer = fh.read()
    pose = _parsed_pose(path, buffer)
    header = pose.header
    components = _holistic_components(path, header)
    width, height = int(header.dimensions.width), int(header.dimensions.height)
    fps = _checked_fps(path, pose.body.fps)
    data = np.asarray(pose.body.data.data if np.ma.isMaskedArray(pose.body.data) else pose.body.data)
    confidence = np.asarray(pose.body.confidence)
    frames, people = int(data.shape[0]), int(data.shape[1])
    if frames == 0:
        raise CorruptFileError(path, "the file holds no frames")
    if people == 0:
        raise CorruptFileError(path, "the file holds no person in its frames")
    if width <= 0 or height <= 0:
        raise CorruptFileError(path, f"its header gives a frame size of {width}x{height}: the pixels cannot be placed")
    notes = []
    if people > 1:
        notes.append(f"the file holds {people} people per frame; reading the first")
    # Person 0 only: Holistic tracks one person, and pose-format writes one.
    points = {name: data[:, 0, start:start + count, :3].astype(np.float64) for name, (start, count) in components.items()}
    conf = {name: confidence[:, 0, start:start + count].astype(np.float64) for name, (start, count) in components.items()}
    found = {name: (c > 0).any(axis=1) for name, c in conf.items()}
    for name in REQUIRED:
        bad = ~np.isfinite(points[name][found[name]]).all(axis=(1, 2))
        if bad.any():
            raise CorruptFileError(path, f"{name} has non-finite coordinates in {int(bad.sum())} of the frames it was found in")
    arrangement = _world_arrangement(path, points, found, width, height)
    if arrangement == "pixels":
        body = points[WORLD] / np.array([width, height, 1.0])
        hands = [points[side] * np.array([1.0, 1.0, float(width)]) for side in (LEFT, RIGHT)]
    else:
        unit = width / 2.5
        world = points[WORLD] / unit - _SHIFT
        hips = 0.5 * (world[:, _L_HIP:_L_HIP + 1] + world[:, _R_HIP:_R_HIP + 1])
        body = (world - hips) * np.array([SHOULDER_FRACTION, SHOULDER_FRACTION / ASPECT, SHOULDER_FRACTION * WIDTH_PX])
        hands = [_normalised_hand_pixels(points[side]) for side in (LEFT, RIGHT)]
        notes.append("the landmarks are shoulder-normalised (pose-format normalize_pose_size, as pose-anonymization "
                     "writes them): the frame they were filmed in is lost, so metres and depth are estimates "
                     "(core.formats.pose)")
    _check_body_metres(path, body, found[WORLD], arrangement)
    pass_on(notes, warnings, log, path)
    left, right = hands
    return Landmarks(
        body=np.where(found[WORLD][:, None, None], body, np.nan),
        body_visibility=np.where(found[WORLD][:, None], conf[WORLD], 0.0),
        left_hand=np.where(found[LEFT][:, None, None], left, np.nan),
        right_hand=np.where(found[RIGHT][:, None, None], right, np.nan),
        body_found=found[WORLD], left_found=found[LEFT], right_found=found[RIGHT],
        fps=fps, image_size=(width, height), source=str(path))


def _parsed_pose(path: str, buffer: bytes):
    """pose-format's Pose for the bytes of `path`, or CorruptFileError: a header it cannot
    parse, a body cut short or followed by more bytes."""
    from pose_format import Pose
    from pose_format.pose_header import PoseHeader
    from pose_format.utils.reader import BufferReader

    try:
        reader = BufferReader(buffer)
        header = PoseHeader.read(reader)
        body_start = reader.read_offset
    except Exception as exc:  # pose-format raises struct, Unicode, index and value errors alike
        raise CorruptFileError(path, f"not a readable .pose file: its header cannot be parsed ({_reason(exc)})") from None
    _check_body_size(path, header, buffer, body_start)
    try:
        return Pose.read(buffer)
    except Exception as exc:
        raise CorruptFileError(path, f"not a readable .pose file: pose-format cannot read its frames ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    """'Kind: first line of the message' of a pose-format failure, for a one-line error."""
    kind = "struct.error" if isinstance(exc, struct.error) else type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{kind}: {text}" if text else kind


def _check_body_size(path: str, header, buffer: bytes, start: int) -> None:
    """CorruptFileError where the bytes after the header are not the frames it announces
    (versions 0.1 and 0.2; pose-format itself reads past a cut or ignores extra bytes)."""
    points = sum(len(c.points) for c in header.components)
    dims = header.num_dims() if header.components else 0
    version = round(float(header.version), 3)
    left = len(buffer) - start
    if version == 0.2:
        if left < 10:
            raise CorruptFileError(path, "the file is cut short: it ends inside the frame count")
        _fps, frames, people = struct.unpack_from("<fIH", buffer, start)
        need = frames * people * points * (dims + 1) * 4
        have = left - 10
    elif version == 0.1:
        if left < 6:
            raise CorruptFileError(path, "the file is cut short: it ends inside the frame count")
        _fps, _frames, people = struct.unpack_from("<HHH", buffer, start)
        # Version 0.1 counts its frames from the bytes left (its ushort count overflows).
        frame_bytes = people * points * (dims + 1) * 4
        have = left - 6
        need = have if frame_bytes == 0 else frame_bytes * (have // frame_bytes)
        frames = 0 if frame_bytes == 0 else have // frame_bytes
    else:
        return
    if have < need:
        raise CorruptFileError(path, f"the file is cut short: {frames} frames need {need:,} bytes, it holds {have:,}")
    if have > need:
        raise CorruptFileError(path, f"{have - need:,} bytes follow its last frame ({frames} frames): "
                                     f"the file is damaged or not a .pose file")


def _holistic_components(path: str, header) -> dict[str, tuple[int, int]]:
    """name -> (first point, point count) in the body's points for every component, or
    LayoutError naming every way the file differs from MediaPipe Holistic with world landmarks."""
    spans, start = {}, 0
    for component in header.components:
        spans.setdefault(component.name, (start, len(component.points), component))
        start += len(component.points)
    problems = []
    for name, names in REQUIRED.items():
        if name not in spans:
            problems.append(f"no {name} component")
            continue
        _, count, component = spans[name]
        if count != len(names):
            problems.append(f"{name} has {count} points, MediaPipe Holistic has {len(names)}")
        elif tuple(component.points) != names:
            problems.append(f"{name}'s points are not MediaPipe's in MediaPipe's order")
        if not (component.format.upper().startswith("XYZ") and component.format.upper().endswith("C")):
            problems.append(f"{name} has point format {component.format!r}, x y z and a confidence (XYZC) expected")
    if problems:
        listed = ", ".join(f"{c.name} ({len(c.points)})" for c in header.components) or "none"
        raise LayoutError(path, f"not MediaPipe Holistic landmarks with world landmarks: {'; '.join(problems)} "
                                f"(components: {listed})")
    return {name: spans[name][:2] for name in REQUIRED}


def _checked_fps(path: str, fps) -> float:
    """The file's frame rate, or CorruptFileError where it is not a usable one."""
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        fps = math.nan
    if not math.isfinite(fps) or not MIN_FPS <= fps <= MAX_FPS:
        raise CorruptFileError(path, f"its header gives a frame rate of {fps:g} fps; {MIN_FPS:g}-{MAX_FPS:g} fps expected")
    return fps


def _world_arrangement(path: str, points: dict, found: dict, width: int, height: int) -> str:
    """'pixels' (as pose-format writes MediaPipe's world landmarks) or 'normalised' (pose-format's
    normalize_pose_size), told by the world hip midpoint, or by the hands' wrists where no
    body was found; LayoutError for neither."""
    if found[WORLD].any():
        world = points[WORLD][found[WORLD]]
        hips = np.median(0.5 * (world[:, _L_HIP] + world[:, _R_HIP]), axis=0)
        what = "world hip midpoint"
    else:
        wrists = [points[side][found[side], 0] for side in (LEFT, RIGHT) if found[side].any()]
        if not wrists:
            return "pixels"  # nothing was found: every array is NaN whichever it is
        hips = np.median(np.concatenate(wrists), axis=0)
        what = "hand wrists' median"
    if abs(hips[2]) <= _ORIGIN_TOLERANCE_M and (what != "world hip midpoint" or (
            abs(hips[0]) <= _ORIGIN_TOLERANCE_M * width and abs(hips[1]) <= _ORIGIN_TOLERANCE_M * height)):
        return "pixels"
    if width == height and abs(hips[2] - 0.5 * width) <= _MIDDLE_TOLERANCE * width:
        body = points[POSE][found[POSE]]
        if len(body):
            span = float(np.median(np.linalg.norm(body[:, _L_SHOULDER, :2] - body[:, _R_SHOULDER, :2], axis=-1)))
            if abs(span / (width / 2.5) - 1.0) > _SHOULDER_SPAN_TOLERANCE:
                raise LayoutError(path, f"its z lies at half the width as in shoulder-normalised files, but its shoulders "
                                        f"are {span:.0f} px apart, not {width / 2.5:.0f} (0.4 of the width)")
        return "normalised"
    raise LayoutError(path, f"its {what} is at ({hips[0]:.3g}, {hips[1]:.3g}, {hips[2]:.3g}): neither MediaPipe's "
                            f"origin (world landmarks as pose-format writes them) nor z at half the width "
                            f"(pose-format's normalize_pose_size)")


def _normalised_hand_pixels(hand: np.ndarray) -> np.ndarray:
    """(T, 21, 3) hand points of a shoulder-normalised file -> pixels with z relative to the
    wrist in x's pixel scale: its z was divided by the shoulders' pixel distance but not
    multiplied by the frame width as x was, so it is multiplied by `WIDTH_PX`."""
    z = (hand[..., 2:] - hand[:, :1, 2:]) * WIDTH_PX
    return np.concatenate([hand[..., :2], z], axis=-1)


def _check_body_metres(path: str, body: np.ndarray, found: np.ndarray, arrangement: str) -> None:
    """LayoutError where the world shoulders are not a body's distance apart in metres (world
    landmarks stored without the frame size, or in some other unit)."""
    if not found.any():
        return
    span = float(np.median(np.linalg.norm(body[found, _L_SHOULDER] - body[found, _R_SHOULDER], axis=-1)))
    low, high = _SHOULDER_M
    if not low <= span <= high:
        how = "after dividing x and y by the frame size" if arrangement == "pixels" else "as shoulder-normalised"
        raise LayoutError(path, f"its world shoulders come out {span:.3g} m apart {how} ({low:g}-{high:g} m expected): "
                                f"the world landmarks are not MediaPipe's metres stored as pose-format stores them")
