"""Shipped RQ-VAE bundles trained again by tools/train_codecs.py, beside what their manifests record.

    .venv/bin/python bench/retrain_codecs.py [--bundles rqvae4-9-body ...] [--work DIR] [--jobs 2]
                                             [--out bench/results/codec_retrain.md]

Trains each bundle of --bundles (their own `train-codec` command, one thread each, --jobs at
once) into --work (default $XDG_CACHE_HOME/motion_tokens/retrain; a bundle already there is
reused, so the table can be rewritten without training again) and sets the retrained time and
figures beside the shipped manifest's. Two questions: how long the training really takes on
this machine (the time `tools/train_codecs.py --estimate` adds up comes from the manifests, and
a manifest records whatever the machine was doing beside the training), and how far a bundle's
figures move when it is trained again elsewhere (CPU kernels differ by machine type, and over
thousands of steps the rounding differences grow into different weights).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from train_codecs import lanes_of, recorded_seconds  # noqa: E402

DEFAULT_BUNDLES = ("rqvae4-9-body", "rqvae4-10-body")
RQVAE_FAMILIES, BITS, PARTS = ("rqvae", "rqvae4"), (6, 9, 10, 12), ("body", "hands", "face")


def _split_name(name: str) -> tuple[str, int, str]:
    """'rqvae4-10-body' -> ('rqvae4', 10, 'body')."""
    family, bits, part = name.split("-")
    return family, int(bits), part


def figures_of(folder: Path) -> dict:
    """The figures of a bundle's manifest the table compares."""
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    held, train = m["evaluation"]["held_out"], m["evaluation"]["train"]
    return {"seconds": float(m["training"]["seconds"]), "held_cm": held["rmse_cm"],
            "held_deg": held["rotation_mean_deg"], "usage": min(layer["usage_percent"] for layer in held["per_layer"]),
            "train_cm": train["rmse_cm"], "train_deg": train["rotation_mean_deg"], "weights": m["files"]}


def _estimate_hours(seconds: dict[str, float], jobs: int) -> float:
    return max(sum(seconds[n] for n in lane) for lane in lanes_of(seconds, jobs)) / 3600


def main(argv=None) -> int:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundles", nargs="+", default=list(DEFAULT_BUNDLES))
    parser.add_argument("--work", type=Path, default=cache / "motion_tokens" / "retrain")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "codec_retrain.md")
    args = parser.parse_args(argv)
    models = REPO / "models"
    for name in args.bundles:
        if not (models / name / "manifest.json").is_file():
            print(f"error: {models / name}: no shipped bundle of that name", file=sys.stderr)
            return 2
        if _split_name(name)[0] not in RQVAE_FAMILIES:
            print(f"error: {name}: not an RQ-VAE bundle", file=sys.stderr)
            return 2
    missing = [n for n in args.bundles if not (args.work / n / "manifest.json").is_file()]
    wall = None
    for family in RQVAE_FAMILIES:
        todo = [_split_name(n) for n in missing if _split_name(n)[0] == family]
        if not todo:
            continue
        command = [sys.executable, str(REPO / "tools" / "train_codecs.py"), "--families", family,
                   "--bits", *sorted({str(b) for _, b, _ in todo}), "--parts", *sorted({p for _, _, p in todo}),
                   "--models", str(args.work), "--jobs", str(args.jobs)]
        print("$ " + " ".join(command[1:]), flush=True)
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
        wall = (wall or 0.0) + time.perf_counter() - start
    rows = [(n, figures_of(models / n), figures_of(args.work / n)) for n in args.bundles]

    everything = [f"{f}-{b}-{p}" for f in RQVAE_FAMILIES for b in BITS for p in PARTS]
    shipped_s = {n: recorded_seconds(models / n) for n in everything}
    retrained_s = shipped_s | {n: again["seconds"] for n, _, again in rows}
    lines = ["# Shipped RQ-VAE bundles trained again", "",
             f"Made by `.venv/bin/python bench/retrain_codecs.py --bundles {' '.join(args.bundles)} --jobs {args.jobs}`,"
             f" which runs `tools/train_codecs.py ... --models WORK --jobs {args.jobs}` (one thread a bundle) "
             f"on this machine ({os.cpu_count()} cores)" + (f"; that training took {wall:.0f} s of wall clock." if wall
                                                           else "; the bundles were already in WORK."), "",
             "Held-out and in-sample figures as each manifest records them (held-out whole takes, 30 fps).", "",
             "| bundle | run | training s | held-out cm | held-out rotation deg | lowest level usage % (held out) "
             "| in-sample cm | in-sample rotation deg | same weights |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for name, shipped, again in rows:
        same = "yes" if shipped["weights"] == again["weights"] else "no"
        for label, f in (("shipped", shipped), ("trained again", again)):
            lines.append(f"| {name} | {label} | {f['seconds']:.0f} | {f['held_cm']:.3f} | {f['held_deg']:.2f} | "
                         f"{f['usage']:.1f} | {f['train_cm']:.3f} | {f['train_deg']:.2f} | {same} |")
    lines += ["", "## Findings", ""]
    for name, shipped, again in rows:
        lines.append(f"- **{name}**: training time {shipped['seconds']:.0f} s recorded, {again['seconds']:.0f} s "
                     f"again ({shipped['seconds'] / again['seconds']:.2f}x); held-out error "
                     f"{(again['held_cm'] / shipped['held_cm'] - 1) * 100:+.1f}%, rotation "
                     f"{(again['held_deg'] / shipped['held_deg'] - 1) * 100:+.1f}%, in-sample error "
                     f"{(again['train_cm'] / shipped['train_cm'] - 1) * 100:+.1f}%, lowest level usage "
                     f"{shipped['usage']:.1f}% -> {again['usage']:.1f}%"
                     + (" (below the 95% target)" if again["usage"] < 95 <= shipped["usage"] else "") + ".")
    lines.append(f"- **All {len(everything)} RQ-VAE bundles on {args.jobs} cores** (`tools/train_codecs.py --families "
                 f"rqvae rqvae4 --estimate --jobs {args.jobs}`, the busiest worker): "
                 f"{_estimate_hours(shipped_s, args.jobs):.2f} h from the shipped manifests, "
                 f"{_estimate_hours(retrained_s, args.jobs):.2f} h with the times measured here for "
                 f"{', '.join(args.bundles)}.")
    if any(shipped["weights"] != again["weights"] for _, shipped, again in rows):
        lines.append("- Where the weights differ, the same command with the same seed ran on another machine "
                     "(a seed's weights repeat on one machine, tests/test_training.py): the differences are the "
                     "spread to expect between two trainings, and the report's figures are those of the shipped "
                     "weights.")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
