"""Motion saved as a .blend or an FBX file: a new scene with an armature playing it.

The CLI hands `write_scene_file` to pipelines.outputs.FileSink for .blend/.fbx output. bpy
and the other scene modules are imported only when a file is written, so this module imports
without Blender and a missing bpy is an OutputError saying what is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import OutputError


@dataclass
class SceneFile:
    """What was saved: the last frame of the action and the warnings (retargeting notes,
    bones of the map the armature lacks)."""

    frame_end: int
    warnings: list[str] = field(default_factory=list)


def write_scene_file(path: Path, motion, frame_start: int = 1, layout=None) -> SceneFile:
    """`write_blend` or `write_fbx` by the suffix of `path`; what it saved."""
    if Path(path).suffix.lower() == ".fbx":
        return write_fbx(path, motion, frame_start, layout)
    return write_blend(path, motion, frame_start, layout)


def write_blend(path: Path, motion, frame_start: int = 1, layout=None) -> SceneFile:
    """Save a new .blend at `path` with an armature playing `motion` from `frame_start`; the
    last frame and the warnings. The armature is SMPL-X's (the motion keyed as it is) or, with
    a rig `layout` (core.retarget), one of that layout with the motion retargeted onto it. The
    scene's frame rate and range are set to the motion's. A file replaced leaves no
    `.blend1` backup beside it: the command line was asked for one file."""
    bpy = _import_bpy(path, ".blend")
    path = _writable(path)
    _, scene = _animated_scene(motion, frame_start, layout)
    paths = bpy.context.preferences.filepaths
    versions, paths.save_version = paths.save_version, 0
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(path), check_existing=False)
    except RuntimeError as exc:  # Blender reports a failed save (e.g. no permission) this way
        raise OutputError(f"{path}: Blender could not save the file ({str(exc).strip()})") from None
    finally:
        paths.save_version = versions
    return scene


def write_fbx(path: Path, motion, frame_start: int = 1, layout=None) -> SceneFile:
    """Write an FBX file at `path` (Blender's own FBX exporter, scene.fbx) of a new armature
    playing `motion` from `frame_start`, made as for `write_blend`; the last frame and the
    warnings. The armature object is named "Armature", which Unreal's importer takes for the
    file's armature node rather than an extra root bone."""
    _import_bpy(path, ".fbx")
    path = _writable(path)
    from .fbx import export_fbx

    obj, scene = _animated_scene(motion, frame_start, layout, object_name="Armature")
    export_fbx(obj, path)
    return scene


def _import_bpy(path: Path, suffix: str):
    try:
        import bpy
    except ImportError:
        raise OutputError(
            f"{path}: writing a {suffix} needs Blender's Python module (bpy); run this inside "
            "Blender (blender -b -P tools/blender_cli.py -- import ...) or write .npz/.bvh"
        ) from None
    return bpy


def _writable(path: Path) -> Path:
    path = Path(path).resolve()
    if not path.parent.is_dir():
        raise OutputError(f"{path}: cannot write here, the folder {path.parent} does not exist")
    return path


def _animated_scene(motion, frame_start: int, layout, object_name: str | None = None):
    """(armature, SceneFile): a new empty scene at the motion's frame rate and range with an
    armature playing `motion` (see `write_blend`)."""
    import bpy

    from .rig import (
        TARGET_NEW_SMPLX,
        create_rig_armature,
        retarget_onto_armature,
        write_to_target,
    )
    from .take import store_take

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    fps = max(1, round(motion.fps))
    scene.render.fps, scene.render.fps_base = fps, fps / motion.fps
    if layout is None:
        result = write_to_target(bpy.context, motion, TARGET_NEW_SMPLX, frame_start=frame_start,
                                 action_name=motion.name or None)
        obj = result.armature
    else:
        obj = create_rig_armature(layout)
        result = retarget_onto_armature(obj, motion, layout, frame_start=frame_start, action_name=motion.name or None)
    store_take(result.action, motion, result.frame_start)  # so exporting from the .blend keeps them
    if object_name is not None:
        obj.name = object_name
    scene.frame_start, scene.frame_end = result.frame_start, result.frame_end
    scene.frame_set(result.frame_start)
    warnings = list(result.warnings)
    if result.missing:
        warnings.append(f"the motion of {len(result.missing)} bones of the map is left out: the armature "
                        f"lacks {', '.join(result.missing)}")
    return obj, SceneFile(result.frame_end, warnings)
