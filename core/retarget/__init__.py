"""Skeleton-to-skeleton transfer: bone maps, retargeting, rig layouts, reading as SMPL-X.

- `bone_maps`: BoneMap and the map files (shipped ones in maps/*.json), `bone_map_for`;
- `alignment`: the rest-pose alignment the transfer rests on (the method is described there);
- `transfer`: `retarget` (any skeleton onto any) and `retarget_to_smplx`, the root scale;
- `inverse`: `retarget_from_rig`, motion on a rig read back as SMPL-X through the rig map;
- `rigs`: the rig layouts animators use (rest skeletons in data/*_rest.json), matching an
  armature's bones and detecting its layout;
- `reading`: `read_smplx_motion`, any motion file as SMPL-X motion.
"""

from .alignment import (
    direction_ends,
    partial_rotations,
    rest_alignments,
    source_indices,
)
from .bone_maps import (
    MAPS_DIR,
    SMPLX_SOURCE,
    BoneMap,
    bone_map_for,
    bone_map_from_dict,
    bone_map_path,
    load_bone_map,
    read_json_object,
    shipped_bone_maps,
)
from .inverse import retarget_from_rig
from .reading import read_smplx_motion
from .rigs import (
    MIN_COVERAGE,
    SHIPPED_RIGS,
    BoneMatch,
    RigDetectionError,
    RigLayout,
    bare_name,
    detect_rig,
    load_rig_map,
    match_bones,
    rig_layout,
    skeleton_from_joints,
)
from .transfer import RetargetResult, retarget, retarget_to_smplx, root_scale

__all__ = [
    "MAPS_DIR", "SMPLX_SOURCE", "BoneMap", "bone_map_for", "bone_map_from_dict", "bone_map_path", "load_bone_map",
    "read_json_object", "shipped_bone_maps",
    "direction_ends", "partial_rotations", "rest_alignments", "source_indices",
    "RetargetResult", "retarget", "retarget_to_smplx", "root_scale", "retarget_from_rig",
    "MIN_COVERAGE", "SHIPPED_RIGS", "BoneMatch", "RigDetectionError", "RigLayout", "bare_name", "detect_rig",
    "load_rig_map", "match_bones", "rig_layout", "skeleton_from_joints",
    "read_smplx_motion",
]
