"""bpy-free compositions, one module per job: an `Options` dataclass -> one function -> a
`Result` with `warnings` and the lines the shells print or report.

Sources and sinks are files (through core) or armatures: where a job reads or writes Blender
data, the caller (an operator, or the CLI for .blend/.fbx output) hands in the scene-side
object or callable from `motion_tokens.scene`, so nothing here imports bpy or the scene
modules at import time. Every core call of a job is made from its module here.
"""
