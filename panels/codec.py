"""The "Codec" section of the sidebar panel, showing `scene.motion_tokens.codec`.

The settings (panels.properties) pick a codec family (k-means or RQ-VAE) and the bits per
frame of each part; only bitrates with a bundle in models/ are offered. The panel shows each choice's codebook
(k, or D x Q) and bit rate, computed from the bundles' manifests (bits per frame x the
codec's frame rate), and the Quantize Action button.

Bit rate and the scene's frame rate: the codecs code one token per frame at their own rate
(30 fps, from the manifest); motion at another rate is resampled to it first. So the bits
per second are the codec's, whatever the scene's rate; when the scene runs at another rate
the panel also says how many bits that makes per scene frame.

The bundles are listed once, when the settings register (panels.properties.CATALOGUE reads
and verifies their manifests and weights); drawing reads only that list and the properties.
"""

from __future__ import annotations

import bpy

from ..core.codecs.features import PARTS
from ..scene.actions import scene_fps
from .properties import CATALOGUE, codecs_from_settings


class MOTION_TOKENS_PT_codec(bpy.types.Panel):
    bl_label = "Codec"
    bl_idname = "MOTION_TOKENS_PT_codec"
    bl_parent_id = "MOTION_TOKENS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"

    def draw(self, context):
        settings = context.scene.motion_tokens.codec
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        if CATALOGUE.error:
            layout.label(text=CATALOGUE.error, icon="ERROR")

        col = layout.column()
        col.prop(settings, "family")
        total, codec_fps = 0.0, None
        for part in PARTS:
            col.prop(settings, f"{part}_bits")
            info = CATALOGUE.info(settings.family, part, getattr(settings, f"{part}_bits"))
            if info is None:
                col.label(text=f"No {settings.family} codec bundled for the {part}", icon="ERROR")
                continue
            col.label(text=f"{info.size}, {info.bits_per_second:g} bits/s")
            total += info.bits_per_second
            codec_fps = info.bits_per_second / info.bits_per_frame
        if codec_fps is not None:
            col.label(text=f"Total {total:g} bits/s")
            fps = scene_fps(context.scene)
            if abs(fps - codec_fps) > 1e-6:
                col.label(text=f"Coded at {codec_fps:g} fps: {total / fps:.3g} bits per scene frame at {fps:g} fps")

        row = layout.row()
        offered = [part for part in PARTS if CATALOGUE.items.get((settings.family, part))]
        row.enabled = bool(offered) and all(part in codecs_from_settings(settings) for part in offered)
        row.operator("motion_tokens.quantize_action", icon="MOD_DECIM")


# The settings it draws (panels.properties) register first.
CLASSES = (MOTION_TOKENS_PT_codec,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
