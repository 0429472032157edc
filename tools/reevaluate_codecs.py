"""Recompute the evaluation block of codec bundles on the current split, weights unchanged.

    python tools/reevaluate_codecs.py [--stale | BUNDLE_FOLDER...] [--data DIR...]

When the data or the split grows (ManipNet hands, 2026-12-02), or the evaluation changes (the
hands measured with their mirror images too, 2026-12-03), a bundle's manifest still states
its figures as they were measured when it was trained. Retraining is the cure; where there
is no time for it, this recomputes `evaluation` (held-out and in-sample, by
training.train.manifest_evaluation, the figures train-codec writes) on today's split of the
part's default data (tools/train_codecs.PART_DATA) and says so in the manifest's notes. The
weights, and so the sha256 every tokens file and generator records, are untouched.
`--stale` picks the bundles whose held-out frame count differs from what is measured now.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_codecs import _data_for  # noqa: E402  (the one table of each part's data)

from motion_tokens.core.codecs.registry import load_codec  # noqa: E402
from motion_tokens.core.codecs.training.dataset import (  # noqa: E402
    evaluation_dataset,
    part_dataset,
    read_takes,
    split_takes,
)
from motion_tokens.core.codecs.training.train import manifest_evaluation  # noqa: E402
from motion_tokens.core.formats.atomic import write_atomically  # noqa: E402

NOTE = ("evaluation recomputed on the split of {date} by tools/reevaluate_codecs.py (weights unchanged; "
        "trained on the data and split its `training` block states)")


def _datasets(part: str, data, cache: dict):
    """(training, held-out) PartDatasets of `part` on its default data (read once per data)."""
    dirs = tuple(map(str, _data_for(part, data)))
    if dirs not in cache:
        cache[dirs] = split_takes(read_takes(dirs))
    train_takes, held_takes = cache[dirs]
    return part_dataset(train_takes, part), part_dataset(held_takes, part)


def reevaluate(folder: Path, data, cache: dict, date: str, stale_only: bool) -> str | None:
    """Rewrite `folder`'s manifest with the evaluation on today's split; a line saying what
    changed, or None where the bundle was up to date (with stale_only)."""
    codec = load_codec(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    train, held = _datasets(codec.part, data, cache)
    before = manifest.get("evaluation", {}).get("held_out", {})
    if stale_only and before.get("frames") == evaluation_dataset(held).num_frames:
        return None
    evaluation = manifest["evaluation"] = manifest_evaluation(codec, train, held)
    notes = [n for n in manifest.get("notes", []) if "tools/reevaluate_codecs.py" not in n]
    manifest["notes"] = notes + [NOTE.format(date=date)]
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    write_atomically(folder / "manifest.json", lambda f: f.write(text.encode("utf-8")))
    load_codec(folder)  # still a valid bundle
    return (f"{folder.name}: held-out {before.get('rmse_cm')} cm on {before.get('frames')} frames -> "
            f"{evaluation['held_out']['rmse_cm']} cm on {evaluation['held_out']['frames']} frames")


def main(argv=None) -> int:
    import datetime

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundles", nargs="*", type=Path, help="bundle folders (default: every codec bundle)")
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--data", nargs="+", type=Path, default=None, help="motion folders for every part")
    parser.add_argument("--stale", action="store_true", help="only bundles evaluated on another split")
    args = parser.parse_args(argv)
    folders = args.bundles or sorted(p for p in args.models.iterdir() if (p / "manifest.json").is_file()
                                     and json.loads((p / "manifest.json").read_text()).get("kind") == "codec")
    cache: dict = {}
    date = datetime.date.today().isoformat()
    for folder in folders:
        line = reevaluate(folder, args.data, cache, date, args.stale)
        print(line or f"{folder.name}: evaluated on the current split already", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
