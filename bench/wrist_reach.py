"""How much of the wrists' reach body codec bundles keep, held out and in-sample (issue #14).

    # trial bundles with and without the reach term (minutes each on 2 cores):
    .venv/bin/python bench/codec_variants.py train --family rqvae4 --bits 10 --part body \\
        --steps 1500 --reach-weight 0.02 --threads 1 --out /tmp/reach/w0.02
    # their wrist hulls beside the figures their manifests record:
    .venv/bin/python bench/wrist_reach.py /tmp/reach/* [--data DIR...] [--out bench/results/wrist_reach.md]

The hull figure is the report's (core/codecs/evaluation: per wrist, the summed convex-hull
volumes of its trajectory over the takes, in the root's frame, decoded as % of the original),
here on both splits of core/codecs/split.json: the report gives the held-out one only, and the
in-sample one says whether a shortfall is the training's (the loss lets the reach shrink) or
the data's (unseen extremes). Position and rotation errors are the manifests' (`evaluate_codec`
on the same splits).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "wrist_reach.md"


def hull_pct(codec, arrays) -> tuple[float, float]:
    """(left, right) decoded wrist hull volume as % of the original, summed over the takes:
    arrays are body features (T, 63) per take; nan when the original has no volume."""
    from motion_tokens.core.codecs.features import part_positions
    from motion_tokens.core.codecs.metrics import WRISTS, wrist_hull_volume_ratio
    from motion_tokens.core.parts import get_part

    rows = tuple(get_part("body").points.index(j) for j in WRISTS)
    orig, dec = np.zeros(2), np.zeros(2)
    for a in arrays:
        decoded = codec.decode(codec.encode(a), len(a))
        hull = wrist_hull_volume_ratio(part_positions(a, "body"), part_positions(decoded, "body"), rows)
        orig += hull.original_m3
        dec += hull.decoded_m3
    return tuple(float(100.0 * d / o) if o > 0 else float("nan") for o, d in zip(orig, dec))


def _settings(manifest: dict) -> str:
    opt = manifest.get("training", {}).get("optimisation")
    if not opt:
        return manifest["family"]
    levels = f"{manifest['Q']} levels of {manifest['D']} codes, " if "D" in manifest and "Q" in manifest else ""
    return (levels + f"{opt['steps']} steps, hidden {opt['hidden']}, rotation weight {opt['rot_weight']:g}, "
            f"reach weight {opt.get('reach_weight', 0.0):g}"
            + (f", dead-code threshold {opt['dead_code_threshold']:g}" if opt.get("dead_code_threshold", 2.0) != 2.0
               else ""))


def _pair(values) -> str:
    return "/".join("n/a" if np.isnan(v) else f"{v:.1f}" for v in values)


def _lowest_usage(block: dict) -> str:
    levels = [layer["usage_percent"] for layer in block.get("per_layer", [])]
    return f"{min(levels):.1f}" if levels else f"{block.get('usage_percent', float('nan')):.1f}"


def main(argv=None) -> int:
    from motion_tokens.core.codecs.registry import load_codec
    from motion_tokens.core.codecs.training.dataset import part_dataset, read_takes, split_takes
    from motion_tokens.core.machine import machine_line
    from motion_tokens.core.paths import data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="body codec bundle folders")
    parser.add_argument("--data", nargs="+", type=Path, default=None, help="motion folders (bandai, beat2)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    data = args.data or [data_dir() / "bandai", data_dir() / "beat2"]
    manifests = {}
    for folder in args.folders:
        try:
            manifests[folder] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"error: {folder / 'manifest.json'}: cannot be read ({exc})", file=sys.stderr)
            return 2
        if manifests[folder].get("part") != "body":
            print(f"error: {folder}: a {manifests[folder].get('part')} codec; the wrists are the body's",
                  file=sys.stderr)
            return 2
    train_takes, held_takes = split_takes(read_takes(data))
    splits = {"held_out": part_dataset(held_takes, "body").arrays if held_takes else [],
              "train": part_dataset(train_takes, "body").arrays if train_takes else []}
    lines = ["# Wrist reach of body codecs, held out and in-sample (issue #14)", "",
             "Made by `bench/wrist_reach.py` (its docstring gives the commands); data "
             + ", ".join(f"`{d}`" for d in data) + ".", "", machine_line(), "",
             "Wrist hull: decoded volume of each wrist's trajectory (left/right) as % of the original, summed over "
             "the split's takes (target 90-110%). cm: position RMSE of the part's points; deg: mean geodesic rotation "
             "error of its joints; usage: the lowest quantiser level's held-out code usage (the manifests' figures).",
             "", "| bundle | trained as | held-out hull % | in-sample hull % | held-out cm | held-out deg | "
             "in-sample cm | in-sample deg | held-out lowest usage % |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for folder, manifest in manifests.items():
        codec = load_codec(folder)
        hulls = {split: hull_pct(codec, arrays) if arrays else (float("nan"),) * 2 for split, arrays in splits.items()}
        ev = manifest.get("evaluation", {})
        held, train = ev.get("held_out", {}), ev.get("train", {})
        lines.append(f"| `{folder}` ({manifest['name']}) | {_settings(manifest)} | {_pair(hulls['held_out'])} | "
                     f"{_pair(hulls['train'])} | {held.get('rmse_cm', float('nan')):.2f} | "
                     f"{held.get('rotation_mean_deg', float('nan')):.2f} | {train.get('rmse_cm', float('nan')):.2f} | "
                     f"{train.get('rotation_mean_deg', float('nan')):.2f} | {_lowest_usage(held)} |")
        print(lines[-1], flush=True)
    lines.append("")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
