"""Per-take data kept with an action: the body shape (`betas`), the `gender`, the face
`expressions` per frame and the frame rate they were read at, so that Export writes back what
Import read (and Quantize Action carries it to its new action).

Stored as ID properties of the action (`action["motion_tokens_take"]`), the expressions at the
file's own rate together with that rate and the scene frame they start on; Export resamples
them (linearly, as `Motion.resampled` does) to the frames it reads. Why not F-curves on 100
custom properties: the values stay exactly the file's (no resampling at all when the scene
runs at the file's rate), one property travels with the action (duplicating it, appending it
into another file, retargeting onto a rig keeps it) instead of 100 curves on an object's
custom properties that every armature would need, and the Graph Editor is not flooded with
face curves nobody keys by hand. The cost: moving the action's keys in time does not move
the stored expressions; an export reading frames outside them says so.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..core.motion import Motion, interpolation_weights

#: The ID property of an action that holds its take data.
TAKE_KEY = "motion_tokens_take"


def store_take(action, motion: Motion, frame_start: int) -> None:
    """Keep `motion`'s betas, gender and expressions (at `motion.fps`, from scene frame
    `frame_start` on) on `action`, replacing what it held."""
    data = {"fps": float(motion.fps), "frame_start": int(frame_start)}
    if motion.betas is not None:
        data["betas"] = np.asarray(motion.betas, dtype=np.float32)
    if motion.gender:
        data["gender"] = str(motion.gender)
    if motion.expressions is not None and motion.expressions.size:
        data["expressions"] = np.ascontiguousarray(motion.expressions, dtype=np.float32).ravel()
        data["expression_count"] = int(motion.expressions.shape[1])
    action[TAKE_KEY] = data


def copy_take(source, target) -> None:
    """Give `target` the take data of the action `source` (nothing when it has none)."""
    if TAKE_KEY in source:
        target[TAKE_KEY] = source[TAKE_KEY].to_dict()


def _resampled_rows(values: np.ndarray, fps: float, offset_frames: float, count: int, scene_fps: float):
    """(count, E) rows of `values` (n, E) at `fps`, at the times (offset_frames + k) /
    scene_fps, k = 0..count-1, linearly interpolated; and how many of them fell outside."""
    src = (offset_frames + np.arange(count)) / scene_fps * fps
    outside = int(np.sum((src < -1e-6) | (src > len(values) - 1 + 1e-6)))
    i0, i1, a = interpolation_weights(np.clip(src, 0.0, len(values) - 1), len(values))
    return values[i0] * (1.0 - a[:, None]) + values[i1] * a[:, None], outside


def with_take(motion: Motion, action, first_frame: int, warnings: list[str]) -> Motion:
    """`motion` (read from `action` at the scene's rate, frame 0 on scene frame `first_frame`)
    with the betas, gender and expressions the action keeps, the expressions resampled to
    the motion's frames. What is unknown is left None and said in `warnings`: the whole take
    data for an action Motion Tokens did not make (keyed by hand), the shape or face that the
    imported file lacked, frames read outside the stored expressions (they hold the nearest)."""
    if TAKE_KEY not in action:
        warnings.append(
            f"action {action.name!r} holds no body shape, gender or face expressions (it was not imported "
            "by Motion Tokens, e.g. keyed by hand): betas and expressions are written as zeros, gender neutral"
        )
        return motion
    data = action[TAKE_KEY]
    changes = {"gender": str(data["gender"]) if "gender" in data else None}
    changes["betas"] = np.asarray(data["betas"], dtype=np.float64) if "betas" in data else None
    if "expressions" in data and int(data.get("expression_count", 0)) > 0:
        values = np.asarray(data["expressions"], dtype=np.float64).reshape(-1, int(data["expression_count"]))
        offset = first_frame - int(data["frame_start"])
        changes["expressions"], outside = _resampled_rows(values, float(data["fps"]), offset, motion.num_frames,
                                                          motion.fps)
        if outside:
            warnings.append(f"{outside} frames of action {action.name!r} lie outside the face expressions it "
                            "was imported with; they hold the nearest frame's expressions")
    missing = [what for what, key in (("body shape (betas)", "betas"), ("face expressions", "expressions"))
               if key not in data]
    if missing:
        warnings.append(f"the file action {action.name!r} was imported from had no {' and no '.join(missing)}: "
                        "written as zeros")
    return replace(motion, **changes)
