"""Blender-facing tests: they import bpy (the module) and run headless."""

import pytest

bpy = pytest.importorskip("bpy", reason="bpy (the Blender module) is not installed")


@pytest.fixture
def empty_scene():
    """A fresh empty scene for each test, so tests never see each other's objects."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    yield bpy.context.scene


@pytest.fixture(scope="module")
def registered():
    """The add-on registered for a test module (use with `pytestmark = pytest.mark.usefixtures("registered")`)."""
    import motion_tokens

    motion_tokens.register()
    yield
    motion_tokens.unregister()


@pytest.fixture
def scene(empty_scene):
    """An empty scene at 30 fps on frame 1 (the excerpts' rate, so frames match one to one)."""
    empty_scene.render.fps, empty_scene.render.fps_base = 30, 1.0
    empty_scene.frame_current = 1
    return empty_scene
