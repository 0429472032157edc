"""Whether codec bundles are installed: the one check the encode and quantize jobs share.

The names and signatures are those `core.codecs.registry` takes on at merge
(`installed_parts`, `require_codec_folder`).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..core.codecs.features import PARTS
from ..core.codecs import registry
from ..core.codecs.registry import codec_folder
from ..core.errors import MotionTokensError

_CODEC_NAME = re.compile(r"^[a-z]+-\d+$")


def _models(models_dir) -> Path:
    return Path(registry.MODELS_DIR if models_dir is None else models_dir)  # read late: tests repoint it


def installed_parts(name: str, models_dir=None) -> list[str]:
    """The parts for which codec `name` has a bundle folder under `models_dir` (default the
    extension's models/); MotionTokensError naming the installed bundles when it has none."""
    parts = [part for part in PARTS if codec_folder(name, part, models_dir).is_dir()]
    if not parts:
        where = _models(models_dir)
        installed = sorted(p.name for p in where.iterdir() if p.is_dir()) if where.is_dir() else []
        raise MotionTokensError(
            f"no codec bundle named {name!r} in {where} (installed: {', '.join(installed) or 'none'}); "
            "list them with `motion-tokens codecs`"
        )
    return parts


def require_codec_folder(name: str, part: str, models_dir=None) -> Path:
    """The bundle folder of codec `name` for `part`; MotionTokensError when `name` is not a
    codec name or the folder is missing (naming the bundles installed for that part)."""
    if not _CODEC_NAME.match(name):
        raise MotionTokensError(f"{name!r} is not a codec name like 'kmeans-6' or 'rqvae-12' (for the {part})")
    folder = codec_folder(name, part, models_dir)
    if not folder.is_dir():
        models = folder.parent
        bundled = sorted(p.name for p in models.iterdir() if p.name.endswith(f"-{part}")) if models.is_dir() else []
        raise MotionTokensError(
            f"codec {name!r} is not bundled for the {part} (no folder {folder}); "
            f"bundled: {', '.join(bundled) or 'none'}"
        )
    return folder
