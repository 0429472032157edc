"""Blender-facing tests: they import bpy (the module) and run headless."""

import pytest

bpy = pytest.importorskip("bpy", reason="bpy (the Blender module) is not installed")


@pytest.fixture
def empty_scene():
    """A fresh empty scene for each test, so tests never see each other's objects."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene
