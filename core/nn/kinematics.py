"""Forward kinematics in torch, differentiable: any skeleton, and the positions of one part."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..kinematics import joint_levels
from ..parts import get_part
from ..skeleton import NUM_SMPLX_JOINTS, SMPLX_PARENTS, smplx_skeleton
from .rotations import axis_angle_to_matrix


def forward_kinematics(local: torch.Tensor, offsets: torch.Tensor, parents, root: torch.Tensor):
    """World rotations and positions of every joint (core.kinematics.forward_kinematics in torch).

    local: (..., J, 3, 3) rotation of each joint relative to its parent; offsets: (J, 3) rest
    offsets (offsets[root] ignored); parents: (J,) ints, parents before children; root:
    (..., 3) the root's world position. Returns (global (..., J, 3, 3), positions (..., J, 3)).
    One batched step per tree level (about 12 for SMPL-X), not per joint.
    """
    parents = tuple(int(p) for p in parents)
    par = torch.as_tensor(parents)
    levels = [torch.as_tensor(level) for level in joint_levels(parents)]
    G = torch.zeros_like(local)
    P = local.new_zeros(*local.shape[:-1])
    G = G.index_copy(-3, levels[0], local[..., levels[0], :, :])
    P = P.index_copy(-2, levels[0], root[..., None, :].expand(*root.shape[:-1], len(levels[0]), 3))
    for level in levels[1:]:
        p = par[level]
        pg = G[..., p, :, :]
        G = G.index_copy(-3, level, pg @ local[..., level, :, :])
        P = P.index_copy(-2, level, P[..., p, :] + (pg @ offsets[level][..., None])[..., 0])
    return G, P


class PartPositions(nn.Module):
    """Differentiable `core.codecs.features.part_positions`: (..., F) features -> (..., P, 3) metres."""

    def __init__(self, part: str, skeleton=None):
        super().__init__()
        sk = smplx_skeleton() if skeleton is None else skeleton
        self.spec = get_part(part)
        self.joints = list(self.spec.joints)
        self.points = list(self.spec.points)
        self.tips_from = list(self.spec.tips_from)
        self.origins = list(self.spec.point_origins)
        self.register_buffer("offsets", torch.tensor(np.array(sk.offsets), dtype=torch.float64), persistent=False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        lead = features.shape[:-1]
        J = len(self.joints)
        local = torch.eye(3, dtype=features.dtype).expand(*lead, NUM_SMPLX_JOINTS, 3, 3).clone()
        local[..., self.joints, :, :] = axis_angle_to_matrix(features[..., : 3 * J].reshape(*lead, J, 3))
        offsets = self.offsets.to(features.dtype)
        G, P = forward_kinematics(local, offsets, SMPLX_PARENTS, features.new_zeros(*lead, 3))
        points = P[..., self.points, :]
        if self.tips_from:
            tips = P[..., self.tips_from, :] + (G[..., self.tips_from, :, :] @ offsets[self.tips_from][..., None])[..., 0]
            points = torch.cat([points, tips], dim=-2)
        return points - P[..., self.origins, :]
