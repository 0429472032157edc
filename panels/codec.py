"""The "Codec" section of the sidebar panel and its settings (`scene.motion_tokens.codec`).

The settings pick a codec family (k-means or RQ-VAE) and the bits per frame of each part;
only bitrates with a bundle in models/ are offered. The panel shows each choice's codebook
(k, or D x Q) and bit rate, computed from the bundles' manifests (bits per frame x the
codec's frame rate), and the Quantize Action button.

Bit rate and the scene's frame rate: the codecs code one token per frame at their own rate
(30 fps, from the manifest); motion at another rate is resampled to it first. So the bits
per second are the codec's, whatever the scene's rate; when the scene runs at another rate
the panel also says how many bits that makes per scene frame.

The bundles are listed once, when the panel registers (reading and verifying their manifests
and weights); drawing reads only that list and the properties.
"""

from __future__ import annotations

import bpy
from bpy.props import EnumProperty

from ..core.codecs.features import PARTS
from ..core.codecs.registry import CodecInfo, available_codecs
from ..core.errors import MotionTokensError
from ..operators.quantize_action import MOTION_TOKENS_OT_quantize_action, codecs_from_settings
from ..scene.actions import scene_fps

FAMILY_ITEMS = (
    ("kmeans", "k-means", "One codebook of k poses per part; a token is the nearest pose (log2 k bits)"),
    ("rqvae", "RQ-VAE", "Convolutional autoencoder with Q residual codebooks of D codes (Q log2 D bits)"),
)
_NO_BITS = (("NONE", "None Bundled", "No codec of this family is bundled for this part", 0),)


class _Catalogue:
    """The bundled codecs, by (family, part) then bits per frame, and the enum items offered
    for each (kept here: Blender needs the item strings to outlive the items callback)."""

    def __init__(self):
        self.codecs: dict[tuple[str, str], dict[int, CodecInfo]] = {}
        self.items: dict[tuple[str, str], tuple] = {}
        self.error = ""

    def refresh(self, models_dir=None) -> None:
        """List the bundles in `models_dir` (default the shipped models/)."""
        self.codecs, self.items, self.error = {}, {}, ""
        try:
            infos = available_codecs(models_dir)
        except MotionTokensError as exc:  # a damaged bundle: say so in the panel
            self.error = str(exc)
            return
        for info in infos:
            self.codecs.setdefault((info.family, info.part), {})[round(info.bits_per_frame)] = info
        for key, by_bits in self.codecs.items():
            self.items[key] = tuple(
                (str(bits), f"{bits} bits", f"{info.name}-{info.part}: {info.size}, {info.bits_per_second:g} bits/s", bits)
                for bits, info in sorted(by_bits.items())
            )

    def info(self, family: str, part: str, bits: str) -> CodecInfo | None:
        return self.codecs.get((family, part), {}).get(int(bits)) if bits.isdigit() else None


CATALOGUE = _Catalogue()


def _bits_items(part: str):
    def items(settings, context):
        return CATALOGUE.items.get((settings.family, part), _NO_BITS)

    return items


def _family_changed(settings, context) -> None:
    """Keep each part's bits valid: where the new family lacks them, take its lowest."""
    for part in PARTS:
        offered = CATALOGUE.items.get((settings.family, part))
        if offered and CATALOGUE.info(settings.family, part, getattr(settings, f"{part}_bits")) is None:
            setattr(settings, f"{part}_bits", offered[0][0])


class MotionTokensCodecSettings(bpy.types.PropertyGroup):
    """The codec choice (`scene.motion_tokens.codec`): family and bits per frame per part."""

    family: EnumProperty(name="Family", items=FAMILY_ITEMS, default="kmeans", update=_family_changed)
    body_bits: EnumProperty(
        name="Body", items=_bits_items("body"), default=6,
        description="Bits per frame for the body (joints 1-21); only bundled codecs are offered",
    )
    hands_bits: EnumProperty(
        name="Hands", items=_bits_items("hands"), default=6,
        description="Bits per frame for the hands (joints 25-54); only bundled codecs are offered",
    )


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
        row.enabled = len(codecs_from_settings(settings)) == len(PARTS)
        row.operator(MOTION_TOKENS_OT_quantize_action.bl_idname, icon="MOD_DECIM")


# MotionTokensCodecSettings is registered by panels/main.py, before the settings that point to it.
CLASSES = (MOTION_TOKENS_PT_codec,)


def register():
    CATALOGUE.refresh()
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
