"""MediaPipe Holistic on one frame, and the second MediaPipe process of `core.capture.video`.

This file imports nothing of the package (only cv2, mediapipe and numpy, lazily), so that the
second process can run it by its path (`runpy.run_path`) rather than import it by its module
name: inside Blender the package is `bl_ext.<repo>.motion_tokens`, a name a freshly spawned
Python cannot import. `core.capture.video` imports the same functions the ordinary way, so
both processes turn MediaPipe's results into arrays with one piece of code.

Shapes, units and axes are those of `core.capture.landmarks`: per frame body (33, 3) pose
world landmarks in metres and body visibility (33,), left and right hand (21, 3) in image
pixels (x times the width, y times the height, z times the width), MediaPipe camera axes.
A component MediaPipe did not find is NaN (visibility 0) and its flag False.
"""

from __future__ import annotations

import numpy as np

#: The run name the second process executes this file under (see the end of the file).
WORKER_RUN_NAME = "__motion_tokens_video_worker__"

BODY_POINTS = 33
HAND_POINTS = 21


def new_holistic():
    """A MediaPipe Holistic tracker for a video (frames in order). model_complexity=1 is the
    model that ships in the mediapipe wheel: 0 and 2 are downloaded on first use, which fails
    offline (and inside Blender's sandboxed installs)."""
    import mediapipe as mp

    return mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1)


def open_video(path: str):
    """cv2.VideoCapture of `path` with the container's rotation applied (a phone's portrait
    video is stored landscape with a rotation flag: MediaPipe needs the person upright)."""
    import cv2

    capture = cv2.VideoCapture(path)
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    return capture


def _points(landmark_list, scale) -> np.ndarray:
    return np.array([(p.x, p.y, p.z) for p in landmark_list.landmark], dtype=np.float64) * scale


def process_frame(holistic, bgr: np.ndarray) -> tuple:
    """One BGR frame (OpenCV's order; MediaPipe wants RGB) through `holistic` ->
    (body, body_visibility, left_hand, right_hand, found) with found = (body, left, right) flags."""
    import cv2

    height, width = bgr.shape[:2]
    results = holistic.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    world = results.pose_world_landmarks
    if world is None:
        body = np.full((BODY_POINTS, 3), np.nan)
        visibility = np.zeros(BODY_POINTS)
    else:
        body = _points(world, 1.0)
        visibility = np.array([p.visibility for p in world.landmark], dtype=np.float64)
    # Hands come normalised by the image: x, z by the width, y by the height.
    pixels = np.array([width, height, width], dtype=np.float64)
    hands = []
    for hand in (results.left_hand_landmarks, results.right_hand_landmarks):
        hands.append(np.full((HAND_POINTS, 3), np.nan) if hand is None else _points(hand, pixels))
    found = (world is not None, results.left_hand_landmarks is not None, results.right_hand_landmarks is not None)
    return body, visibility, hands[0], hands[1], found


def run_second_part(path: str, start: int, warmup: int, results) -> None:
    """The second process: MediaPipe on the frames of `path` from `start` to its end, each put
    on `results` as ("frame", arrays) in order, then ("end", count); ("error", message) on failure.

    The frames before `start` are decoded and dropped (grab: exact, where seeking by frame
    number is not in every container), and the `warmup` frames just before it also go through
    MediaPipe with their results dropped, so that its tracking and smoothing have settled on
    the person by `start` much as one tracker through the whole video would have.
    """
    import multiprocessing

    parent = multiprocessing.parent_process()
    capture = None
    try:
        holistic = new_holistic()
        capture = open_video(path)
        first = max(0, start - warmup)
        for _ in range(first):
            if not capture.grab():
                results.put(("end", 0))
                return
        count = 0
        index = first
        while True:
            if parent is not None and not parent.is_alive():
                return  # the reader's process is gone (killed): nobody reads these
            ok, frame = capture.read()
            if not ok:
                break
            arrays = process_frame(holistic, frame)
            if index >= start:
                results.put(("frame", arrays))
                count += 1
            index += 1
        results.put(("end", count))
    except Exception as error:  # handed to the reader, which raises it naming the file
        results.put(("error", f"{type(error).__name__}: {error}"))
    finally:
        if capture is not None:
            capture.release()


if __name__ == WORKER_RUN_NAME:
    # Run by runpy.run_path in the spawned process, with `worker_args` given as init_globals.
    run_second_part(**worker_args)  # noqa: F821 (given by the caller)
