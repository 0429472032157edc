"""The face of a generated motion in Blender: expression coefficients keyed as custom
properties of the armature, driving the expression shape keys of its child meshes.

The jaw is a bone (SMPL-X joint 22) and is keyed with the rest of the motion
(scene.actions). The expressions (the FLAME/SMPL-X coefficients the face part codes, signed,
about -3..3) are keyed as the armature object's custom properties `exp_000`, `exp_001`, ...
(`EXPRESSION_PROPERTY`), in the same action as the bones, so they move with it in the NLA.

Shape keys: a mesh parented to the armature that has shape keys named like the properties
(`exp_000` .. `exp_NNN`, the FLAME expression basis in order, as the SMPL-X Blender add-on
names them with an `exp_` prefix) gets a driver on each such key's value reading the
armature's property, so the mesh follows the keyed coefficients. A key that already has a
driver is left alone. The keys' slider range is widened to -5..5 where it is narrower, since
the coefficients are signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bpy
import numpy as np

from . import compat

#: The custom property (and shape key) name of expression coefficient i.
EXPRESSION_PROPERTY = "exp_{:03d}"
#: F-curve group of the expression curves in the Dope Sheet.
GROUP = "Expressions"
_LINEAR = 1  # keyframe_points interpolation value
_SLIDER = 5.0


def expression_names(count: int) -> list[str]:
    """['exp_000', 'exp_001', ...] for `count` coefficients."""
    return [EXPRESSION_PROPERTY.format(i) for i in range(count)]


@dataclass
class FaceKeys:
    """What keying the face made: the properties added to the armature (not there before),
    the drivers added ((shape keys ID, data path)), and the meshes they drive."""

    added_properties: list[str] = field(default_factory=list)
    drivers: list[tuple] = field(default_factory=list)
    meshes: list[str] = field(default_factory=list)

    def remove(self, obj) -> None:
        """Undo it: remove the drivers and the properties added to `obj`."""
        for key_id, path in self.drivers:
            key_id.driver_remove(path)
        for name in self.added_properties:
            if name in obj:
                del obj[name]


def _channel_container(obj, action):
    """Where `action`'s F-curves for `obj` are made: the channelbag of the slot `obj` plays
    (4.4+, slotted actions), else the action."""
    if not compat.has_slotted_actions():
        return action
    slot = obj.animation_data.action_slot
    for layer in action.layers:
        for strip in layer.strips:
            if strip.type == "KEYFRAME":
                return strip.channelbag(slot, ensure=True)
    raise RuntimeError(f"action {action.name!r} has no keyframe strip")


def key_expressions(obj, action, expressions: np.ndarray, frame_start: int) -> FaceKeys:
    """Key (T, E) `expressions` on the armature `obj` as its custom properties exp_000...
    in `action` (which `obj` plays), one LINEAR key per frame from `frame_start`, then drive
    the matching shape keys of its child meshes; the FaceKeys made."""
    made = FaceKeys()
    values = np.asarray(expressions, dtype=np.float32)
    names = expression_names(values.shape[1])
    container = _channel_container(obj, action)
    frames = np.arange(frame_start, frame_start + len(values), dtype=np.float32)
    for i, name in enumerate(names):
        if name not in obj:
            obj[name] = 0.0
            made.added_properties.append(name)
            obj.id_properties_ui(name).update(min=-10.0, max=10.0, soft_min=-_SLIDER, soft_max=_SLIDER,
                                              description=f"FLAME expression coefficient {i} (Motion Tokens)")
        fcurve = compat.new_fcurve(container, f'["{name}"]', 0, GROUP)
        fcurve.keyframe_points.add(len(frames))
        fcurve.keyframe_points.foreach_set("co", np.column_stack([frames, values[:, i]]).ravel())
        fcurve.keyframe_points.foreach_set("interpolation", np.full(len(frames), _LINEAR, dtype=np.int32))
        fcurve.update()
    for mesh in (c for c in obj.children if c.type == "MESH"):
        drove = drive_shape_keys(mesh, obj, names, made)
        if drove:
            made.meshes.append(mesh.name)
            mesh.data.shape_keys.update_tag()
    obj.update_tag()  # new ID properties and drivers: the depsgraph must see them before the next frame
    bpy.context.view_layer.update()
    return made


def drive_shape_keys(mesh, armature, names: list[str], made: FaceKeys) -> int:
    """Drive each shape key of `mesh` named in `names` by the armature's property of that
    name (module docstring); how many it drove. Keys with a driver already are left alone."""
    keys = mesh.data.shape_keys if mesh.data is not None else None
    if keys is None:
        return 0
    driven = {fc.data_path for fc in (keys.animation_data.drivers if keys.animation_data else [])}
    count = 0
    for name in names:
        block = keys.key_blocks.get(name)
        path = f'key_blocks["{name}"].value'
        if block is None or path in driven:
            continue
        block.slider_min, block.slider_max = min(block.slider_min, -_SLIDER), max(block.slider_max, _SLIDER)
        driver = keys.driver_add(path).driver
        driver.type = "AVERAGE"
        var = driver.variables.new()
        var.name, var.type = "coefficient", "SINGLE_PROP"
        var.targets[0].id_type, var.targets[0].id = "OBJECT", armature
        var.targets[0].data_path = f'["{name}"]'
        made.drivers.append((keys, path))
        count += 1
    return count
