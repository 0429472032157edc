"""The Tokens section's settings (`scene.motion_tokens.tokens`): the token timeline, Solo
Code and Edit by Tokens (panels.tokens draws them, operators.tokens_ui reads them).

Registered before panels.properties, whose MotionTokensSettings points to this group.
"""

from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from ..core.codecs.features import PARTS

PART_ITEMS = tuple((p, p.capitalize(), f"The {p}'s tokens") for p in PARTS)
SOURCE_ITEMS = (
    ("CODE", "Code", "Put one code on every frame of the range"),
    ("COPIED", "Copied Tokens", "Paste the tokens Copy Tokens copied (repeated or cut to the range's length)"),
)


class TokenPartProperty:
    """Mixin: the part whose tokens an operator reads or edits."""

    part: EnumProperty(name="Part", items=PART_ITEMS, default="body", description="Whose tokens")


class TokenRangeProperties:
    """Mixin: the frames Copy Tokens and Edit by Tokens use when the scene has no preview range."""

    frame_first: IntProperty(name="First Frame", default=1,
                             description="First frame of the range (used when the scene's preview range is off)")
    frame_last: IntProperty(name="Last Frame", default=30,
                            description="Last frame of the range, included (used when the preview range is off)")


class MotionTokensTokenSettings(TokenPartProperty, TokenRangeProperties, bpy.types.PropertyGroup):
    """The Tokens section of the panel."""

    show_timeline: BoolProperty(name="Show in Timeline", default=True,
                                description="Draw the active action's tokens in the Timeline and Dope Sheet")
    code: StringProperty(name="Code", default="",
                         description="A code: 17 (k-means), or one number per level for RQ-VAE (3,5,1,0). Solo Code "
                         "takes the first levels alone too (3); empty: the code at the current frame")
    source: EnumProperty(name="Replace With", items=SOURCE_ITEMS, default="CODE",
                         description="What Edit by Tokens puts on the range")
    margin_frames: IntProperty(name="Blend Margin", default=0, min=0, max=900,
                               description="Frames (at 30 fps) either side of the range over which the edit blends "
                               "into the motion; 0: the codec's default (k-means 6, RQ-VAE 42, downsampled RQ-VAE 75, "
                               "the decoder's reach)")


CLASSES = (MotionTokensTokenSettings,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
