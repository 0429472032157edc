"""Actions and their tokens for the token editing operators: the source and sink of Edit by
Tokens (`ActionTokensEditor`), the sink of Import Tokens (`TokensArmatureTarget`), the tokens
Copy Tokens keeps on the scene, and Quantize Action keeping its tokens on the action it makes.

Edit by Tokens writes a copy of the action (scene.compat.copy_object_action: every key,
channel group and ID property, the take data among them) and sets new values on the keys of
the edited part's bones at the frames the edit can change, nothing else: every other key is
the original's bit for bit, whatever the decoder would give there. The original action is
kept (with a fake user when nothing else plays it), as Quantize keeps its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..core.errors import MotionTokensError, SkeletonError
from ..core.inspect.token_timeline import CopiedTokens
from ..core.steps import Steps
from . import compat
from .actions import pose_quaternions, read_motion, scene_fps, unique_action_name
from .armature import rest_matrices
from .targets import first_keyed_frame
from .tokens_prop import ActionTokens, encoded_record, read_tokens, store_tokens

#: The scene ID property holding the tokens Copy Tokens copied.
COPIED_KEY = "motion_tokens_copied"


@dataclass
class ActionTokensEditor:
    """The active armature's action as Edit by Tokens' source and sink (pipelines.token_edit)."""

    context: object

    def __post_init__(self):
        self.obj = self.context.active_object
        self.action = compat.assigned_action(self.obj) if self.obj is not None else None
        if self.action is None:
            raise SkeletonError("no active armature playing an action: select the armature whose tokens to edit")
        self.record = read_tokens(self.action)

    @property
    def action_name(self) -> str:
        return self.action.name

    def read_motion(self, skeleton):
        """The motion the action plays (scene rate, frame 0 on its first key); MotionTokensError
        when its keys no longer start where its tokens do (moved after coding)."""
        motion = read_motion(self.obj, skeleton, self.action, self.context)
        first = first_keyed_frame(self.obj, self.action, skeleton.names)
        if self.record is not None and first != self.record.frame_start:
            raise MotionTokensError(f"the keys of {self.action.name!r} start on frame {first} but its tokens on frame "
                                    f"{self.record.frame_start}: the keys were moved after coding; move them back")
        return motion

    def write(self, edit) -> tuple[object, list[str]]:
        """Key a pipelines.token_edit.TokenEdit as a copy of the action the armature then
        plays, with the edited tokens kept on it; (the new action, warnings). Checked first
        (SkeletonError, nothing made: a bone not in quaternion mode or without a key on every
        frame to re-key); on any error the copy is removed and the original played again."""
        obj, original = self.obj, self.action
        frames = _rekeyable(_rotation_curves(obj, original, edit.joints), edit.frames, original.name)
        previous_slot = obj.animation_data.action_slot if compat.has_slotted_actions() else None
        copy, slot = compat.copy_object_action(obj, original, unique_action_name(f"{original.name} edit"))
        try:
            compat.assign_action(obj, copy, slot)
            rest = rest_matrices(obj, edit.joints)[:, :3, :3]
            _set_rotation_keys(_rotation_curves(obj, copy, edit.joints), frames,
                               pose_quaternions(edit.rotations[: len(frames)], rest))
            store_tokens(copy, edit.record)
        except BaseException:
            compat.assign_action(obj, original, previous_slot)
            bpy.data.actions.remove(copy)
            raise
        warnings = []
        if original.users == 0:
            original.use_fake_user = True
            warnings.append(f"the action {original.name!r} that {obj.name!r} played before is kept with a fake user")
        return copy, warnings


def _rotation_curves(obj, action, joints) -> list[list]:
    """[[w, x, y, z F-curves] per joint] of the bones' rotation_quaternion in `action`;
    SkeletonError for a bone in another rotation mode or without its four curves."""
    curves = {(fc.data_path, fc.array_index): fc for fc in compat.action_fcurves(action, obj)}
    out = []
    for name in joints:
        pose_bone = obj.pose.bones[name]
        if pose_bone.rotation_mode != "QUATERNION":
            raise SkeletonError(f"bone {name!r} of {obj.name!r} uses rotation mode {pose_bone.rotation_mode}: Edit by "
                                "Tokens re-keys quaternions, as the action was keyed; set it back to Quaternion")
        path = pose_bone.path_from_id("rotation_quaternion")
        four = [curves.get((path, i)) for i in range(4)]
        if any(fc is None for fc in four):
            raise SkeletonError(f"action {action.name!r} has no rotation keys on bone {name!r}")
        out.append(four)
    return out


def _key_frames(fcurve) -> np.ndarray:
    co = np.empty(2 * len(fcurve.keyframe_points), dtype=np.float32)
    fcurve.keyframe_points.foreach_get("co", co)
    return co.reshape(-1, 2)


def _rekeyable(curves: list[list], frames: np.ndarray, action_name: str) -> np.ndarray:
    """`frames` up to the action's last key (an edit's window may reach past it at another
    scene rate); SkeletonError unless every curve has a key on each of them."""
    keyed = _key_frames(curves[0][0])[:, 0]
    frames = np.asarray(frames)
    frames = frames[frames <= keyed[-1]] if len(keyed) else frames[:0]
    for four in curves:
        for fc in four:
            have = _key_frames(fc)[:, 0]
            idx = np.searchsorted(have, frames)
            if len(frames) and (idx.max() >= len(have) or not np.array_equal(have[idx], frames.astype(np.float32))):
                raise SkeletonError(f"action {action_name!r} lacks a key of {fc.data_path} on some of frames "
                                    f"{frames[0]}-{frames[-1]}: Edit by Tokens re-keys actions keyed on every frame")
    return frames


def _set_rotation_keys(curves: list[list], frames: np.ndarray, pose_q: np.ndarray) -> None:
    """Set the keys on `frames` of each joint's curves to pose_q (n, J, 4), signed to continue
    from the key before them (q and -q are one rotation; the F-curves interpolate per channel)."""
    if not len(frames):
        return
    rows = [_key_frames(fc) for four in curves for fc in four]
    idx = np.searchsorted(rows[0][:, 0], frames.astype(np.float32))
    if idx[0] > 0:
        before = np.array([[rows[4 * j + i][idx[0] - 1, 1] for i in range(4)] for j in range(len(curves))])
        pose_q = pose_q * np.where(np.sum(pose_q[0] * before, axis=-1) < 0, -1.0, 1.0)[None, :, None]
    for j, four in enumerate(curves):
        for i, fc in enumerate(four):
            co = rows[4 * j + i]
            co[idx, 1] = pose_q[:, j, i]
            fc.keyframe_points.foreach_set("co", co.ravel())
            fc.update()


@dataclass
class TokensArmatureTarget:
    """Import Tokens' sink: `target` (scene.targets.ImportTarget) keys the decoded motion as a
    new action; the tokens file's tokens, codecs and rates are kept on it (scene.tokens_prop)."""

    target: object

    def __call__(self, motion, tokens_file) -> Steps:
        result = yield from self.target(motion)
        store_tokens(result.action, ActionTokens(
            dict(tokens_file.tokens), dict(tokens_file.codec_names), dict(tokens_file.codebooks),
            float(tokens_file.token_fps), int(result.frame_start), scene_fps(self.target.context.scene),
            source=Path(tokens_file.path).stem, seam_frames=tuple(tokens_file.seam_frames),
            part_token_fps=dict(tokens_file.part_token_fps), num_frames=int(tokens_file.template.num_frames)))
        return result


def kept_tokens_steps(steps: Steps, context) -> Steps:
    """Quantize Action's steps (pipelines.quantize) with the tokens it coded kept on the action
    it made (scene.tokens_prop), so the token timeline and Edit by Tokens can read them."""
    result = yield from steps
    store_tokens(result.write.action, encoded_record(result.coded.encoded, result.write.frame_start,
                                                     scene_fps(context.scene)))
    return result


def store_copied(scene, copied) -> None:
    """Keep Copy Tokens' pipelines.token_edit.CopiedTokens on `scene` (replacing the last)."""
    rows = np.asarray(copied.rows)
    scene[COPIED_KEY] = {"part": copied.part, "codec": copied.codec, "sha256": copied.sha256,
                         "shape": [int(s) for s in rows.shape], "first": int(copied.first), "last": int(copied.last),
                         "action": copied.action, "rows": np.ascontiguousarray(rows, dtype=np.int32).ravel()}


def read_copied(scene):
    """The CopiedTokens Copy Tokens kept on `scene`, or None."""
    if COPIED_KEY not in scene:
        return None
    data = scene[COPIED_KEY].to_dict()
    rows = np.asarray(data["rows"], dtype=np.int64).reshape(tuple(int(s) for s in data["shape"]))
    return CopiedTokens(str(data["part"]), str(data["codec"]), str(data["sha256"]), rows, int(data["first"]),
                        int(data["last"]), str(data.get("action", "")))
