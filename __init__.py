"""Motion Tokens, the Blender extension: register() and unregister() only.

The bpy-facing modules are imported inside them, so importing the package needs no Blender
(`python -m motion_tokens`, the core library and its tests run without bpy).
"""


def _bpy_modules():
    """The modules with bpy classes, in registration order (unregistered in reverse)."""
    from .operators import capture_video, export_motion, gestures, import_motion, quantize_action
    from .panels import capture, codec, main, properties, speech
    from .operators import inspect as inspect_operators
    from .panels import inspect as inspect_panel
    from .operators import tokens_ui
    from .panels import token_settings, tokens as tokens_panel
    from .operators import spot_signs
    from .panels import sign_settings, signs as signs_panel

    # The scene settings first (the operators read them when invoked from the panel), then the
    # operators before the panels that draw their buttons. The Codec panel is a child of the
    # main panel, so it comes after it.
    # The Tokens and Signs settings before the scene settings that point to them.
    return (token_settings, sign_settings, properties, import_motion, export_motion, quantize_action, gestures,
            capture_video, inspect_operators, tokens_ui, spot_signs, main, codec, speech, capture, inspect_panel,
            tokens_panel, signs_panel)


def register():
    for module in _bpy_modules():
        module.register()


def unregister():
    for module in reversed(_bpy_modules()):
        module.unregister()
