"""A page of the codebook atlas as posed SMPL-X figures: PER_PAGE (64) armatures in rows of
COLUMNS, each posed with one code and named with its id ("kmeans-6-body code 017 (3.1%)"),
a mannequin mesh on each (scene.render.add_mannequin) so the page reads in solid shading and
renders, and a text label under each (id and usage share; red for a code never used).

The page stands on a wall facing the front view (-Y): columns along +X, rows downwards along
-Z, so Numpad 1 (or the front camera scene.render uses) shows the page as a contact sheet in
the order of the panel, reading like text. One page is in the scene at a time: its collection
(tagged with `GRID_KEY`) replaces any earlier one, whatever its codec or page, with everything
in it (objects, armature, mesh and text data).

Cost: the 64 figures share one armature datablock and one mannequin mesh (a pose belongs to
the object, vertex groups to the mesh), so a page is one Edit-mode build and 64 poses set in
one `foreach_set` each; 4.5 lays a page out in well under a second.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.inspect.atlas_sheet import COLUMNS, num_pages
from ..core.skeleton import smplx_skeleton
from .actions import pose_quaternions
from .armature import create_armature, rest_matrices
from .render import add_mannequin

#: The ID property that marks a collection as an atlas page (its codec, part, level, page).
GRID_KEY = "motion_tokens_atlas_grid"
#: Metres between figures: wider than a T-pose's reach (1.45 m) and taller than the figure.
SPACING_X = 1.7
SPACING_Z = 2.25
#: The label under each figure: its size, how far below the origin (the feet are at -1.27 m).
LABEL_SIZE = 0.26
LABEL_DROP = 1.62
_MANNEQUIN = (0.85, 0.62, 0.45, 1.0)
_LABEL = (0.1, 0.1, 0.1, 1.0)
_UNUSED = (0.84, 0.15, 0.16, 1.0)


def grid_collections() -> list:
    """The atlas page collections in the file."""
    return [c for c in bpy.data.collections if GRID_KEY in c]


def remove_grids() -> int:
    """Remove every atlas page and what is in it; how many there were."""
    found = grid_collections()
    for collection in found:
        _remove_collection(collection)
    return len(found)


def _remove_collection(collection) -> None:
    """Remove `collection`, its objects and the data only they used."""
    datas = {}
    for obj in list(collection.objects):
        if obj.data is not None:
            datas[obj.data.as_pointer()] = obj.data
        bpy.data.objects.remove(obj, do_unlink=True)
    for data in datas.values():
        if data.users == 0:
            _pool_of(data).remove(data)
    bpy.data.collections.remove(collection)


def _pool_of(data):
    """The bpy.data collection that owns `data` (an armature, a mesh or a text curve)."""
    kind = data.bl_rna.identifier
    return {"Armature": bpy.data.armatures, "Mesh": bpy.data.meshes}.get(kind, bpy.data.curves)


def grid_position(index: int) -> tuple[float, float, float]:
    """Where figure `index` of a page stands (Blender axes): column across +X, row down -Z."""
    return (index % COLUMNS * SPACING_X, 0.0, -(index // COLUMNS) * SPACING_Z)


class AtlasGrid:
    """The atlas page sink (pipelines.inspect.atlas_grid): `build(view, page)` -> the page's
    collection, the previous page removed. The selection and active object are kept."""

    def __init__(self, context):
        self.context = context

    def build(self, view, page: int):
        context = self.context
        positions = view.page_positions(page)
        codes = view.order[positions]
        skeleton = view.skeleton or smplx_skeleton()
        motion = view.motion(1.0, positions)  # one frame per figure: only its rotations are used
        # By name: the active object may be a figure of the page removed here.
        active = context.view_layer.objects.active
        active = active.name if active is not None else None
        selected = [obj.name for obj in context.view_layer.objects.selected]
        remove_grids()
        collection = bpy.data.collections.new(
            f"Codebook Atlas {view.label}{' ' + view.level_label if view.level_label else ''} "
            f"page {page + 1} of {num_pages(view.num_codes)}")
        collection[GRID_KEY] = {"codec": view.codec.name, "part": view.codec.part, "page": int(page),
                                "level": -1 if view.level is None else int(view.level),
                                "codes": np.asarray(codes, dtype=np.int32)}
        context.scene.collection.children.link(collection)
        try:
            self._figures(view, codes, motion, skeleton, collection)
        except BaseException:
            _remove_collection(collection)
            raise
        finally:
            _restore_selection(context, active, selected)
        return collection

    def _figures(self, view, codes, motion, skeleton, collection) -> None:
        context = self.context
        template = create_armature(skeleton, name=view.code_name(codes[0]), context=context)
        _move_to(template, collection)
        mannequin = add_mannequin(template, name=f"{template.name} mannequin")
        figures = [template] + [bpy.data.objects.new(view.code_name(c), template.data) for c in codes[1:]]
        for obj in figures[1:]:
            collection.objects.link(obj)
            _mannequin_on(obj, mannequin.data, collection)
        context.view_layer.update()  # the new objects' poses
        names = list(skeleton.names)
        rest = rest_matrices(template, names)[:, :3, :3]
        pose_q = pose_quaternions(motion.rotations, rest)  # (n, J, 4) in skeleton order
        bone_order = [names.index(pb.name) for pb in template.pose.bones]
        unused = view.stats.counts[codes] == 0 if view.stats is not None else np.zeros(len(codes), dtype=bool)
        for i, (obj, code) in enumerate(zip(figures, codes)):
            obj.location = grid_position(i)
            obj.show_name = True
            obj.pose.bones.foreach_set("rotation_quaternion", pose_q[i][bone_order].ravel())
            share = "" if view.stats is None else f"{view.stats.share_percent[code]:.1f}%"
            _label(obj, f"{int(code)}  {'unused' if unused[i] else share}".rstrip(), bool(unused[i]), collection)
        context.view_layer.update()


def _restore_selection(context, active: str | None, selected: list[str]) -> None:
    """Select the objects named `selected` (those still in the view layer) and no other, and
    make `active` the active object again (none when it is gone)."""
    objects = context.view_layer.objects
    for obj in objects.selected:
        obj.select_set(False)
    for name in selected:
        obj = objects.get(name)
        if obj is not None:
            obj.select_set(True)
    objects.active = objects.get(active) if active is not None else None


def _move_to(obj, collection) -> None:
    for other in list(obj.users_collection):
        other.objects.unlink(obj)
    collection.objects.link(obj)


def _mannequin_on(obj, mesh, collection):
    """A mannequin object sharing `mesh` (its vertex groups live on the mesh), skinned to `obj`."""
    child = bpy.data.objects.new(f"{obj.name} mannequin", mesh)
    collection.objects.link(child)
    child.parent = obj
    child.color = _MANNEQUIN
    modifier = child.modifiers.new("Armature", "ARMATURE")
    modifier.object = obj
    return child


def _label(obj, text: str, unused: bool, collection):
    """A text object under the figure, facing the front (-Y), parented to it."""
    curve = bpy.data.curves.new(f"{obj.name} label", "FONT")
    curve.body = text
    curve.size = LABEL_SIZE
    curve.align_x = "CENTER"
    label = bpy.data.objects.new(f"{obj.name} label", curve)
    collection.objects.link(label)
    label.parent = obj
    label.location = (0.0, 0.0, -LABEL_DROP)
    label.rotation_euler = (np.pi / 2, 0.0, 0.0)  # the text's +Z (its face) turned to -Y
    label.color = _UNUSED if unused else _LABEL
    return label
