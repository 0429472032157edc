"""MediaPipe Holistic landmarks from a video file, a few frames at a time.

    reader = VideoLandmarkReader(path, mirrored=False, workers=1)
    while reader.read(8):        # MediaPipe on up to 8 more frames; 0 at the end
        ...                      # progress: frames read of reader.num_frames
    landmarks = reader.landmarks()
    reader.close()               # or `with VideoLandmarkReader(...) as reader:`

OpenCV decodes one frame at a time (the video is never held in memory); each BGR frame is
turned to RGB and given to one MediaPipe Holistic tracker (`static_image_mode=False`,
`model_complexity=1`: the model that ships in the wheel; 0 and 2 would be downloaded).

The result is a `core.capture.landmarks.Landmarks`, in MediaPipe's camera axes (x right, y
down, z away from the camera):
- body (T, 33, 3): pose *world* landmarks, metres, origin near the middle of the hips;
  body_visibility (T, 33) in [0, 1] (0 where the body was not found);
- left_hand, right_hand (T, 21, 3): image pixels, x times the width, y times the height, z
  times the width (MediaPipe normalises z like x);
- body_found, left_found, right_found (T,) bool; NaN in a component where it is False;
- fps: the container's frame rate (OpenCV's; 29.92 for the shared signing clip, whose frames
  are 33.4 ms apart); image_size (width, height) of the decoded (rotation-applied) frames;
  mirrored: passed through untouched. The reader never flips pixels: un-mirroring is the
  fit's (`core.capture.axes`), on the landmarks.

A video in which MediaPipe finds nobody is not an error here: its found masks are all False.

Errors (`core.errors`, one line naming the file): MissingFileError for a missing file,
CorruptFileError for an empty file, one OpenCV cannot open, one that yields no frame, and one
whose container gives no usable frame rate (0, unknown, or outside 1-240 fps). Such a video is
refused rather than given an assumed rate: a guessed rate would stretch the motion in time
without a word. Re-encoding with a rate fixes it (`ffmpeg -i in.webm -r 30 out.mp4`).

workers=2: this process runs MediaPipe on the first half of the frames while a second process
(multiprocessing, 'spawn': Blender embeds Python, where fork is unsafe) runs its own Holistic
over the second half, its results passed back in frame order. Tracking restarts only at the
split. The second tracker starts `SPLIT_WARMUP` frames early, results dropped, so that
MediaPipe's smoothing has a history at the seam (on the signing clip the upper body's step
across it is 3.3 cm, 4.5 cm without, 2.1 cm for one tracker). The two halves still differ
from one tracker's by about what restarting MediaPipe anywhere does (wrists 1-3.5 cm apart on
average): the tracker's result depends on where it started, and the warm-up does not change
that. On 2 cores it gains little, since MediaPipe already keeps about 1.3 cores busy: nothing
on the 58-frame clip (starting the process and its models costs about a second), 0.9-1.3x on
232 frames depending on what else runs (bench/results/video.md). It is for more cores and
long videos. Videos shorter than 2 x `MIN_FRAMES_PER_WORKER` frames, or of unknown length,
run in one process. The child runs on `sys.executable` (Blender's own Python inside
Blender). `close()` (also on an exception, or Esc in the pipeline) ends the second process.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import runpy
import sys
from pathlib import Path

import numpy as np

from ..errors import CorruptFileError, InputFileError, MotionTokensError, OptionError, require_file
from ..limits import MAX_FPS, MIN_FPS
from .landmarks import BODY_POINTS, HAND_POINTS, Landmarks
from .video_worker import WORKER_RUN_NAME, new_holistic, open_video, process_frame

#: Frames the second process tracks before its first frame, results dropped.
SPLIT_WARMUP = 8
#: With fewer frames than this per process, workers=2 runs as one: starting a second
#: process and loading its models takes about a second, more than it could save.
MIN_FRAMES_PER_WORKER = 16
#: Seconds between checks that the second process is still alive while waiting on it.
_POLL_SECONDS = 0.5
#: Seconds close() waits for the second process to end after terminating it.
_JOIN_SECONDS = 5.0


def mediapipe_available(import_it: bool = False) -> str | None:
    """None when MediaPipe and OpenCV (video input) can be used here, else why not (one line).

    By default only looks for the packages (a panel draws with this: importing MediaPipe takes
    about a second); `import_it=True` imports them, catching a broken install too.
    """
    import importlib.util
    import platform

    if sys.platform == "darwin":  # OpenCV 4.11's macOS wheels (the extension's cv2) need macOS 13
        major = platform.mac_ver()[0].split(".")[0]
        if major.isdigit() and int(major) < 13:
            return (f"OpenCV 4.11 needs macOS 13 or later (this is macOS {platform.mac_ver()[0]}): video input "
                    "cannot run here (.pose files work without it)")
    for module, package in (("mediapipe", "mediapipe"), ("cv2", "opencv-python-headless")):
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError) as error:
            return f"{package} cannot be found: {error}"
        if spec is None:
            return f"{package} is not installed: video input needs it (.pose files work without it)"
    if import_it:
        try:
            import cv2  # noqa: F401
            import mediapipe

            mediapipe.solutions.holistic.Holistic  # noqa: B018 (an attribute, not a submodule)
        except Exception as error:  # any failure of a broken install: say it, do not crash
            return f"MediaPipe cannot be imported: {type(error).__name__}: {error}"
    return None


def container_fps(path: str, fps) -> float:
    """The container's frame rate `fps` (OpenCV's CAP_PROP_FPS), or CorruptFileError naming
    `path` when it is 0, unknown or outside MIN_FPS..MAX_FPS (module docstring: refused)."""
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        fps = math.nan
    if not math.isfinite(fps) or not MIN_FPS <= fps <= MAX_FPS:
        raise CorruptFileError(path, f"the video gives no usable frame rate (OpenCV reads {fps:g}; "
                                     f"{MIN_FPS:g}-{MAX_FPS:g} fps expected): re-encode it with one, "
                                     "e.g. ffmpeg -i IN -r 30 OUT.mp4")
    return fps


def _start_without_main(process) -> None:
    """Start a 'spawn' `process` without re-running this process's main script in it.

    Spawn normally re-imports the parent's `__main__` in the child (so that functions defined
    there can be unpickled). Our target is runpy.run_path on a file and needs none of it, while
    re-running it would run a user's script (or a Blender `--python` script, importing bpy in
    a plain Python) a second time, or fail as a recursive start for a script without an
    `if __name__ == "__main__"` guard. So the main-module entries are left out of the data
    the child prepares itself from, for this one start.
    """
    from multiprocessing import spawn

    original = spawn.get_preparation_data

    def without_main(name):
        data = original(name)
        data.pop("init_main_from_name", None)
        data.pop("init_main_from_path", None)
        return data

    spawn.get_preparation_data = without_main
    try:
        process.start()
    finally:
        spawn.get_preparation_data = original


class VideoLandmarkReader:
    """MediaPipe Holistic landmarks of a video file, `read(n)` frames at a time (module
    docstring). Opening checks the file and decodes its first frame; MissingFileError,
    CorruptFileError (named file), OptionError for `workers` other than 1 or 2,
    MotionTokensError when MediaPipe is not installed."""

    def __init__(self, path: str | os.PathLike, mirrored: bool = False, workers: int = 1):
        if workers not in (1, 2):
            raise OptionError(f"workers must be 1 or 2, got {workers!r}")
        self.path = require_file(path)
        reason = mediapipe_available(import_it=True)
        if reason is not None:
            raise MotionTokensError(f"{self.path}: {reason}")
        import cv2

        self.mirrored = bool(mirrored)
        self._frames: list[tuple] = []
        self._holistic = None
        self._process = None
        self._results = None
        self._closed = False
        self._pending = None
        self._own_frames = None
        self._capture = open_video(self.path)
        try:
            if not self._capture.isOpened():
                raise CorruptFileError(self.path, "OpenCV cannot open it as a video (not a video, damaged, or in a "
                                                  "codec this OpenCV lacks)")
            self.fps = container_fps(self.path, self._capture.get(cv2.CAP_PROP_FPS))
            count = self._capture.get(cv2.CAP_PROP_FRAME_COUNT)
            # Streams and some containers give -1, 0 or nonsense: 0 means "unknown" to callers.
            self.num_frames = int(count) if math.isfinite(count) and count > 0 else 0
            ok, first = self._capture.read()
            if not ok or first is None:
                raise CorruptFileError(self.path, "OpenCV opens it but decodes no frame from it (empty or damaged)")
            self._pending = first  # read now so that a frameless file fails here, kept for read()
            self.image_size = (int(first.shape[1]), int(first.shape[0]))
            self._holistic = new_holistic()
            # _own_frames: the frames this process runs MediaPipe on; None: all (one worker).
            if workers == 2 and self.num_frames >= 2 * MIN_FRAMES_PER_WORKER:
                self._own_frames = self.num_frames // 2
                self._start_second_process(self._own_frames)
        except BaseException:
            self.close()
            raise

    # -- the second process --------------------------------------------------------------

    def _start_second_process(self, start: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._results = context.Queue()
        # The target is runpy.run_path on the worker's file (video_worker docstring: the
        # package's import name is not importable in a fresh process inside Blender).
        worker_args = {"path": self.path, "start": start, "warmup": SPLIT_WARMUP, "results": self._results}
        # daemon: ended by multiprocessing if this process exits without close().
        self._process = context.Process(
            target=runpy.run_path, args=(str(Path(__file__).with_name("video_worker.py")),),
            kwargs={"init_globals": {"worker_args": worker_args}, "run_name": WORKER_RUN_NAME},
            name=f"MediaPipe on {Path(self.path).name}", daemon=True)
        _start_without_main(self._process)

    def _next_from_second_process(self):
        """The second process's next frame's arrays, or None at its end."""
        if self._results is None:
            return None
        while True:
            try:
                kind, value = self._results.get(timeout=_POLL_SECONDS)
                break
            except queue.Empty:
                if not self._process.is_alive():
                    try:  # it may have put its last message just before ending
                        kind, value = self._results.get(timeout=_POLL_SECONDS)
                        break
                    except queue.Empty:
                        raise InputFileError(self.path, f"the second MediaPipe process ended without a result "
                                                        f"(exit code {self._process.exitcode})") from None
        if kind == "frame":
            return value
        self._stop_second_process()
        if kind == "error":
            raise InputFileError(self.path, f"MediaPipe failed in the second process: {value}")
        return None

    def _stop_second_process(self) -> None:
        process, results = self._process, self._results
        self._process = self._results = None
        if process is not None:
            if process.is_alive():
                process.terminate()
            process.join(_JOIN_SECONDS)
            if process.is_alive():
                process.kill()
                process.join(_JOIN_SECONDS)
        if results is not None:
            # Nothing more is read: do not let the queue's feeder wait on the pipe at exit.
            results.cancel_join_thread()
            results.close()

    # -- reading ------------------------------------------------------------------------

    def _next_own_frame(self):
        """This process's next decoded frame, or None when its part is done."""
        if self._capture is None:
            return None
        if self._own_frames is not None and len(self._frames) >= self._own_frames:
            frame = None
        elif self._pending is not None:
            frame, self._pending = self._pending, None
        else:
            ok, frame = self._capture.read()
            frame = frame if ok else None
        if frame is None:
            self._capture.release()  # its part is done: free the decoder now
            self._capture = None
        return frame

    def read(self, n: int) -> int:
        """Run MediaPipe on up to `n` more frames; how many were read (0 at the end)."""
        if self._closed:
            raise MotionTokensError(f"{self.path}: the video reader is closed")
        done = 0
        while done < n:
            frame = self._next_own_frame()
            if frame is not None:
                arrays = process_frame(self._holistic, frame)
            else:
                arrays = self._next_from_second_process()
                if arrays is None:
                    break
            self._frames.append(arrays)
            done += 1
        return done

    @property
    def frames_read(self) -> int:
        return len(self._frames)

    def landmarks(self) -> Landmarks:
        """The landmarks of every frame read so far (module docstring)."""
        T = len(self._frames)
        if T:
            body, vis, left, right, found = (np.stack(a) for a in zip(*self._frames))
        else:
            body, vis = np.zeros((0, BODY_POINTS, 3)), np.zeros((0, BODY_POINTS))
            left = right = np.zeros((0, HAND_POINTS, 3))
            found = np.zeros((0, 3), dtype=bool)
        found = np.asarray(found, dtype=bool).reshape(T, 3)
        return Landmarks(body=body, body_visibility=vis, left_hand=left, right_hand=right, body_found=found[:, 0],
                         left_found=found[:, 1], right_found=found[:, 2], fps=self.fps,
                         image_size=self.image_size, source=self.path, mirrored=self.mirrored)

    # -- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """End the second process, free the decoder and the trackers; safe to call again."""
        self._closed = True
        self._stop_second_process()
        capture, self._capture = getattr(self, "_capture", None), None
        if capture is not None:
            capture.release()
        holistic, self._holistic = getattr(self, "_holistic", None), None
        if holistic is not None:
            holistic.close()

    def __enter__(self) -> VideoLandmarkReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        # A reader dropped without close() (an error before the pipeline's finally) must not
        # leave its second process running.
        if getattr(self, "_process", None) is not None:
            self.close()
