"""Where the extension's files and the shared data are: one place for every default."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository root, which is also the extension's root.
REPO = Path(__file__).resolve().parents[1]
#: The bundled model folders (one per bundle).
MODELS_DIR = REPO / "models"
#: The environment variable naming the shared data folder.
DATA_ENV = "MOTION_TOKENS_DATA"


def data_dir() -> Path:
    """The shared data folder: $MOTION_TOKENS_DATA, default ../shared/data beside the repository."""
    return Path(os.environ.get(DATA_ENV) or REPO.parent / "shared" / "data")
