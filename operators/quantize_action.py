"""Quantize Action: re-encode the active armature's action through the chosen codecs and key
the decoded result as a new action, "what does my animation look like at 6 bits/frame".

An SMPL-X armature's action is coded as it is. Any other rig the extension can map (a
MetaHuman-compatible, Mixamo or Rigify armature, detected from its bone names as Import does,
or a user's rig through the Bone Map) is read back as SMPL-X through the inverse of its bone
map (scene.rig_reading), coded, and the decoded motion retargeted onto the same rig
(scene.rig); the SMPL-X joints it has no bone for are coded at rest, and a warning says which.

The original action is never changed. The new action (named "<action> <codec>", e.g.
"Take kmeans-6", made unique if taken) starts on the original's first keyed frame and is
assigned to the armature so it plays at once; the original stays in the file (with a fake
user when nothing else uses it) and can be assigned again from the Action editor, or the
whole operation undone. Everything is read and coded before the scene changes
(pipelines.quantize): a missing armature, bone, action or codec bundle cancels with the
scene as it was.

The per-part RMSE in the status bar is the root-mean-square distance (cm) between the joint
positions of the original and decoded part, each by forward kinematics of that part alone
(core.codecs.features.part_positions, the figure the bundles' manifests report).
"""

from __future__ import annotations

import bpy
from bpy.props import StringProperty

from ..core.errors import MotionTokensError
from ..panels.properties import codecs_from_settings
from ..pipelines.quantize import QuantizeOptions, quantize_steps
from ..scene.targets import ArmatureTake
from ..scene.token_actions import kept_tokens_steps
from .polls import active_armature_with_action, chosen_bone_map
from .stepped import SteppedJob


class MOTION_TOKENS_OT_quantize_action(SteppedJob, bpy.types.Operator):
    """Re-encode the active armature's action (SMPL-X, or any rig through its bone map) through the chosen codecs and key the decoded motion as a new action"""

    bl_idname = "motion_tokens.quantize_action"
    bl_label = "Quantize Action"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "quantize"

    body_codec: StringProperty(
        name="Body Codec", description="Codec for the body, e.g. kmeans-6 (empty: the Codec panel's choice)",
    )
    hands_codec: StringProperty(
        name="Hands Codec", description="Codec for the hands, e.g. rqvae-9 (empty: the Codec panel's choice)",
    )
    face_codec: StringProperty(
        name="Face Codec", description="Codec for the face, e.g. kmeans-10 (empty: the Codec panel's choice; "
        "left uncoded where no bundle is offered)",
    )
    bone_map_file: StringProperty(
        name="Bone Map", description="For a rig that is not SMPL-X: a layout name (metahuman, mixamo, rigify) or a "
        "bone map file (empty: the Motion Tokens panel's Bone Map, else detected from the bone names)",
    )

    @classmethod
    def poll(cls, context):
        return active_armature_with_action(cls, context)

    def quantize_options(self, context) -> QuantizeOptions:
        """The codecs given to the operator, or the Codec panel's choice for those left empty;
        MotionTokensError when a part has neither."""
        settings = getattr(context.scene, "motion_tokens", None)
        chosen = codecs_from_settings(settings.codec) if settings is not None else {}
        given = {"body": self.body_codec.strip(), "hands": self.hands_codec.strip()}
        codecs = {part: given[part] or chosen.get(part, "") for part in given}
        face = self.face_codec.strip() or chosen.get("face", "")
        if face:  # the face is optional: a motion without expressions is still quantized
            codecs["face"] = face
        missing = [part for part, name in codecs.items() if not name]
        if missing:
            raise MotionTokensError(
                f"no codec chosen for the {' and '.join(missing)}: pick one in the Codec panel (only bundled "
                "codecs are offered)"
            )
        folder = settings.smplx_model_folder if settings is not None else ""
        return QuantizeOptions(codecs, bpy.path.abspath(folder) if folder else None)

    def job_steps(self, context):
        """The quantizing's steps (pipelines.quantize.quantize_steps) for these settings, the
        tokens kept on the new action (the token timeline and Edit by Tokens read them);
        MotionTokensError when a part has no codec."""
        steps = quantize_steps(self.quantize_options(context), ArmatureTake(context, chosen_bone_map(self, context)))
        return kept_tokens_steps(steps, context)


CLASSES = (MOTION_TOKENS_OT_quantize_action,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
