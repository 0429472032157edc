"""The ranges every numeric option is held to, and the one check each job's Options call.

Why these limits:
- frame rates (`MIN_FPS`..`MAX_FPS`, 1-240 fps): capture and animation rates lie in it
  (24-120 fps; 240 for high-speed capture), and every frame of every joint is held in memory,
  so `--fps 1e6` would ask for gigabytes (6.5 GiB for a Bandai take) before failing;
- resampling (`MAX_UPSAMPLE`): a motion is resampled to at most 10 times its own rate (a rate
  up to the models' 30 fps is always allowed), so the frames made are bounded by the input's;
- frame numbers (`MAX_FRAME`): Blender's own limit on frame numbers (MAXFRAME);
- seeds (0..`MAX_SEED`): what numpy's and torch's generators take.
"""

from __future__ import annotations

import math

from .errors import OptionError

MIN_FPS = 1.0
MAX_FPS = 240.0
#: Resampling makes at most this many times the input's frame rate (above MODEL_FPS).
MAX_UPSAMPLE = 10.0
#: Rates up to this are allowed from any input rate: the rate the models work at.
MODEL_FPS = 30.0
MAX_FRAME = 1_048_574
MAX_SEED = 2**32 - 1


def check_range(option: str, value, low: float, high: float, unit: str = "") -> float:
    """`value` when it is a finite number in [low, high]; else OptionError naming `option`
    (e.g. "fps (--fps)") with the range and the value given."""
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    if not (math.isfinite(number) and low <= number <= high):
        raise OptionError(f"{option} must be a number from {_text(low)} to {_text(high)}{unit}, got {value!r}")
    return value


def _text(x: float) -> str:
    """A bound as a user reads it: 1048574, not 1.04857e+06."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def check_fps(option: str, fps) -> float:
    """A frame rate to make, MIN_FPS..MAX_FPS frames per second (see `check_range`)."""
    return check_range(option, fps, MIN_FPS, MAX_FPS, " frames per second")


def check_frame(option: str, frame) -> int:
    """A frame number, -MAX_FRAME..MAX_FRAME and whole (see `check_range`)."""
    if isinstance(frame, float) and frame.is_integer():
        frame = int(frame)
    if not isinstance(frame, int) or isinstance(frame, bool):
        raise OptionError(f"{option} must be a whole frame number, got {frame!r}")
    return check_range(option, frame, -MAX_FRAME, MAX_FRAME)


def check_seed(option: str, seed) -> int:
    """A random seed, a whole number 0..MAX_SEED (see `check_range`)."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise OptionError(f"{option} must be a whole number, got {seed!r}")
    return check_range(option, seed, 0, MAX_SEED)


def check_resampling(name: str, from_fps: float, to_fps: float) -> None:
    """Refuse (OptionError) resampling the motion `name` from `from_fps` to a rate above
    MAX_FPS, or above MAX_UPSAMPLE times its own rate when that is over MODEL_FPS: the frames
    made stay bounded by the input's."""
    check_fps(f"the frame rate to resample {name or 'the motion'} to", to_fps)
    if to_fps > MODEL_FPS and to_fps > MAX_UPSAMPLE * from_fps:
        raise OptionError(
            f"resampling {name or 'the motion'} from {from_fps:g} to {to_fps:g} fps would make "
            f"{to_fps / from_fps:.0f} frames for each of its own; at most {MAX_UPSAMPLE:g} times its rate "
            f"(or up to {MODEL_FPS:g} fps) is allowed"
        )
