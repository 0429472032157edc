"""RQ-VAE training variants against the shipped bundle and k-means (issue #14): what capacity,
steps and the entropy-guided assignment buy, measured by the figures the trainer writes.

    # train one variant (the shipped code, other settings; minutes to an hour on 2 cores):
    .venv/bin/python bench/codec_variants.py train --family rqvae4 --bits 10 --part body \\
        --hidden 128 --steps 12000 --threads 1 --out /tmp/variants/rqvae4-10-h128
    # compare trained bundles with the one shipped and k-means of the same bits:
    .venv/bin/python bench/codec_variants.py report /tmp/variants/* [--out bench/results/codec_variants.md]

A variant is `core.codecs.training.train.train_codec` with the part's default RQVAETraining
changed only where an option is given (hidden, latent, steps, rotation and position and reach weights,
dead-code threshold, entropy-guided, codes per level); the data are the part's default folders under
MOTION_TOKENS_DATA (tools/train_codecs.py's PART_DATA). Its figures are the manifest's (`evaluate_codec` on the
held-out and training splits of core/codecs/split.json); the shipped bundle's come from its
manifest, and k-means' (whose manifest has no rotation figures) are measured here by the same
`evaluate_codec` on the same splits.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "codec_variants.md"
PART_DATA = {"body": ("bandai", "beat2"),
             "hands": ("beat2", "hands/manipnet", "sign/fingerspelling", "sign/lexicons/fingerspelling"),
             "face": ("beat2",)}


def train(args) -> int:
    import torch

    from motion_tokens.core.codecs.registry import FAMILY_CLASSES
    from motion_tokens.core.codecs.training.rqvae_fit import default_training
    from motion_tokens.core.codecs.training.train import train_codec
    from motion_tokens.core.paths import data_dir

    torch.set_num_threads(args.threads)
    cls = FAMILY_CLASSES[args.family]
    if args.codebook is not None:
        _use_codebook(cls, args.part, args.bits, args.codebook)
    settings = default_training(args.part, FAMILY_CLASSES[args.family].FRAMES_PER_LATENT, args.bits)
    options = {"hidden": args.hidden, "latent": args.latent, "steps": args.steps, "rot_weight": args.rot_weight,
               "fk_weight": args.fk_weight, "reach_weight": args.reach_weight,
               "dead_code_threshold": args.dead_code_threshold}
    changes = {k: v for k, v in options.items() if v is not None}
    data = [data_dir() / name for name in PART_DATA[args.part]]
    train_codec(args.family, args.bits, args.part, data, args.out, seed=args.seed, entropy_guided=args.entropy_guided,
                progress=lambda line: print(line, flush=True), rqvae_training=replace(settings, **changes))
    return 0


def _use_codebook(cls, part: str, bits: int, D: int) -> None:
    """Make this process's `cls` code `part` at `bits` with codebooks of D entries and as many
    levels as keep the bits per latent (the manifest records D and Q; loading needs no table)."""
    per_latent = bits * cls.FRAMES_PER_LATENT
    if D < 2 or D & (D - 1) or per_latent % (D.bit_length() - 1):
        raise SystemExit(f"--codebook {D}: not a power of two that divides {per_latent} bits per latent")
    sizes = {"D": D, "Q": per_latent // (D.bit_length() - 1)}
    cls.PART_BITRATES = {**cls.PART_BITRATES, part: {**cls.PART_BITRATES.get(part, {}), bits: sizes}}


def _figures(block: dict) -> dict:
    levels = [layer["usage_percent"] for layer in block.get("per_layer", [])]
    return {"rmse": block["rmse_cm"], "rot": block.get("rotation_mean_deg"), "vel": block.get("velocity_rmse_cm_s"),
            "usage": min(levels) if levels else block.get("usage_percent")}


def _kmeans_figures(bits: int, part: str, data_dirs) -> dict:
    from motion_tokens.core.codecs.registry import load_codec
    from motion_tokens.core.codecs.training.dataset import part_dataset, read_takes, split_takes
    from motion_tokens.core.codecs.training.train import manifest_evaluation

    codec = load_codec(REPO / "models" / f"kmeans-{bits}-{part}")
    train_takes, held_takes = split_takes(read_takes(data_dirs))
    evaluation = manifest_evaluation(codec, part_dataset(train_takes, part), part_dataset(held_takes, part))
    return {split: _figures(evaluation[split]) for split in ("held_out", "train")}


def _settings(opt: dict, entropy_guided: bool, geometry: str = "") -> str:
    return ((f"D={geometry}, " if geometry else "") + f"hidden {opt['hidden']}" + (f", latent {opt['latent']}" if opt.get("latent", 16) != 16 else "")
            + f", {opt['steps']} steps, rotation weight {opt['rot_weight']:g}"
            + (f", position weight {opt['fk_weight']:g}" if opt.get("fk_weight", 0.05) != 0.05 else "")
            + (f", dead-code threshold {opt['dead_code_threshold']:g}" if opt.get("dead_code_threshold", 2.0) != 2.0
               else "")
            + (", entropy-guided" if entropy_guided else ""))


def report(args) -> int:
    from motion_tokens.core.machine import machine_line

    groups: dict[str, list] = {}
    for folder in args.folders:
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
        groups.setdefault(f"{manifest['name']}-{manifest['part']}", []).append(manifest)
    lines = ["# RQ-VAE training variants against the shipped bundle and k-means (issue #14)", "",
             "Made by `bench/codec_variants.py report` from bundles `bench/codec_variants.py train` (or "
             "`train-codec`) wrote; the module docstring gives both commands.", "",
             "Bundles: " + ", ".join(f"`{f}`" for f in args.folders) + ".", "", machine_line(), "",
             "Figures: position RMSE of the part's points (cm, part alone), mean geodesic rotation error of its "
             "joints (degrees), the lowest per-level code usage (%), on the held-out takes and in-sample "
             "(core/codecs/split.json). `shipped` marks the bundle in models/ now (same weights sha256).", "",
             "| bundle | trained as | time | held-out cm | held-out deg | held-out lowest level usage % | "
             "in-sample cm | in-sample deg |", "|---|---|---|---:|---:|---:|---:|---:|"]
    for bundle, manifests in groups.items():
        shipped = json.loads((REPO / "models" / bundle / "manifest.json").read_text())
        part, bits = manifests[0]["part"], int(round(manifests[0]["bits_per_frame"]))
        rows = []
        for m in manifests:
            t = m["training"]
            mark = " (shipped)" if m["files"] == shipped["files"] else ""
            geometry = f"{m['D']} x Q={m['Q']}" if (m.get("D"), m.get("Q")) != (shipped.get("D"), shipped.get("Q")) else ""
            rows.append((_settings(t["optimisation"], t["entropy_guided"], geometry) + mark,
                         f"{t['seconds']:.0f} s, {t['threads']} thread(s)",
                         {s: _figures(m["evaluation"][s]) for s in ("held_out", "train")}))
        if not any(m["files"] == shipped["files"] for m in manifests):
            t = shipped["training"]
            rows.append((_settings(t["optimisation"], t["entropy_guided"]) + " (shipped)",
                         f"{t['seconds']:.0f} s, {t['threads']} thread(s)",
                         {s: _figures(shipped["evaluation"][s]) for s in ("held_out", "train")}))
        rows.append((f"kmeans-{bits}-{part}", "", _kmeans_figures(bits, part, manifests[0]["training"]["data"])))
        for label, time_text, fig in rows:
            lines.append(f"| {bundle} | {label} | {time_text} | {fig['held_out']['rmse']:.3f} | "
                         f"{fig['held_out']['rot']:.2f} | {fig['held_out']['usage']:.1f} | "
                         f"{fig['train']['rmse']:.3f} | {fig['train']['rot']:.2f} |")
    lines.append("")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train")
    t.add_argument("--family", choices=("rqvae", "rqvae4"), required=True)
    t.add_argument("--bits", type=int, choices=(6, 9, 10, 12), required=True)
    t.add_argument("--part", choices=tuple(PART_DATA), required=True)
    t.add_argument("--hidden", type=int, default=None)
    t.add_argument("--latent", type=int, default=None, help="latent width (default 16)")
    t.add_argument("--steps", type=int, default=None)
    t.add_argument("--rot-weight", type=float, default=None, help="weight of the rotation (chordal) loss")
    t.add_argument("--fk-weight", type=float, default=None, help="weight of the position loss (cm^2; default 0.05)")
    t.add_argument("--reach-weight", type=float, default=None,
                   help="weight of the wrists' position loss at their furthest frames (cm^2; default 0)")
    t.add_argument("--dead-code-threshold", type=float, default=None,
                   help="EMA usage below which a code is replaced by a batch vector (default 2)")
    t.add_argument("--codebook", type=int, default=None,
                   help="codes per level (a power of two); the levels follow from the bits per latent")
    t.add_argument("--entropy-guided", action="store_true")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", type=Path, required=True)
    t.set_defaults(func=train)
    r = commands.add_parser("report")
    r.add_argument("folders", nargs="+", type=Path)
    r.add_argument("--out", type=Path, default=RESULTS)
    r.set_defaults(func=report)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
