"""A preview of an animated SMPL-X armature: a simple mannequin mesh skinned to its bones, a
camera and a light framing it, and a few frames rendered headless into one PNG strip.

The mannequin is one mesh of tapered eight-sided tubes, one per limb (joint to child joint,
and each leaf bone head to tail) plus an ellipsoid for the head, every vertex weighted fully
to one bone (rigid skinning through an Armature modifier), so it moves exactly as the bones
do. Rendering uses BLENDER_WORKBENCH (solid shading, studio light), which renders headless
in about a second a frame on 2 cores (FACTS.md; EEVEE needs a GPU or takes a minute a frame).
Frames are composed side by side with numpy and saved through Blender's own image writer, so
nothing beyond bpy is needed.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import bpy
import numpy as np

from ..core.errors import OutputError

#: Tube radius (metres) per SMPL-X bone name prefix, the first match wins; fingers and the
#: rest of the hand are thin, the trunk thick, so the pose reads at a small size.
_RADII = (
    ("pelvis", 0.085), ("spine", 0.08), ("neck", 0.04), ("jaw", 0.025), ("head", 0.04),
    ("left_collar", 0.04), ("right_collar", 0.04), ("left_shoulder", 0.042),
    ("right_shoulder", 0.042), ("left_elbow", 0.034), ("right_elbow", 0.034),
    ("left_wrist", 0.022), ("right_wrist", 0.022), ("left_hip", 0.065), ("right_hip", 0.065),
    ("left_knee", 0.05), ("right_knee", 0.05), ("left_ankle", 0.035), ("right_ankle", 0.035),
    ("left_foot", 0.03), ("right_foot", 0.03),
)
_FINGER_RADIUS = 0.008
#: Radial segments of every tube, and how much narrower a tube's far end is than its near end.
_SIDES = 8
_TAPER = 0.8
#: The head's ellipsoid: half-axes (x, y, z) in metres and its centre above the head joint.
_HEAD_AXES = np.array([0.085, 0.1, 0.115])
_HEAD_LIFT = 0.09
_SKIP = ("eye",)  # the eyes sit inside the head
_MANNEQUIN_COLOUR = (0.85, 0.62, 0.45, 1.0)
_BACKGROUND = (0.92, 0.92, 0.92)


def _radius(name: str) -> float:
    return next((r for prefix, r in _RADII if name.startswith(prefix)), _FINGER_RADIUS)


def limb_segments(obj) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The mannequin's tubes from an armature's rest pose (armature space): (S, 2, 3) ends,
    (S,) near-end radius, and the bone each is weighted to. A joint's segment to each child
    joint belongs to the joint's bone (an upper arm is the shoulder bone's); a leaf bone (a
    fingertip, a toe) gets its own head-to-tail segment. The eyes are left out."""
    bones = [b for b in obj.data.bones if not any(s in b.name for s in _SKIP)]
    ends, radii, owners = [], [], []
    for bone in bones:
        children = [c for c in bone.children if not any(s in c.name for s in _SKIP)]
        targets = [c.head_local for c in children] or [bone.tail_local]
        for target in targets:
            ends.append((tuple(bone.head_local), tuple(target)))
            radii.append(_radius(bone.name))
            owners.append(bone.name)
    return np.array(ends, dtype=np.float64), np.array(radii), owners


def tube_geometry(ends: np.ndarray, radii: np.ndarray, sides: int = _SIDES):
    """S tapered, capped tubes from ends[:, 0] to ends[:, 1] (S, 2, 3), near radius `radii`
    (S,), far radius x _TAPER: vertices (S*2*sides, 3), faces (S*sides quads, then 2*S caps,
    as index lists) and each vertex's segment (S*2*sides,). Vectorised over the segments."""
    S = len(ends)
    axis = ends[:, 1] - ends[:, 0]
    length = np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-9)
    unit = axis / length
    # Any vector not parallel to the axis gives the tube's cross-section plane.
    helper = np.where(np.abs(unit[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    u = np.cross(unit, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(unit, u)
    angle = 2 * np.pi * np.arange(sides) / sides
    ring = np.cos(angle)[None, :, None] * u[:, None] + np.sin(angle)[None, :, None] * v[:, None]  # (S, n, 3)
    near = ends[:, None, 0] + radii[:, None, None] * ring
    far = ends[:, None, 1] + (_TAPER * radii)[:, None, None] * ring
    vertices = np.concatenate([near, far], axis=1).reshape(-1, 3)  # per segment: near ring, far ring
    base = (np.arange(S) * 2 * sides)[:, None]
    k = np.arange(sides)
    k1 = (k + 1) % sides
    sides_quads = np.stack([k, k1, k1 + sides, k + sides], axis=-1)[None] + base[:, :, None]  # (S, n, 4)
    caps_near = (base + k[::-1][None]).tolist()
    caps_far = (base + sides + k[None]).tolist()
    faces = sides_quads.reshape(-1, 4).tolist() + caps_near + caps_far
    return vertices, faces, np.repeat(np.arange(S), 2 * sides)


def ellipsoid_geometry(centre, axes, rings: int = 8, sides: int = 12):
    """Vertices and faces (index lists) of a UV ellipsoid with half-axes `axes` at `centre`."""
    theta = np.linspace(0, np.pi, rings + 1)[1:-1]
    phi = 2 * np.pi * np.arange(sides) / sides
    inner = np.stack([np.sin(theta)[:, None] * np.cos(phi), np.sin(theta)[:, None] * np.sin(phi),
                      np.repeat(np.cos(theta)[:, None], sides, axis=1)], axis=-1).reshape(-1, 3)
    unit = np.concatenate([[[0, 0, 1.0]], inner, [[0, 0, -1.0]]])
    vertices = np.asarray(centre) + unit * np.asarray(axes)
    last = len(vertices) - 1
    faces = [[0, 1 + (j + 1) % sides, 1 + j] for j in range(sides)]
    for i in range(rings - 2):
        a, b = 1 + i * sides, 1 + (i + 1) * sides
        faces += [[a + j, a + (j + 1) % sides, b + (j + 1) % sides, b + j] for j in range(sides)]
    a = 1 + (rings - 2) * sides
    faces += [[a + j, a + (j + 1) % sides, last] for j in range(sides)]
    return vertices, faces


def add_mannequin(obj, name: str = "Mannequin"):
    """A mannequin mesh object parented to the armature `obj` (an SMPL-X armature: its bones
    named as SMPL-X's joints), skinned rigidly to its bones through an Armature modifier; the
    mesh object. The armature's rest pose gives the shape."""
    ends, radii, owners = limb_segments(obj)
    vertices, faces, segment = tube_geometry(ends, radii)
    groups = [owners[s] for s in segment]
    head = obj.data.bones.get("head")
    if head is not None:
        centre = np.array(head.head_local) + [0.0, 0.0, _HEAD_LIFT]
        hv, hf = ellipsoid_geometry(centre, _HEAD_AXES)
        faces += [[i + len(vertices) for i in f] for f in hf]
        vertices = np.concatenate([vertices, hv])
        groups += ["head"] * len(hv)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(vertices.tolist(), [], faces)
    mesh.update()
    child = bpy.data.objects.new(name, mesh)
    for collection in obj.users_collection:
        collection.objects.link(child)
    child.parent = obj
    child.color = _MANNEQUIN_COLOUR
    names = np.array(groups)
    for bone in dict.fromkeys(groups):
        group = child.vertex_groups.new(name=bone)
        group.add(np.flatnonzero(names == bone).tolist(), 1.0, "REPLACE")
    modifier = child.modifiers.new("Armature", "ARMATURE")
    modifier.object = obj
    return child


@dataclass(frozen=True)
class Framing:
    """An orthographic front view: the centre (Blender axes) and the width and height (m)."""

    centre: np.ndarray
    width: float
    height: float


def framing(obj, frames, margin: float = 0.12) -> Framing:
    """The box (front view: X across, Z up) holding `obj`'s evaluated bone heads and tails
    at every frame of `frames`, `margin` metres larger each side, plus the head's ellipsoid."""
    scene = bpy.context.scene
    world = np.array(obj.matrix_world)
    points = []
    for frame in frames:
        scene.frame_set(int(frame))
        points += [tuple(p) for pb in obj.pose.bones for p in (pb.head, pb.tail)]  # copies: views change
    heads = np.array(points) @ world[:3, :3].T + world[:3, 3]
    low = heads.min(axis=0) - margin
    high = heads.max(axis=0) + margin
    high[2] += _HEAD_LIFT + _HEAD_AXES[2]
    return Framing((low + high) / 2, float(high[0] - low[0]), float(high[2] - low[2]))


def add_camera_and_light(scene, box: Framing, frame_height: int):
    """An orthographic camera looking along +Y at the front of the character (it faces -Y),
    sized to `box`, a sun light from the front left, and the scene's resolution set to
    `frame_height` pixels high at the box's aspect; (camera, light)."""
    cam_data = bpy.data.cameras.new("Preview camera")
    cam_data.type = "ORTHO"
    aspect = box.width / box.height
    cam_data.ortho_scale = max(box.width, box.height)
    camera = bpy.data.objects.new("Preview camera", cam_data)
    camera.location = (box.centre[0], box.centre[1] - 6.0, box.centre[2])
    camera.rotation_euler = (np.pi / 2, 0.0, 0.0)  # looks along +Y, Z up
    light_data = bpy.data.lights.new("Preview light", "SUN")
    light_data.energy = 3.0
    light = bpy.data.objects.new("Preview light", light_data)
    light.rotation_euler = (np.radians(60), 0.0, np.radians(-30))
    for made in (camera, light):
        scene.collection.objects.link(made)
    scene.camera = camera
    scene.render.resolution_y = int(frame_height)
    scene.render.resolution_x = max(2 * round(frame_height * aspect / 2), 2)
    scene.render.resolution_percentage = 100
    return camera, light


def _workbench(scene) -> None:
    scene.render.engine = "BLENDER_WORKBENCH"
    shading = scene.display.shading
    shading.light = "STUDIO"
    shading.color_type = "OBJECT"
    shading.show_cavity = False
    if scene.world is None:
        scene.world = bpy.data.worlds.new("Preview world")
    scene.world.color = _BACKGROUND
    scene.render.film_transparent = False
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"


def _read_png(path: Path) -> np.ndarray:
    """(H, W, 3) float32 pixels of a PNG, top row first, through Blender's image loader."""
    image = bpy.data.images.load(str(path))
    try:
        w, h = image.size
        flat = np.empty(w * h * 4, dtype=np.float32)
        image.pixels.foreach_get(flat)
    finally:
        bpy.data.images.remove(image)
    return flat.reshape(h, w, 4)[::-1, :, :3]


def _write_png(path: Path, pixels: np.ndarray) -> None:
    """Save (H, W, 3) float pixels in [0, 1], top row first, as an 8-bit RGB PNG."""
    h, w, _ = pixels.shape
    image = bpy.data.images.new("Preview strip", w, h, alpha=False)
    try:
        rgba = np.concatenate([pixels[::-1], np.ones((h, w, 1), dtype=np.float32)], axis=-1)
        image.pixels.foreach_set(rgba.astype(np.float32).ravel())
        image.filepath_raw = str(path)
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)


def compose_strip(frames: list[np.ndarray], gap: int = 4, gap_value: float = 1.0) -> np.ndarray:
    """(H, W, 3) images side by side, `gap` pixels of `gap_value` between them."""
    h = frames[0].shape[0]
    spacer = np.full((h, gap, 3), gap_value, dtype=np.float32)
    parts = []
    for i, frame in enumerate(frames):
        if i:
            parts.append(spacer)
        parts.append(frame.astype(np.float32))
    return np.concatenate(parts, axis=1)


def render_strip(obj, frames, path, frame_height: int = 320) -> Path:
    """Render `obj` (an SMPL-X armature, animated) at each scene frame of `frames` with a
    mannequin on it, front view, Workbench, and save them side by side as the PNG `path`;
    the path. The mannequin, camera and light stay in the scene (a .blend saved after shows
    the same). OutputError when the folder is missing or Blender cannot render or save."""
    path = Path(path).resolve()
    if not path.parent.is_dir():
        raise OutputError(f"{path}: cannot write the preview here, the folder {path.parent} does not exist")
    scene = bpy.context.scene
    frames = [int(f) for f in frames]
    if not frames:
        raise OutputError(f"{path}: no frames to render")
    add_mannequin(obj)
    add_camera_and_light(scene, framing(obj, frames), frame_height)
    _workbench(scene)
    images = []
    with tempfile.TemporaryDirectory(prefix="motion-tokens-render-") as tmp:
        for frame in frames:
            scene.frame_set(frame)
            scene.render.filepath = os.path.join(tmp, f"frame_{frame:06d}.png")
            try:
                bpy.ops.render.render(write_still=True)
            except RuntimeError as exc:
                raise OutputError(f"{path}: Blender could not render frame {frame} ({str(exc).strip()})") from None
            images.append(_read_png(Path(scene.render.filepath)))
    _write_png(path, compose_strip(images))
    return path
