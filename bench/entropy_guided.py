"""The entropy-guided RQ-VAE option against the shipped training, at the same settings otherwise.

    .venv/bin/python bench/entropy_guided.py [--work DIR] [--out bench/results/entropy_guided.md]

For each (family, bits, part) of CASES, trains `train-codec ... --entropy-guided` into --work
(default $XDG_CACHE_HOME/motion_tokens/entropy_guided; a bundle already there is reused) on the
part's default data (tools/train_codecs.PART_DATA), and sets its held-out figures beside the
shipped bundle's in models/ (trained without the option): error, rotation error, and the code
usage of every quantiser level. The issue's rule: ship the option where it raises usage
without costing error.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = (("rqvae4", 10, "hands"), ("rqvae4", 10, "body"))


def _data(part: str) -> list[str]:
    sys.path.insert(0, str(REPO / "tools"))
    from train_codecs import PART_DATA

    root = os.environ.get("MOTION_TOKENS_DATA") or str(REPO.parent / "shared" / "data")
    return [os.path.relpath(Path(root) / name, REPO) for name in PART_DATA[part]]


def _figures(folder: Path) -> dict:
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    h = m["evaluation"]["held_out"]
    return {"rmse": h["rmse_cm"], "rot": h["rotation_mean_deg"], "steps": m["training"]["optimisation"]["steps"],
            "usage": [layer["usage_percent"] for layer in h["per_layer"]]}


def main(argv=None) -> int:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=cache / "motion_tokens" / "entropy_guided")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "entropy_guided.md")
    args = parser.parse_args(argv)
    rows, commands = [], []
    for family, bits, part in CASES:
        name = f"{family}-{bits}-{part}"
        out = args.work / name
        cmd = ["train-codec", "--family", family, "--bits", str(bits), "--part", part, "--entropy-guided",
               "--data", *_data(part), "--out", str(out)]
        commands.append("python -m motion_tokens " + shlex.join(cmd))
        if not (out / "manifest.json").is_file():
            print("$ " + commands[-1], flush=True)
            subprocess.run([sys.executable, "-m", "motion_tokens", *cmd], cwd=REPO, check=True)
        rows.append((name, _figures(REPO / "models" / name), _figures(out)))
    lines = ["# The entropy-guided option against the shipped training", "",
             "Made by `.venv/bin/python bench/entropy_guided.py --work WORK`, which trains:", ""]
    lines += [f"- `{c.replace(str(args.work), 'WORK')}`" for c in commands]
    lines += ["", "Held-out split; the shipped bundle (models/) is trained the same way without `--entropy-guided`.", "",
              "| bundle | training | steps | error (cm) | rotation (deg) | usage per level (%) |",
              "| --- | --- | ---: | ---: | ---: | --- |"]
    for name, shipped, guided in rows:
        for label, f in (("shipped", shipped), ("entropy-guided", guided)):
            lines.append(f"| {name} | {label} | {f['steps']} | {f['rmse']:.3f} | {f['rot']:.2f} | "
                         f"{' / '.join(f'{u:.1f}' for u in f['usage'])} |")
    lines.append("")
    for name, shipped, guided in rows:
        raises = min(guided["usage"]) > min(shipped["usage"])
        costs = guided["rmse"] > shipped["rmse"] or guided["rot"] > shipped["rot"]
        verdict = "ship it" if raises and not costs else "not shipped"
        lines.append(f"- **{name}**: lowest level usage {min(shipped['usage']):.1f}% -> {min(guided['usage']):.1f}%, "
                     f"error {shipped['rmse']:.3f} -> {guided['rmse']:.3f} cm, rotation {shipped['rot']:.2f} -> "
                     f"{guided['rot']:.2f} deg: {verdict}"
                     + (" (steps differ: compare with care)" if shipped["steps"] != guided["steps"] else "") + ".")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
