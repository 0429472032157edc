"""The Inspector's Blender side: where usage is counted (the tokens kept on the active action),
the atlas action (one code a frame on the target armature) and the usage histogram image.

The atlas action is keyed as every motion is (scene.rig.write_to_target_steps: an SMPL-X
armature as it is, any other rig retargeted through its bone map; a new SMPL-X armature when
no target armature is chosen), from frame 1, one frame per code in display order, its keys
CONSTANT so each frame shows one code whole and scrubbing browses the codebook. It keeps:
- its tokens (scene.tokens_prop.store_tokens), at one token per scene frame
  (`token_fps` = the scene's rate, `frame_start` 1), where the codes have tokens: k-means the
  code ids, RQ-VAE "all levels" the token tuples; decoding them (k-means `codec.decode`,
  RQ-VAE core.inspect.codebook.sum_of_codes_features: each tuple in the decoder's steady
  state) gives the poses keyed. An RQ-VAE level alone is no token (the other levels zero), so
  that action keeps no tokens;
- the atlas record `action["motion_tokens_atlas"]` (`read_atlas`): codec, part, level (-1 for
  all levels), sort, where usage was counted, and `codes`, the code id on each frame.

The histogram is a generated image (`bpy.data.images`, `USAGE_IMAGE`) whose pixels are set in
one `foreach_set`, packed so it is saved with the .blend, and whose preview (what the panel
draws with `template_icon`) is set from the same pixels at full size: Blender's own preview
would be a 128-pixel thumbnail, too coarse for a bar per code. The counts and the display
order ride along as ID properties of the image (`USAGE_KEY`).
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from ..core.codecs.coding import codebook_record
from ..core.errors import MotionTokensError
from ..core.parts import get_part
from ..core.steps import Steps
from . import compat
from .actions import scene_fps
from .face import key_expressions
from .rig import write_to_target_steps
from .tokens_prop import ActionTokens, read_tokens, store_tokens

#: The ID property of an atlas action that says which code each frame shows.
ATLAS_KEY = "motion_tokens_atlas"
#: The histogram image's name, and the ID property on it holding its counts and order.
USAGE_IMAGE = "Motion Tokens Usage"
USAGE_KEY = "motion_tokens_usage"
_CONSTANT = 0  # keyframe_points interpolation value


def held_tokens(context, part: str):
    """The `part` tokens the active object's action keeps, as core.inspect.usage.HeldTokens;
    MotionTokensError naming what is missing (no armature, no action, no tokens of the part)."""
    from ..core.inspect.usage import HeldTokens

    obj = context.active_object
    action = compat.assigned_action(obj) if obj is not None else None
    if action is None:
        what = "nothing is active" if obj is None else f"{obj.name!r} plays no action"
        raise MotionTokensError(f"no action to count usage on ({what}): select an armature playing an action made "
                                "or quantized by Motion Tokens, or count usage on the training data")
    record = read_tokens(action)
    if record is None or part not in record.tokens:
        held = "no tokens" if record is None else f"tokens of the {', '.join(record.tokens)} only"
        raise MotionTokensError(f"the action {action.name!r} keeps {held}, none of the {part}: quantize it (Quantize "
                                "Action) or count usage on the training data")
    return HeldTokens(f"the action '{action.name}'", record.codec_names[part], record.codebooks.get(part),
                      record.tokens[part])


def read_atlas(action) -> dict | None:
    """The atlas record of `action` (module docstring) as a dict with `codes` an int64 array;
    None for an action that is no atlas."""
    if action is None or ATLAS_KEY not in action:
        return None
    data = action[ATLAS_KEY].to_dict()
    data["codes"] = np.asarray(data["codes"], dtype=np.int64)
    return data


def _set_constant(action, obj) -> None:
    """Every key of `action` CONSTANT: a frame shows its code whole, never a blend of two."""
    for fcurve in compat.action_fcurves(action, obj):
        points = fcurve.keyframe_points
        points.foreach_set("interpolation", np.full(len(points), _CONSTANT, dtype=np.int32))
        fcurve.update()


@dataclass
class AtlasActionTarget:
    """The atlas action's sink: target as scene.rig's ("NEW" or "ARMATURE" with `armature`),
    `bone_map` a layout name or map file (None: detected from the bone names)."""

    context: object
    target: str
    armature: object = None
    bone_map: str | None = None

    def write_steps(self, view) -> Steps:
        """Steps keying `view`'s codes (a pipelines.inspect.CodebookView) one a frame from frame
        1 onto the target; the TargetResult. An armature made here is removed on any failure
        (write_to_target_steps), the action too when keeping its records fails."""
        fps = scene_fps(self.context.scene)
        motion = view.motion(fps)
        result = yield from write_to_target_steps(self.context, motion, self.target, armature=self.armature,
                                                  bone_map=self.bone_map, frame_start=1,
                                                  action_name=f"{view.label} atlas")
        try:
            self._keep(view, motion, result, fps)
        except BaseException:
            _undo_write(result)
            raise
        return result

    @staticmethod
    def _keep(view, motion, result, fps: float) -> None:
        action, part = result.action, view.codec.part
        expressions = get_part(part).expressions
        if expressions and motion.expressions is not None:  # the face: its coefficients as shape-key drivers
            key_expressions(result.armature, action, motion.expressions[:, :expressions], result.frame_start)
        _set_constant(action, result.armature)
        if view.tokens is not None:
            store_tokens(action, ActionTokens({part: view.tokens}, {part: view.codec.name},
                                              {part: codebook_record(view.codec)}, fps, result.frame_start, fps,
                                              source=f"{view.label} atlas"))
        action[ATLAS_KEY] = {
            "codec": view.codec.name, "part": part, "level": -1 if view.level is None else int(view.level),
            "sort": view.sort, "usage": view.where, "frame_start": int(result.frame_start),
            "codes": np.ascontiguousarray(view.order, dtype=np.int32),
        }


def _undo_write(result) -> None:
    """Remove what write_to_target made: the action, and the armature when it was made."""
    obj = result.armature
    if obj.animation_data is not None and obj.animation_data.action == result.action:
        obj.animation_data.action = None
    bpy.data.actions.remove(result.action)
    if result.created:
        data = obj.data
        bpy.data.objects.remove(obj, do_unlink=True)
        if data is not None and data.users == 0:
            bpy.data.armatures.remove(data)


def store_usage_image(pixels: np.ndarray, counts, order, name: str = USAGE_IMAGE):
    """The image `name` (made, or resized) holding (H, W, 4) RGBA `pixels` (top row first),
    packed, its preview set to the same pixels, `counts` and `order` kept on it; the image."""
    h, w = pixels.shape[:2]
    flat = np.ascontiguousarray(pixels[::-1], dtype=np.float32).ravel()  # Blender's rows run bottom up
    image = bpy.data.images.get(name)
    if image is not None and image.source != "GENERATED" and image.packed_file is None:
        image = None  # a user's image of that name: leave it alone, make ours beside it
    if image is None:
        image = bpy.data.images.new(name, w, h, alpha=True)
    elif tuple(image.size) != (w, h):
        image.scale(w, h)
    image.pixels.foreach_set(flat)
    image.update()
    image.pack()  # a generated image's pixels are otherwise lost on saving the .blend
    preview = image.preview_ensure()
    preview.image_size = (w, h)
    preview.image_pixels_float.foreach_set(flat)
    image[USAGE_KEY] = {"counts": np.asarray(counts, dtype=np.int32), "order": np.asarray(order, dtype=np.int32)}
    return image
