"""The speech report with the two ablations beside the shipped generators (issue 13).

    .venv/bin/python bench/speech_ablations.py [--work DIR] [--codec kmeans-10] [--seeds 3]
        [--out bench/results/speech.md]

1. A models folder in --work (default $XDG_CACHE_HOME/motion_tokens/ablations) holding links to
   every bundle of models/ plus `<codec>-whole`, the codec of one shared codebook for all parts
   (`train-codec --part whole`: body, hands and face as one vector, core.parts), trained on the
   body's data.
2. Two generators trained by `train-generator` with the shipped bundle's steps and seed and
   `--ablation no-cross-attention` (the same network without the part cross-attention) or
   `--ablation shared-codebook` (one token stream, of the whole-body codebook).
3. `evaluate-speech` on the held-out speech with the shipped gen-kmeans-10 and gen-rqvae-10 and
   both ablations, into --out.

What exists in --work with the same command is reused, so an interrupted run continues. Every
command is printed before it runs; together they reproduce the report. On 2 CPU cores each
generator takes about 25 minutes.
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
MODELS = REPO / "models"
GENERATORS = ("gen-kmeans-10", "gen-rqvae-10")
ABLATIONS = ("no-cross-attention", "shared-codebook")


def _data(name: str) -> str:
    root = os.environ.get("MOTION_TOKENS_DATA") or str(REPO.parent / "shared" / "data")
    return os.path.relpath(Path(root) / name, REPO)


def _run(args: list[str]) -> None:
    print("$ " + shlex.join(args), flush=True)
    subprocess.run([sys.executable, "-m", "motion_tokens", *args], cwd=REPO, check=True)


def _made_by(folder: Path, command_tail: list[str]) -> bool:
    """Whether `folder` holds a bundle whose manifest records these arguments (after -m motion_tokens)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("command", "").endswith(shlex.join(command_tail))


def _models_folder(work: Path) -> Path:
    models = work / "models"
    models.mkdir(parents=True, exist_ok=True)
    for bundle in MODELS.iterdir():
        link = models / bundle.name
        if bundle.is_dir() and not link.exists():
            link.symlink_to(bundle.resolve())
    return models


def main(argv=None) -> int:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=cache / "motion_tokens" / "ablations")
    parser.add_argument("--codec", default="kmeans-10", help="the codec of the ablated generators (kmeans-10)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "speech.md")
    args = parser.parse_args(argv)
    work = args.work.resolve()
    models = _models_folder(work)
    shipped = json.loads((MODELS / f"gen-{args.codec}" / "manifest.json").read_text(encoding="utf-8"))
    steps = shipped["training"]["settings"]

    whole = models / f"{args.codec}-whole"
    family, bits = args.codec.rsplit("-", 1)
    codec_args = ["train-codec", "--family", family, "--bits", bits, "--part", "whole",
                  "--data", _data("bandai"), _data("beat2"), "--out", str(whole)]
    if not (whole.is_dir() and not whole.is_symlink() and (whole / "manifest.json").is_file()):
        _run(codec_args)

    ablated = []
    for ablation in ABLATIONS:
        out = work / f"gen-{args.codec}-{ablation}"
        tail = ["train-generator", "--codec", args.codec, "--data", _data("bandai"), _data("beat2"),
                "--out", str(out), "--seed", str(shipped["seed"]), "--steps", str(steps["steps"]),
                "--audio-steps", str(steps["audio_steps"]), "--ablation", ablation]
        if not _made_by(out, tail):
            _run(tail + ["--models", str(models)])
        ablated.append(str(out))

    generators = [g for name in GENERATORS for g in ("--generator", name)]
    generators += [g for path in ablated for g in ("--generator", path)]
    _run(["evaluate-speech", "--data", _data("beat2"), "--codec", args.codec, *generators,
          "--seeds", str(args.seeds), "--models", str(models), "--out", os.path.relpath(args.out, REPO)])
    describe_ablations(args.out, args.codec, work)
    return 0


def describe_ablations(report: Path, codec: str, work: Path) -> None:
    """Name this script as the report's maker (the evaluate-speech command it records holds the
    work folder's paths) and say what the ablated rows are."""
    text = report.read_text(encoding="utf-8").replace(str(work), "WORK")
    made = (f"Made by `.venv/bin/python bench/speech_ablations.py --work WORK --codec {codec}`, which trains the "
            f"`{codec}-whole` codec and the two ablated generators into WORK and then runs the command below.\n\n")
    if "bench/speech_ablations.py" not in text:
        text = text.replace("Command: ", made + "Command: ", 1)
    section = (
        "\n## Ablations\n\n"
        f"Both ablations are trained by `train-generator --codec {codec} --ablation ...` with gen-{codec}'s steps "
        "and seed, on the same data and split:\n\n"
        f"- **gen-{codec}-no-cross-attention**: the same network without the part cross-attention (each part's "
        "stream sees the others only through the shared audio and position terms).\n"
        f"- **gen-{codec}-shared-codebook**: one token stream coded by one codebook for all parts (`{codec}-whole`: "
        "body, jaw, hands and the 16 expression coefficients as one vector, k-means on the body's training data, "
        "Bandai takes with resting hands and face included), instead of one codebook and one stream per part.\n\n"
        f"Read them against gen-{codec}'s row in the same block; the held-out block is 6 clips of one speaker, "
        "so only large differences mean anything.\n")
    if "## Ablations" not in text:
        text = text.rstrip("\n") + "\n" + section
    report.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
