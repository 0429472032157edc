"""The one torch copy of rotations and kinematics: differentiable, for training losses and fits.

Every function mirrors its numpy counterpart in core.rotations / core.kinematics (tests check
them equal) and works over any leading batch shape.
"""
