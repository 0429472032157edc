"""MediaPipe Holistic landmarks of one take: what the video reader and the `.pose` reader
return and what the fit reads.

Axes are MediaPipe's camera axes for every component: x to the right of the image, y down,
z away from the camera. Nothing here is converted to SMPL-X axes; the fit does that, in one
place (`core.capture.axes`).

- body: (T, 33, 3) pose *world* landmarks in metres (origin near the middle of the hips),
  MediaPipe's 33-point BlazePose order (0 nose ... 11/12 left/right shoulder, 13/14 elbows,
  15/16 wrists, 17-22 hand points, 23/24 hips, 25/26 knees, 27/28 ankles, 29/30 heels,
  31/32 foot index). "left" is the person's left as MediaPipe labels it.
- body_visibility: (T, 33) MediaPipe's visibility in [0, 1].
- left_hand, right_hand: (T, 21, 3) hand landmarks in image pixels with z in the same pixel
  scale as x (MediaPipe gives z normalised like x: multiplied by the image width), the
  21-point MediaPipe hand order (0 wrist, 1-4 thumb CMC MCP IP TIP, 5-8 index MCP PIP DIP TIP,
  9-12 middle, 13-16 ring, 17-20 pinky). Only directions between a hand's points are used.
- body_found, left_found, right_found: (T,) bool; a frame where MediaPipe found nothing holds
  NaN in that component, never an invented value.
- fps: the take's frame rate; image_size: (width, height) pixels; mirrored: whether the
  frames were a mirror image (a selfie camera): the fit un-mirrors; source: the file, for
  messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Points per component, MediaPipe Holistic.
BODY_POINTS = 33
HAND_POINTS = 21


@dataclass(frozen=True)
class Landmarks:
    """One take's landmarks (module docstring for shapes, units and axes)."""

    body: np.ndarray
    body_visibility: np.ndarray
    left_hand: np.ndarray
    right_hand: np.ndarray
    body_found: np.ndarray
    left_found: np.ndarray
    right_found: np.ndarray
    fps: float
    image_size: tuple[int, int]
    source: str
    mirrored: bool = False

    @property
    def num_frames(self) -> int:
        return int(self.body.shape[0])

    @property
    def duration(self) -> float:
        """Seconds: frames / fps."""
        return self.num_frames / float(self.fps)

    def found_summary(self) -> str:
        """'body 58/58, left hand 0/58, right hand 20/58 frames' (for reports)."""
        T = self.num_frames
        return (f"body {int(self.body_found.sum())}/{T}, left hand {int(self.left_found.sum())}/{T}, "
                f"right hand {int(self.right_found.sum())}/{T} frames")
