"""The motion tokens an action was made from, kept on the action itself, so the inspector can
show and edit them and New Variation can pin a range of them.

Stored as one ID property, `action["motion_tokens_tokens"]`:

    token_fps      float   tokens per second
    frame_start    int     the scene frame token 0 starts on (the action's first frame)
    scene_fps      float   the scene's rate when the action was made
    generator      str     the generator bundle's name ("gen-kmeans-10"), "" if none
    generator_sha256 str   sha256 of its weights file, "" if none
    seed           int     the sampling seed
    source         str     what was spoken: the sound strip's name (or the file's)
    seam_frames    int[]   the frames of the 30 fps motion (0: its first) where the
                           generation windows met and the keys were smoothed (core/inertialization.py)
    num_frames     int     frames of the 30 fps motion the tokens code (absent or 0: unknown)
    parts          {part: {codec, sha256, family, size {k | D, Q}, shape [T] | [T, Q], tokens int[],
                           token_fps (the part's rows per second where not token_fps: 7.5 for rqvae4)}}

Why an ID property rather than F-curves: tokens are integers with no meaning between frames,
one property travels with the action (duplicated, appended into another file), and
`sha256` says exactly which codebook the integers index (as a tokens file does,
core.formats.tokens), so they are never read through another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.formats.tokens import Codebook

#: The ID property of an action that holds its tokens.
TOKENS_KEY = "motion_tokens_tokens"


@dataclass
class ActionTokens:
    """tokens: part -> int64 (T,) or (T, Q); codec_names: part -> codec name; codebooks:
    part -> the Codebook that made them; the rest as in the module docstring."""

    tokens: dict[str, np.ndarray]
    codec_names: dict[str, str]
    codebooks: dict[str, Codebook]
    token_fps: float
    frame_start: int
    scene_fps: float
    generator: str = ""
    generator_sha256: str = ""
    seed: int = 0
    source: str = ""
    extra: dict = field(default_factory=dict)
    seam_frames: tuple = ()
    #: part -> its rows of tokens per second, where not token_fps (a downsampled codec's).
    part_token_fps: dict = field(default_factory=dict)
    #: Frames of the 30 fps motion the tokens code (0: unknown, for actions made before it was kept).
    num_frames: int = 0

    def fps_of(self, part: str) -> float:
        """The part's rows of tokens per second."""
        return float(self.part_token_fps.get(part, self.token_fps))

    def token_range(self, frame_first: int, frame_last: int) -> tuple[int, int]:
        """The token frames [start, stop) that the scene frames frame_first..frame_last
        (inclusive) cover, clipped to the tokens: token i spans the scene frames from
        frame_start + i x scene_fps / token_fps on."""
        n = min(len(t) for t in self.tokens.values()) if self.tokens else 0
        per = self.token_fps / self.scene_fps
        start = int(np.floor((frame_first - self.frame_start) * per + 1e-9))
        stop = int(np.floor((frame_last - self.frame_start) * per + 1e-9)) + 1
        return max(0, min(start, n)), max(0, min(stop, n))


def store_tokens(action, record: ActionTokens) -> None:
    """Keep `record` on `action` (replacing what it held)."""
    parts = {}
    for part, tokens in record.tokens.items():
        tokens = np.asarray(tokens)
        book = record.codebooks.get(part)
        parts[part] = {
            "codec": record.codec_names[part],
            "sha256": book.sha256 if book else "",
            "family": book.family if book else "",
            "size": dict(book.size) if book else {},
            "shape": [int(s) for s in tokens.shape],
            "tokens": np.ascontiguousarray(tokens, dtype=np.int32).ravel(),
        }
        if part in record.part_token_fps:
            parts[part]["token_fps"] = float(record.part_token_fps[part])
    action[TOKENS_KEY] = {
        "token_fps": float(record.token_fps), "frame_start": int(record.frame_start),
        "scene_fps": float(record.scene_fps), "generator": record.generator,
        "generator_sha256": record.generator_sha256, "seed": int(record.seed), "source": record.source,
        "parts": parts, "seam_frames": [int(b) for b in record.seam_frames], "num_frames": int(record.num_frames),
    }


def read_tokens(action) -> ActionTokens | None:
    """The tokens kept on `action` (store_tokens); None when it keeps none."""
    if action is None or TOKENS_KEY not in action:
        return None
    data = action[TOKENS_KEY].to_dict()
    tokens, names, books, rates = {}, {}, {}, {}
    for part, entry in data.get("parts", {}).items():
        shape = tuple(int(s) for s in entry["shape"])
        tokens[part] = np.asarray(entry["tokens"], dtype=np.int64).reshape(shape)
        names[part] = str(entry["codec"])
        if "token_fps" in entry:
            rates[part] = float(entry["token_fps"])
        if entry.get("sha256"):
            books[part] = Codebook(str(entry["sha256"]), str(entry["family"]),
                                   {k: int(v) for k, v in dict(entry["size"]).items()})
    return ActionTokens(tokens, names, books, float(data["token_fps"]), int(data["frame_start"]),
                        float(data["scene_fps"]), str(data.get("generator", "")),
                        str(data.get("generator_sha256", "")), int(data.get("seed", 0)), str(data.get("source", "")),
                        seam_frames=tuple(int(b) for b in data.get("seam_frames", ())), part_token_fps=rates,
                        num_frames=int(data.get("num_frames", 0)))


def encoded_record(encoded, frame_start: int, scene_fps: float, source: str = "") -> ActionTokens:
    """The ActionTokens of an EncodedMotion (core.codecs.coding) keyed from scene frame
    `frame_start` at `scene_fps`: each part's codec name, codebook record and own row rate."""
    from ..core.codecs.coding import codebook_record

    codecs = encoded.codecs
    fps = next(iter(codecs.values())).fps if codecs else 30.0
    return ActionTokens(dict(encoded.tokens), {p: c.name for p, c in codecs.items()},
                        {p: codebook_record(c) for p, c in codecs.items()}, float(fps), int(frame_start),
                        float(scene_fps), source=source,
                        part_token_fps={p: c.token_fps for p, c in codecs.items() if c.token_fps != fps},
                        num_frames=int(encoded.decoded.num_frames))


def keep_tokens_in_blend(path, record: ActionTokens) -> None:
    """After scene.outputs.write_blend saved `path` (still the open file): keep `record` on
    its armature's action and save it again, so a .blend from the command line carries its
    tokens as one made in Blender does. Nothing for another file."""
    import os

    import bpy

    if os.path.normpath(bpy.data.filepath) != os.path.normpath(os.path.abspath(path)):
        return
    for obj in bpy.data.objects:
        action = obj.animation_data.action if obj.type == "ARMATURE" and obj.animation_data else None
        if action is not None:
            store_tokens(action, record)
    paths = bpy.context.preferences.filepaths
    versions, paths.save_version = paths.save_version, 0
    try:
        bpy.ops.wm.save_mainfile(filepath=bpy.data.filepath, check_existing=False)
    finally:
        paths.save_version = versions
