"""FBX export of an armature with its action, through Blender's own FBX exporter (io_scene_fbx).

The settings are those a game engine reads: only the armature, no leaf bones, the action baked
with a key on every frame of its range (no curve simplification), Blender's default axes
(forward -Z, up Y) and units. For Unreal: the bone names are the MetaHuman's when the armature
comes from `scene.rig.create_rig_armature("metahuman")`; Unreal turns the armature object
itself into an extra root bone unless the object is named "Armature". The exporter names the
file's one take after the scene, so the scene is named after the action while it writes:
the take (and the action an importer makes of it, "<object>|<take>") is the action's name.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import addon_utils
import bpy

from ..core.errors import OutputError, SkeletonError
from . import compat

_FBX_ADDON = "io_scene_fbx"
# mkstemp creates files readable by the owner only; an FBX gets the permissions of any other file.
_UMASK = os.umask(0)
os.umask(_UMASK)


def _enable_fbx_addon() -> None:
    """Enable Blender's FBX add-on where it is not (headless sessions start without it)."""
    loaded_default, loaded_state = addon_utils.check(_FBX_ADDON)
    if not loaded_state:
        addon_utils.enable(_FBX_ADDON, default_set=True)
    if not hasattr(bpy.ops.export_scene, "fbx"):
        raise OutputError("Blender's FBX add-on (io_scene_fbx) could not be enabled; FBX export is unavailable")


def action_frame_range(obj) -> tuple[int, int]:
    """The whole frames (first, last) the action `obj` plays covers; SkeletonError if none."""
    action = compat.assigned_action(obj) if obj is not None and obj.animation_data is not None else None
    if action is None:
        label = "nothing" if obj is None else repr(obj.name)
        raise SkeletonError(f"{label} plays no action: there is no animation to export; key a motion onto it first")
    start, end = action.frame_range
    return math.floor(start + 1e-6), math.ceil(end - 1e-6)


def export_fbx(obj, path: str | os.PathLike, frame_range: tuple[int, int] | None = None, context=None) -> Path:
    """Write the armature `obj` with the action it plays to the FBX file `path`.

    frame_range: the frames to bake (default: the action's whole frames). The file is written
    under a temporary name in the same folder and renamed onto `path`, so a failed export
    leaves no half file, with the permissions of the file it replaces (else the usual ones);
    the selection, active object, scene name and frame range are restored. Returns `path`.
    Raises SkeletonError when `obj` is not an armature or plays no action, OutputError naming
    `path` when the folder does not exist or the exporter fails.
    """
    context = context or bpy.context
    if obj is None or obj.type != "ARMATURE":
        label = "nothing" if obj is None else f"{obj.name!r} (a {obj.type.lower()})"
        raise SkeletonError(f"FBX export needs an armature object, got {label}")
    first, last = frame_range or action_frame_range(obj)
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{path}: cannot write here, the folder {folder} does not exist")
    _enable_fbx_addon()

    scene = context.scene
    view_layer = context.view_layer
    saved = (scene.frame_start, scene.frame_end, scene.frame_current, scene.name)
    selected = [o for o in view_layer.objects if o.select_get()]
    active = view_layer.objects.active
    tmp = _temporary_file(path, folder)
    try:
        if context.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        for o in selected:
            o.select_set(False)
        obj.select_set(True)
        view_layer.objects.active = obj
        scene.frame_start, scene.frame_end = int(first), int(last)
        scene.name = compat.assigned_action(obj).name
        result = _run_exporter(
            path, filepath=tmp, check_existing=False, use_selection=True, object_types={"ARMATURE"},
            add_leaf_bones=False, bake_anim=True, bake_anim_use_all_actions=False,
            bake_anim_use_nla_strips=False, bake_anim_force_startend_keying=True,
            bake_anim_simplify_factor=0.0, axis_forward="-Z", axis_up="Y",
        )
        if "FINISHED" not in result:
            raise OutputError(f"{path}: Blender's FBX exporter did not finish ({', '.join(result)})")
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: writing failed ({exc.strerror or exc}); nothing was changed") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        obj.select_set(False)
        for o in selected:
            o.select_set(True)
        view_layer.objects.active = active
        scene.frame_start, scene.frame_end = saved[0], saved[1]
        scene.frame_set(saved[2])
        scene.name = saved[3]
    return path


def _temporary_file(path: Path, folder: Path) -> str:
    """A new empty hidden file beside `path` to export into; OutputError naming `path`."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".fbx", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    return tmp


def _run_exporter(path: Path, **settings) -> set[str]:
    """bpy.ops.export_scene.fbx(**settings); what it returned. A failure it raises (a
    RuntimeError naming its temporary file) becomes an OutputError naming `path`, the file
    the user asked for."""
    try:
        return bpy.ops.export_scene.fbx(**settings)
    except RuntimeError as exc:  # the error is the last line of Blender's traceback, before "Location:"
        lines = [line for line in str(exc).splitlines() if line.strip() and not line.startswith("Location:")]
        last = lines[-1:] or ["no reason given"]
        reason = last[0].strip().replace(settings["filepath"], str(path))
        raise OutputError(f"{path}: Blender's FBX exporter failed ({reason}); nothing was changed") from None
