"""Render a page of the Inspector's atlas grid headless: docs/inspector_grid.png.

    .venv/bin/python tools/render_inspector_grid.py [--codec kmeans-6] [--page 0] [--out docs/inspector_grid.png]

Runs the add-on's own operator (motion_tokens.atlas_grid, sorted by the bundle's training
usage) in bpy, then an orthographic front camera framing the page and BLENDER_WORKBENCH (solid
shading, object colours: the mannequins tan, the labels dark, unused codes red), as
scene.render does for the preview strip. The PNG is reduced to a 64-colour palette (flat
shading: no visible change, a third of the bytes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", default="kmeans-6", help="a body codec: kmeans-6, rqvae-9, ...")
    parser.add_argument("--page", type=int, default=0)
    parser.add_argument("--height", type=int, default=1150, help="pixels")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "inspector_grid.png")
    args = parser.parse_args(argv)

    import bpy
    import numpy as np

    import motion_tokens
    from motion_tokens.scene.atlas_grid import SPACING_X, SPACING_Z, grid_collections
    from motion_tokens.scene.render import Framing, add_camera_and_light

    bpy.ops.wm.read_factory_settings(use_empty=True)
    motion_tokens.register()
    try:
        scene = bpy.context.scene
        settings = scene.motion_tokens
        family, bits = args.codec.rsplit("-", 1)
        settings.codec.family, settings.codec.body_bits = family, bits
        settings.inspector.sort, settings.inspector.usage_from = "USAGE", "TRAINING"
        bpy.ops.motion_tokens.atlas_grid(page=args.page)
        (collection,) = grid_collections()
        figures = [o for o in collection.objects if o.type == "ARMATURE"]
        xs = np.array([o.location.x for o in figures])
        zs = np.array([o.location.z for o in figures])
        # A figure reaches 0.75 m either side of its origin, its head 0.55 m above, its label 1.85 m below.
        low = np.array([xs.min() - 0.85, zs.min() - 1.95])
        high = np.array([xs.max() + 0.85, zs.max() + 0.55 + 0.7])
        title = bpy.data.curves.new("Atlas title", "FONT")
        title.body = collection.name.replace("Codebook Atlas ", "") + ", sorted by training usage (share of frames)"
        title.size, title.align_x = 0.42, "CENTER"
        text = bpy.data.objects.new("Atlas title", title)
        scene.collection.objects.link(text)
        text.location = ((low[0] + high[0]) / 2, 0.0, high[1] - 0.55)
        text.rotation_euler = (np.pi / 2, 0.0, 0.0)
        text.color = (0.1, 0.1, 0.1, 1.0)
        centre = np.array([(low[0] + high[0]) / 2, 0.0, (low[1] + high[1]) / 2])
        add_camera_and_light(scene, Framing(centre, float(high[0] - low[0]), float(high[1] - low[1])), args.height)
        _workbench(scene)
        with tempfile.TemporaryDirectory() as tmp:
            scene.render.filepath = os.path.join(tmp, "grid.png")
            bpy.ops.render.render(write_still=True)
            _palette(Path(scene.render.filepath), args.out)
        print(f"{args.out}: {args.out.stat().st_size // 1024} KB, spacing {SPACING_X} x {SPACING_Z} m")
    finally:
        motion_tokens.unregister()  # bpy 4.5 hangs at exit with classes registered (FACTS.md)
    return 0


def _workbench(scene) -> None:
    import bpy

    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light, shading.color_type, shading.show_cavity = "STUDIO", "OBJECT", False
    scene.world = scene.world or bpy.data.worlds.new("Atlas world")
    scene.world.color = (0.95, 0.95, 0.95)
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.view_settings.view_transform = "Standard"  # the object colours as set (AgX/Filmic grey them)


def _palette(src: Path, out: Path) -> None:
    from PIL import Image

    with Image.open(src) as image:
        image.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


if __name__ == "__main__":
    sys.exit(main())
