"""A picture of sign spotting for the README: two queries joined from fingerspelled letters (the
lexicon's own ASL clips, and Libras/DGS clips of letters taken to share the ASL handshape),
each with the window confidences of the labels that come near the threshold, the true letters'
spans and the detections `spot` returns (temporal NMS and refined boundaries).

    .venv/bin/python tools/spotting_preview.py [--out docs/spotting.png]

The queries are joined .pose files (pose-format: body data and confidence concatenated along
frames), fitted as one take, as a user's continuous signing would be.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from motion_tokens.core.paths import data_dir  # noqa: E402
from motion_tokens.core.signs.matching import clip_features, default_windowing, window_confidences  # noqa: E402
from motion_tokens.core.steps import run_steps  # noqa: E402
from motion_tokens.pipelines.spot import SpotOptions, lexicon_steps, spot_steps  # noqa: E402

QUERIES = {
    "the lexicon's own ASL clips": [("fingerspelling", c) for c in "BALVY"],
    "other signers: Libras (bzs) and DGS (gsg) clips": [("lexicons/fingerspelling/bzs", "B"),
                                                          ("lexicons/fingerspelling/gsg", "A"),
                                                          ("lexicons/fingerspelling/bzs", "L"),
                                                          ("lexicons/fingerspelling/gsg", "V"),
                                                          ("lexicons/fingerspelling/bzs", "Y")],
}


def clip_path(data: Path, folder: str, letter: str) -> Path:
    from motion_tokens.core.signs.lexicon import lexicon_entries

    if folder == "fingerspelling":
        return data / "sign" / folder / f"{letter}.pose"
    return next(e.path for e in lexicon_entries(data / "sign" / folder) if e.label == letter)


def joined_pose(paths: list[Path], out: Path) -> list[tuple[float, float]]:
    """The clips joined into one .pose at the first's fps (each clip's frames kept); their spans."""
    import numpy.ma as ma
    from pose_format import Pose

    poses = [Pose.read(p.read_bytes()) for p in paths]
    lengths = [p.body.data.shape[0] for p in poses]
    first = poses[0]
    fps = float(first.body.fps)
    first.body.data = ma.concatenate([p.body.data for p in poses], axis=0)
    first.body.confidence = np.concatenate([p.body.confidence for p in poses], axis=0)
    with open(out, "wb") as f:
        first.write(f)
    edges = np.concatenate([[0], np.cumsum(lengths)]) / fps
    return list(zip(edges[:-1], edges[1:]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "spotting.png")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = data_dir()
    lexicon_dir = data / "sign" / "fingerspelling"
    lexicon = run_steps(lexicon_steps(lexicon_dir))
    window, hop = default_windowing(lexicon)
    fig, axes = plt.subplots(len(QUERIES), 1, figsize=(11, 3.2 * len(QUERIES)), squeeze=False)
    with tempfile.TemporaryDirectory() as tmp:
        for ax, (title, letters) in zip(axes[:, 0], QUERIES.items()):
            query = Path(tmp) / "query.pose"
            spans = joined_pose([clip_path(data, f, c) for f, c in letters], query)
            features = clip_features(query)
            result = run_steps(spot_steps(SpotOptions(query, lexicon_dir), features, "query", lexicon=lexicon))
            confidences = window_confidences(features.values, lexicon, window, hop)
            centres = (features.frames[np.minimum(np.arange(len(next(iter(confidences.values())))) * hop + window // 2,
                                                  len(features.frames) - 1)]) / features.fps
            shown = sorted(confidences, key=lambda k: -confidences[k].max())[:8]
            for label in shown:
                line, = ax.plot(centres, confidences[label], lw=1.2, label=label)
            ax.axhline(0.5, color="0.4", ls="--", lw=0.8)
            for k, ((_, letter), (s, e)) in enumerate(zip(letters, spans)):
                ax.axvspan(s, e, ymin=0.0, ymax=0.06, color="0.65" if k % 2 else "0.85")
                ax.axvline(s, color="0.6", lw=0.6, ls=":")
                ax.text((s + e) / 2, 0.02, letter, ha="center", va="bottom", fontsize=9)
            for d in result.detections:
                ax.add_patch(plt.Rectangle((d.start, 1.02), d.end - d.start, 0.1, color="tab:red", alpha=0.6,
                                           clip_on=False))
                ax.text((d.start + d.end) / 2, 1.07, d.label, ha="center", va="center", fontsize=9, color="white")
            truth = "".join(c for _, c in letters)
            found = "".join(d.label for d in result.detections)
            ax.set_title(f"{title}: signed {truth}, found {found or '(none)'}", fontsize=10, pad=22)
            ax.set_ylim(0, 1.0)
            ax.set_xlim(0, spans[-1][1])
            ax.set_ylabel("window confidence")
            ax.legend(ncol=8, fontsize=7, loc="upper left", bbox_to_anchor=(0, 0.93), frameon=False)
    axes[-1, 0].set_xlabel("seconds (grey: the true letters; red: detections; dashed: threshold 0.5)")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
