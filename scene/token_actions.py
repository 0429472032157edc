"""Actions and their tokens for the token editing operators: the source and sink of Edit by
Tokens (`ActionTokensEditor`), the sink of Import Tokens (`TokensArmatureTarget`), the tokens
Copy Tokens keeps on the scene, and Quantize Action keeping its tokens on the action it makes.

Edit by Tokens writes a copy of the action (scene.compat.copy_object_action: every key,
channel group and ID property, the take data among them) and sets new values on the keys of
the edited part's bones at the frames the edit can change, nothing else: every other key is
the original's bit for bit, whatever the decoder would give there. The original action is
kept (with a fake user when nothing else plays it), as Quantize keeps its source.

On a rig that is not SMPL-X (MetaHuman-compatible, Mixamo, Rigify, a mapped user rig) the
action is read back as SMPL-X through the inverse of its bone map (scene.rig_reading) and the
edit re-keyed through the map (scene.rig's retargeting, per frame): on each frame to re-key,
the read-back pose with the part's joints set to the decoded ones is retargeted onto the rig,
and the keys set are those of the rig bones whose local rotation the part's joints drive
(`driven_bones`); every other key stays the original's bit for bit, as on SMPL-X.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..core.errors import MotionTokensError, SkeletonError
from ..core.inspect.token_timeline import CopiedTokens
from ..core.motion import Motion
from ..core.retarget import retarget
from ..core.steps import Steps
from . import compat
from .actions import pose_quaternions, read_motion, scene_fps, unique_action_name
from .armature import rest_matrices
from .rig_space import rig_space
from .targets import first_keyed_frame, read_as_smplx, read_rig
from .tokens_prop import ActionTokens, encoded_record, read_tokens, store_tokens

#: The scene ID property holding the tokens Copy Tokens copied.
COPIED_KEY = "motion_tokens_copied"


@dataclass
class ActionTokensEditor:
    """The active armature's action as Edit by Tokens' source and sink (pipelines.token_edit);
    bone_map: for a rig that is not SMPL-X, its layout name or map file (None: detect it)."""

    context: object
    bone_map: str | None = None

    def __post_init__(self):
        self.obj = self.context.active_object
        self.action = compat.assigned_action(self.obj) if self.obj is not None else None
        if self.action is None:
            raise SkeletonError("no active armature playing an action: select the armature whose tokens to edit")
        self.record = read_tokens(self.action)
        self.rig = None  # the scene.rig_reading.RigReading of a rig that is not SMPL-X, once read

    @property
    def action_name(self) -> str:
        return self.action.name

    def read_motion(self, skeleton):
        """The motion the action plays (scene rate, frame 0 on its first key), a rig's read back
        through its bone map; MotionTokensError when its keys no longer start where its tokens
        do (moved after coding)."""
        if read_as_smplx(self.obj, skeleton):
            motion = read_motion(self.obj, skeleton, self.action, self.context)
            first = first_keyed_frame(self.obj, self.action, skeleton.names)
        else:
            self.rig = read_rig(self.context, self.obj, skeleton, self.bone_map)
            motion, first = self.rig.motion, self.rig.frame_start
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
        if self.rig is None:
            bones = edit.joints
            frames = _rekeyable(_rotation_curves(obj, original, bones), edit.frames, original.name)
            local = edit.rotations[: len(frames)]
        else:
            bones, local, frames = self._rig_rotations(edit)
        previous_slot = obj.animation_data.action_slot if compat.has_slotted_actions() else None
        copy, slot = compat.copy_object_action(obj, original, unique_action_name(f"{original.name} edit"))
        try:
            compat.assign_action(obj, copy, slot)
            rest = rest_matrices(obj, bones)[:, :3, :3]
            _set_rotation_keys(_rotation_curves(obj, copy, bones), frames, pose_quaternions(local, rest))
            store_tokens(copy, edit.record)
        except BaseException:
            compat.assign_action(obj, original, previous_slot)
            bpy.data.actions.remove(copy)
            raise
        warnings = list(self.rig.warnings) if self.rig is not None else []
        if original.users == 0:
            original.use_fake_user = True
            warnings.append(f"the action {original.name!r} that {obj.name!r} played before is kept with a fake user")
        return copy, warnings

    def _rig_rotations(self, edit) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(the rig bones the part drives, their local rotations (n, B, 4) in the armature's own
        space, the scene frames (n,) to key): the read-back pose on each frame with the part's
        joints set to the edit's, retargeted onto the rig through the map it was read with."""
        obj, reading = self.obj, self.rig
        smplx = reading.motion.skeleton
        space = rig_space(obj, smplx, reading.bone_map)
        bones = driven_bones(space, smplx, edit.joints)
        if not bones:
            raise SkeletonError(f"no bone of {obj.name!r} follows the {edit.part}'s joints through the "
                                f"{reading.layout!r} bone map: nothing to re-key")
        frames = np.asarray(edit.frames)
        frames = frames[frames - reading.frame_start < reading.motion.num_frames]
        frames = _rekeyable(_rotation_curves(obj, self.action, bones), frames, self.action.name)
        k = frames - reading.frame_start
        rotations = reading.motion.rotations[k].copy()
        rotations[:, [smplx.index(n) for n in edit.joints]] = edit.rotations[: len(k)]
        pose = Motion(smplx, reading.motion.fps, rotations, reading.motion.trans[k])
        on_rig = space.to_armature(retarget(pose, space.bone_map, space.skeleton).motion)
        return bones, on_rig.rotations[:, [on_rig.skeleton.index(b) for b in bones]], frames


def driven_bones(space, smplx, joints) -> list[str]:
    """The mapped bones of the rig (`space`: scene.rig_space.RigSpace) whose local rotation
    depends on one of the SMPL-X `joints` (names on the skeleton `smplx`). A mapped bone's world
    rotation follows its source joint's, so its local rotation (relative to its nearest mapped
    ancestor, unmapped bones standing still) is made of the SMPL-X local rotations from its
    source joint up to, not including, that ancestor's source (including it when the ancestor
    takes only a fraction of it: the rest falls to the bones below); every ancestor of the
    source when there is no such bone or its source is not above."""
    own, pairs, fractions = space.own, space.bone_map.pairs, space.bone_map.fractions
    parent_of = {n: (smplx.names[p] if p >= 0 else None) for n, p in zip(smplx.names, smplx.parents)}
    wanted, out = set(joints), []
    for b, name in enumerate(own.names):
        if name not in pairs:
            continue
        p = own.parents[b]
        while p >= 0 and own.names[p] not in pairs:
            p = own.parents[p]
        stop = pairs[own.names[p]] if p >= 0 else None
        if stop is not None and fractions.get(own.names[p], 1.0) < 1.0:
            stop = parent_of.get(stop)
        segment, j = [], pairs[name]
        while j is not None and j != stop:
            segment.append(j)
            j = parent_of.get(j)
        if wanted.intersection(segment):
            out.append(name)
    return out


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
