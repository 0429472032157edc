"""Gestures from Sound Strips and New Variation: the selected sound strips (speech) become
keyed body, hand and face motion through motion tokens (pipelines.generate).

Gestures from Sound Strips: every selected sound strip gets a new action on the panel's
Target Armature (a new SMPL-X armature when none is chosen; other rigs are retargeted through
their bone map), from the strip's first frame for as many frames as it shows (scene.sound,
scene.gestures); several strips give one NLA strip each, named after the sound strip. Every
strip's sound is decoded and checked before the scene changes; Esc or an error part-way
removes what was made.

New Variation: the next seed, and the active sound strip's action generated again and put in
place of the old one (its NLA strip, or what the armature plays), keeping the tokens of the
Pin Range (the preview range or the chosen frames) as they were.
"""

from __future__ import annotations

import bpy

from ..core.errors import MotionTokensError
from ..pipelines.generate import GenerateOptions, generate_steps
from ..scene.gestures import StripTarget
from ..scene.rig import TARGET_ARMATURE, TARGET_NEW_SMPLX
from ..scene.sound import selected_sound_strips, strip_speech, strip_timing
from ..scene.tokens_prop import TOKENS_KEY, read_tokens
from .stepped import SteppedJob


def _settings(context):
    return context.scene.motion_tokens


def _target(context) -> tuple[str, object, str | None]:
    """(scene.rig target, armature or None, bone map file or None) from the panel."""
    settings = _settings(context)
    bone_map = bpy.path.abspath(settings.bone_map_file) if settings.bone_map_file else None
    if settings.target_armature is not None:
        return TARGET_ARMATURE, settings.target_armature, bone_map
    return TARGET_NEW_SMPLX, None, None


def _options(context, speeches, pins=(), seed=None) -> GenerateOptions:
    speech = _settings(context).speech
    if speech.generator == "NONE":
        raise MotionTokensError("no generator bundle is installed (models/gen-*): train one with "
                                "`python -m motion_tokens train-generator`")
    return GenerateOptions(tuple(speeches), speech.generator, speech.seed if seed is None else seed,
                           speech.temperature, speech.top_k, tuple(pins))


def _with_warnings(steps, warnings: list[str], done=None):
    """`steps` with `warnings` (the strips' own) put before the job's; `done()` after it
    finished (never when it failed or was cancelled)."""
    result = yield from steps
    result.warnings[:0] = warnings
    if done is not None:
        done()
    return result


def _strip_job(context, strips, replace=None, pins=(), seed=None, done=None):
    """The steps of generating for `strips` into a StripTarget; MotionTokensError before
    anything changes when a strip's sound is missing, unreadable, too short or silent."""
    read = [strip_speech(strip_timing(strip, context.scene)) for strip in strips]
    target, armature, bone_map = _target(context)
    if replace is not None:
        target, armature = TARGET_ARMATURE, _action_armature(context, replace)
    sink = StripTarget(context, [r.timing for r in read], target, armature, bone_map, replace)
    steps = generate_steps(_options(context, [r.speech for r in read], pins, seed), sink)
    return _with_warnings(steps, [w for r in read for w in r.warnings], done)


class MOTION_TOKENS_OT_gestures_from_sound_strips(SteppedJob, bpy.types.Operator):
    """Generate body, hand and face gestures for each selected sound strip, as a new action on the target armature"""

    bl_idname = "motion_tokens.gestures_from_sound_strips"
    bl_label = "Gestures from Sound Strips"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "generate gestures"

    @classmethod
    def poll(cls, context):
        if not selected_sound_strips(context.scene):
            cls.poll_message_set("Select one or more sound strips in the Sequencer")
            return False
        return True

    def job_steps(self, context):
        return _strip_job(context, selected_sound_strips(context.scene))


def _active_sound_strip(context):
    editor = context.scene.sequence_editor
    strip = editor.active_strip if editor is not None else None
    if strip is None or strip.type != "SOUND":
        raise MotionTokensError("no active sound strip: click the sound strip whose gestures to vary")
    return strip


def strip_action(context, strip):
    """The action generated for the sound strip `strip` that an armature plays now (its own
    action or an NLA strip); MotionTokensError when there is none."""
    for obj in context.scene.objects:
        anim = obj.animation_data
        if obj.type != "ARMATURE" or anim is None:
            continue
        used = [anim.action] + [s.action for t in anim.nla_tracks for s in t.strips]
        for action in used:
            record = read_tokens(action) if action is not None and TOKENS_KEY in action else None
            if record is not None and record.source == strip.name:
                return action
    raise MotionTokensError(f"no armature plays gestures made from the strip {strip.name!r}: "
                            "use Gestures from Sound Strips first")


def _action_armature(context, action):
    for obj in context.scene.objects:
        anim = obj.animation_data
        if anim is not None and (anim.action == action or any(s.action == action for t in anim.nla_tracks
                                                               for s in t.strips)):
            return obj
    raise MotionTokensError(f"no armature plays the action {action.name!r}")


def pins_for(context, action) -> list:
    """The Pin Range of the panel as core.generate.Pin over `action`'s tokens ([] for none)."""
    speech, scene = _settings(context).speech, context.scene
    if speech.pin == "NONE":
        return []
    first, last = ((scene.frame_preview_start, scene.frame_preview_end) if speech.pin == "PREVIEW"
                   else (speech.pin_start, speech.pin_end))
    from ..core.generate import Pin

    record = read_tokens(action)
    start, stop = record.token_range(first, last)
    if stop <= start:
        raise MotionTokensError(f"the Pin Range, frames {first}-{last}, lies outside the action {action.name!r} "
                                f"(frames from {record.frame_start})")
    return [Pin(None, start, stop, {part: t[start:stop] for part, t in record.tokens.items()})]


class MOTION_TOKENS_OT_new_variation(SteppedJob, bpy.types.Operator):
    """Take the next seed and generate the active sound strip's gestures again, in place of its current action (the Pin Range keeps its tokens)"""

    bl_idname = "motion_tokens.new_variation"
    bl_label = "New Variation"
    bl_options = {"REGISTER", "UNDO"}
    job_name = "make a new variation"

    def job_steps(self, context):
        strip = _active_sound_strip(context)
        old = strip_action(context, strip)
        speech = _settings(context).speech
        seed = (read_tokens(old).seed + 1) % (speech.bl_rna.properties["seed"].hard_max + 1)
        return _strip_job(context, [strip], replace=old, pins=pins_for(context, old), seed=seed,
                          done=lambda: setattr(speech, "seed", seed))


CLASSES = (MOTION_TOKENS_OT_gestures_from_sound_strips, MOTION_TOKENS_OT_new_variation)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
