"""The "Inspector" section of the sidebar (View3D > Sidebar > Motion Tokens): what each code of
the Codec panel's codec means. Part, level (RQ-VAE), sort order and where usage is counted;
Codebook Atlas (an action, one code a frame), the atlas grid a page at a time, Code Usage
with its histogram image and figures, and Save Usage PNG.

The histogram is drawn with `template_icon` from the image's preview, which
scene.inspect.store_usage_image sets to the histogram's own pixels (Blender keeps its aspect,
letterboxed in the square icon). Drawing only reads properties: no file access, no computation.
"""

from __future__ import annotations

import bpy

from .properties import CATALOGUE

#: Size of the histogram in the panel, in UI units (about 20 pixels each at 100% scale).
_HISTOGRAM_SCALE = 12.0


def _codec_line(context, inspector) -> tuple[str, str]:
    """(the line naming the codec inspected, its icon)."""
    codec = context.scene.motion_tokens.codec
    info = CATALOGUE.info(codec.family, inspector.part, getattr(codec, f"{inspector.part}_bits"))
    if info is None:
        return f"No {codec.family} codec chosen for the {inspector.part}", "ERROR"
    return f"{info.name}-{info.part}: {info.size}", "NONE"


def draw_inspector(layout, context) -> None:
    inspector = context.scene.motion_tokens.inspector
    layout.use_property_split = True
    layout.use_property_decorate = False
    col = layout.column()
    col.prop(inspector, "part")
    text, icon = _codec_line(context, inspector)
    col.label(text=text, icon=icon)
    col.prop(inspector, "level")
    col.prop(inspector, "sort")
    col.prop(inspector, "usage_from")

    col = layout.column(align=True)
    col.operator("motion_tokens.codebook_atlas", icon="ACTION")
    row = col.row(align=True)
    back = row.operator("motion_tokens.atlas_grid", text="", icon="TRIA_LEFT")
    back.page = max(inspector.page - 1, 0)
    row.operator("motion_tokens.atlas_grid", text=f"Atlas Grid, Page {inspector.page + 1}", icon="OUTLINER_OB_ARMATURE")
    forward = row.operator("motion_tokens.atlas_grid", text="", icon="TRIA_RIGHT")
    forward.page = inspector.page + 1
    col.prop(inspector, "page")

    col = layout.column(align=True)
    col.operator("motion_tokens.code_usage", icon="SEQ_HISTOGRAM")
    image = inspector.usage_image
    preview = image.preview if image is not None else None
    if preview is not None:
        layout.template_icon(icon_value=preview.icon_id, scale=_HISTOGRAM_SCALE)
    figures = [line for line in inspector.usage_figures.split("\n") if line]
    if figures:
        box = layout.box().column(align=True)
        for line in figures:
            box.label(text=line, icon="ERROR" if line.startswith("never used") else "NONE")
        layout.operator("motion_tokens.save_usage_png", icon="FILE_IMAGE")


class MOTION_TOKENS_PT_inspector(bpy.types.Panel):
    bl_label = "Inspector"
    bl_idname = "MOTION_TOKENS_PT_inspector"
    bl_parent_id = "MOTION_TOKENS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_inspector(self.layout, context)


CLASSES = (MOTION_TOKENS_PT_inspector,)

# Registers in order, unregisters in reverse.
register, unregister = bpy.utils.register_classes_factory(CLASSES)
