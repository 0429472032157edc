"""Rewrite core/codecs/split.json, the fixed held-out split of the codec data.

    python tools/make_split.py [--data DIR...] [--tail-takes NAME...]

Only when the shared data changes: the committed file is the split (training.dataset).
--data defaults to the shared data folder's bandai, beat2, hands/manipnet and the sign fingerspelling folders ($MOTION_TOKENS_DATA, default
../shared/data).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from motion_tokens.core.codecs.training.dataset import SPLIT_FILE, make_split_file
from motion_tokens.core.paths import data_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", type=Path, default=None, help="folders of motion files")
    parser.add_argument("--tail-takes", nargs="+", default=["2_scott_0_1_1"],
                        help="takes held out by their last 25%% (too few takes to split by take)")
    args = parser.parse_args(argv)
    folders = args.data or [data_dir() / "bandai", data_dir() / "beat2", data_dir() / "hands" / "manipnet",
                            data_dir() / "sign" / "fingerspelling", data_dir() / "sign" / "lexicons" / "fingerspelling"]
    content = make_split_file(folders, args.tail_takes)
    print(f"{SPLIT_FILE}: {len(content['held_out_takes'])} whole takes held out (letters {content['held_out_letters']}); "
          f"tails {content['held_out_tails']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
