"""The "Tokens" section of the sidebar panel: the codes of each part at the current frame, the
token timeline's switch and markers, Solo Code, Copy Tokens / Edit by Tokens and Import Tokens
(`scene.motion_tokens.tokens`, panels.token_settings).

The codes shown are those of the active armature's action at the scene's current frame: row
floor((frame - frame_start) x rows a second / scene fps) of each part (core.inspect.token_timeline),
with the action's own frame_start and scene rate (the keys were written at that rate), so a
part at 7.5 rows a second (rqvae4) holds each code for 4 frames at 30 fps, 3.2 at 24 fps.
Registering this module adds the timeline's draw handler (scene.token_timeline).
"""

from __future__ import annotations

import bpy

from ..core.inspect.token_timeline import count_runs, format_code, frames_using
from ..scene.token_timeline import active_action, active_tracks, add_draw_handler, remove_draw_handler
from ..scene.tokens_prop import TOKENS_KEY


def frame_codes(context) -> list[tuple[str, str, int, tuple | None]]:
    """[(part, codec name, row, code or None)] at the current frame for the active action's
    parts (row -1 and None outside its tokens); [] when it keeps none."""
    tracks = active_tracks(context)
    if not tracks:
        return []
    codecs = {part: str(entry["codec"]) for part, entry in active_action(context)[TOKENS_KEY]["parts"].items()}
    frame = context.scene.frame_current
    out = []
    for part, track in tracks.items():
        row = int(track.rows_at([frame])[0])
        out.append((part, codecs.get(part, ""), row, track.code_at(frame)))
    return out


def frame_lines(context) -> list[str]:
    """The lines the panel shows for the current frame: 'body (kmeans-6): 17, row 41'."""
    lines = []
    for part, codec, row, code in frame_codes(context):
        shown = f"{format_code(code)}, row {row}" if code is not None else "outside the tokens"
        lines.append(f"{part} ({codec}): {shown}")
    return lines


class MOTION_TOKENS_PT_tokens(bpy.types.Panel):
    bl_label = "Tokens"
    bl_idname = "MOTION_TOKENS_PT_tokens"
    bl_parent_id = "MOTION_TOKENS_PT_main"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Motion Tokens"

    def draw(self, context):
        settings = context.scene.motion_tokens.tokens
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        lines = frame_lines(context)
        if not lines:
            layout.label(text="The active armature's action keeps no tokens", icon="INFO")
            layout.operator("motion_tokens.import_tokens", icon="IMPORT")
            return
        box = layout.box()
        box.label(text=f"Frame {context.scene.frame_current}", icon="TIME")
        for line in lines:
            box.label(text=line)
        layout.prop(settings, "show_timeline")
        layout.prop(settings, "part")
        row = layout.row(align=True)
        row.operator("motion_tokens.token_markers", icon="MARKER_HLT")
        row.operator("motion_tokens.remove_token_markers", text="", icon="X")
        self._draw_solo(context, settings, layout)
        self._draw_edit(context, settings, layout)
        layout.operator("motion_tokens.import_tokens", icon="IMPORT")

    @staticmethod
    def _draw_solo(context, settings, layout):
        col = layout.column(align=True)
        col.prop(settings, "code")
        row = col.row(align=True)
        row.operator("motion_tokens.solo_code", text="Previous", icon="TRIA_LEFT").forward = False
        row.operator("motion_tokens.solo_code", text="Next", icon="TRIA_RIGHT").forward = True
        track = active_tracks(context).get(settings.part)
        code = track.code_at(context.scene.frame_current) if track is not None and not settings.code.strip() else None
        if code is not None:  # the count for a typed code comes with Solo Code's report
            frames = frames_using(track, code)
            col.label(text=f"{settings.part} {format_code(code)}: {len(frames)} frames, {count_runs(frames)} runs")

    @staticmethod
    def _draw_edit(context, settings, layout):
        scene = context.scene
        col = layout.column()
        if scene.use_preview_range:
            col.label(text=f"Range: preview {scene.frame_preview_start}-{scene.frame_preview_end}")
        else:
            sub = col.column(align=True)
            sub.prop(settings, "frame_first")
            sub.prop(settings, "frame_last")
        col.prop(settings, "source")
        col.prop(settings, "margin_frames")
        if settings.source == "COPIED":
            copied = scene.get("motion_tokens_copied")
            col.label(text=f"Copied: {copied['part']} frames {copied['first']}-{copied['last']}" if copied
                      else "Nothing copied yet")
        row = col.row(align=True)
        row.operator("motion_tokens.copy_tokens", icon="COPYDOWN")
        row.operator("motion_tokens.edit_by_tokens", icon="MOD_DATA_TRANSFER")


CLASSES = (MOTION_TOKENS_PT_tokens,)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    add_draw_handler()


def unregister():
    remove_draw_handler()
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
