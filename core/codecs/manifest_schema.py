"""The one schema of a bundle's manifest.json: each field's type, range and when it is required.

`check_manifest(path, manifest)` runs it on loading (bundle.load_bundle) and so on listing
(registry.available_codecs loads every bundle); the first field that does not fit raises one
BundleError naming the file and the field. Fields not in the table (free-form notes a
training run adds) are left alone.

A row's `required` says for which bundles the field must be present: "all", a kind ("codec")
or a family ("kmeans", "rqvae", "rqvae4"); elsewhere it is optional but, when present, still checked.
What ties fields together (a codec's name against its bitrate, its fps against the codecs'
30 fps) is registry.check_codec_manifest's.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import BundleError
from ..parts import CODED_PARTS

FORMAT_VERSION = 1
KINDS = ("codec", "generator", "feature-encoder")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# bool is an int in Python; a manifest's `true` is never a count or a rate.
_NUMBER = (int, float)


@dataclass(frozen=True)
class Field:
    """types: the JSON types accepted; required: 'all', a kind or a family, or a tuple of them ('' for optional);
    choices: the values allowed (None: any); low, high: the inclusive range of a number."""

    types: tuple[type, ...]
    required: str | tuple[str, ...] = ""
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None


SCHEMA: dict[str, Field] = {
    "format": Field((int,), "all", choices=(FORMAT_VERSION,)),
    "name": Field((str,), "all"),
    "kind": Field((str,), "all", choices=KINDS),
    "family": Field((str,), "all"),
    "files": Field((dict,), "all"),
    "part": Field((str,), "codec", choices=CODED_PARTS),
    "fps": Field(_NUMBER, "codec", low=1, high=1000),
    "bits_per_frame": Field(_NUMBER, low=0, high=64),
    # Frames one row of tokens codes (absent: 1, every bundle made before downsampling).
    "frames_per_latent": Field((int,), "rqvae4", low=1, high=64),
    "bits_per_second": Field(_NUMBER, low=0, high=64 * 1000),
    "k": Field((int,), "kmeans", low=2, high=1 << 16),
    "D": Field((int,), ("rqvae", "rqvae4"), low=2, high=1 << 16),
    "Q": Field((int,), ("rqvae", "rqvae4"), low=1, high=64),
    "model_config": Field((dict,), ("rqvae", "rqvae4")),
    "seed": Field((int,)),
    "command": Field((str,)),
    "notes": Field((list,)),
    "input": Field((dict,)),
    "training": Field((dict,)),
    "evaluation": Field((dict,)),
}


def _required(field: Field, manifest: dict) -> bool:
    wanted = field.required if isinstance(field.required, tuple) else (field.required,)
    return "all" in wanted or any(w and w in (manifest.get("kind"), manifest.get("family")) for w in wanted)


def _type_name(types: tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", dict: "an object", list: "a list"}
    return " or ".join(names[t] for t in types if not (t is int and float in types))


def _problem(field: Field, value) -> str | None:
    """What is wrong with `value` for `field`, or None when it fits."""
    if isinstance(value, bool) or not isinstance(value, field.types):
        return f"must be {_type_name(field.types)}, got {value!r}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    if field.choices is not None and value not in field.choices:
        return f"is {value!r}, not one of {', '.join(map(repr, field.choices))}"
    if field.low is not None and not (field.low <= value <= field.high):
        return f"is {value!r}, outside [{field.low:g}, {field.high:g}]"
    if isinstance(value, str) and not value.strip():
        return "is empty"
    return None


def _files_problem(files: dict) -> str | None:
    """`files` maps plain file names to sha256 hex digests."""
    for name, digest in files.items():
        if not isinstance(digest, str) or not _SHA256.match(digest):
            return f"maps {name!r} to {digest!r}, not a sha256 hex digest (64 lower-case hex digits)"
    return None


def check_manifest(path: str | Path, manifest) -> None:
    """Raise BundleError naming `path` and the field unless `manifest` (the parsed JSON) fits
    SCHEMA: every required field present, every field present of its type and range."""
    if not isinstance(manifest, dict):
        raise BundleError(path, "must hold a JSON object")
    missing = [name for name, field in SCHEMA.items() if _required(field, manifest) and name not in manifest]
    if missing:
        raise BundleError(path, f"lacks {', '.join(missing)}; reinstall or retrain the bundle")
    for name, field in SCHEMA.items():
        if name not in manifest:
            continue
        problem = _problem(field, manifest[name])
        if problem is None and name == "files":
            problem = _files_problem(manifest[name])
        if problem is not None:
            raise BundleError(path, f"field `{name}` {problem}; reinstall or retrain the bundle")
