"""Train every codec bundle of a table (family x bits x part) into models/, skipping the done ones.

    python tools/train_codecs.py [--families kmeans rqvae rqvae4] [--bits 6 9 10 12]
                                 [--parts body hands face] [--data DIR...] [--models models]
                                 [--checkpoint-dir DIR] [--dry-run]

`make codecs` runs it. Each bundle is `python -m motion_tokens train-codec ...` run in this
process (the command each manifest records); a bundle whose manifest records the same command
and, for an RQ-VAE, the same optimisation settings and model version as this code's defaults
is skipped, so an interrupted run continues where it stopped, and an RQ-VAE interrupted
mid-training resumes from its checkpoint (--checkpoint-dir, default
$XDG_CACHE_HOME/motion_tokens/checkpoints). Progress: one line per bundle with the count and
the time so far, then the trainer's own lines. Data: --data for every part, else
$MOTION_TOKENS_DATA (default ../shared/data) with `PART_DATA` per part. On a GPU when torch
sees one (a few minutes for all); on 2 CPU cores about 5 minutes per RQ-VAE bundle.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import MISSING, asdict, fields
from pathlib import Path

from motion_tokens.core.codecs.registry import FAMILY_CLASSES, codec_name
from motion_tokens.core.codecs.training.fitted import command_line
from motion_tokens.core.codecs.training.rqvae_fit import RQVAETraining, default_training
from motion_tokens.core.errors import MotionTokensError
from motion_tokens.core.parts import PARTS
from motion_tokens.core.paths import data_dir
from motion_tokens.pipelines.train_codec import TrainOptions, train_codec

#: The data folders (under the data folder) each part is trained on by default.
PART_DATA = {"body": ("bandai", "beat2"),
             "hands": ("beat2", "hands/manipnet", "sign/fingerspelling", "sign/lexicons/fingerspelling"),
             "face": ("beat2",)}
BITS = (6, 9, 10, 12)


def _default_checkpoints() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "motion_tokens" / "checkpoints"


def _data_for(part: str, data) -> list[Path]:
    if data:
        return list(data)
    root = Path(os.path.relpath(data_dir())) if data_dir().is_absolute() else data_dir()
    return [root / name for name in PART_DATA.get(part, ("bandai", "beat2"))]


def is_done(folder: Path, family: str, bits: int, part: str, command: str) -> bool:
    """Whether the bundle in `folder` was made by `command` with this code's default
    settings (for an RQ-VAE: its optimisation settings and a 6D model)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("command") != command:
        return False
    cls = FAMILY_CLASSES[family]
    if any(manifest.get(key) != value for key, value in cls.sizes_at(bits, part).items()):
        return False
    if family == "kmeans":
        return True
    settings = asdict(default_training(part, cls.FRAMES_PER_LATENT, bits))
    # A setting added since a bundle was trained took its default value there.
    recorded = {f.name: f.default for f in fields(RQVAETraining) if f.default is not MISSING}
    recorded.update(manifest.get("training", {}).get("optimisation", {}))
    recorded.pop("optimizer", None)
    return recorded == settings and manifest.get("model_config", {}).get("rotation") == "6d"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILY_CLASSES), choices=list(FAMILY_CLASSES))
    parser.add_argument("--bits", nargs="+", type=int, default=list(BITS), choices=BITS)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--data", nargs="+", type=Path, default=None, help="motion folders for every part")
    parser.add_argument("--models", type=Path, default=Path("models"), help="where the bundles go (models)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None, help="RQ-VAE checkpoints (default: the cache)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dry-run", action="store_true", help="list what would be trained and stop")
    args = parser.parse_args(argv)
    jobs = [(f, b, p) for f in args.families for p in args.parts for b in args.bits]
    checkpoints = args.checkpoint_dir or _default_checkpoints()
    start, trained = time.perf_counter(), 0
    for i, (family, bits, part) in enumerate(jobs, 1):
        name, data = codec_name(family, bits), _data_for(part, args.data)
        out = args.models / f"{name}-{part}"
        command = command_line(family, bits, part, data, out, args.seed, False)
        elapsed = time.perf_counter() - start
        if is_done(out, family, bits, part, command):
            print(f"[{i}/{len(jobs)}] {out.name}: up to date, skipped ({elapsed:.0f} s so far)", flush=True)
            continue
        if not all(Path(d).exists() for d in data):
            print(f"[{i}/{len(jobs)}] {out.name}: no data ({', '.join(map(str, data))}), skipped", flush=True)
            continue
        print(f"[{i}/{len(jobs)}] {out.name}: training ({elapsed:.0f} s so far)", flush=True)
        if args.dry_run:
            continue
        options = TrainOptions(family, bits, part, tuple(data), out, args.seed, checkpoint_dir=checkpoints,
                               resume=family != "kmeans")
        try:
            result = train_codec(options, progress=lambda line: print(line, flush=True))
        except MotionTokensError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        trained += 1
        print(*result.lines, sep="\n", flush=True)
    print(f"{trained} bundles trained, {len(jobs) - trained} up to date or skipped, "
          f"{time.perf_counter() - start:.0f} s in all", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
