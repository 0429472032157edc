"""A picture of the token timeline for the README: the same cells the Timeline draws
(core.inspect.timeline_layout, zoomed in), the token ids over the whole take, and an Edit by
Tokens of a range with its blend margin, the decoded motion changing only there.

    .venv/bin/python tools/token_timeline_figure.py [--out docs/token_timeline.png]

The take is demo/beat2_excerpt.npz played forward, backward, forward, backward (600 frames at
30 fps), coded with the shipped body bundles kmeans-6 (one token a frame) and rqvae4-6 (one
row of 4 codes per 4 frames, 7.5 a second). The edit pins one kmeans-6 code on motion frames
200-229 (core.inspect.token_edit.edit_motion_tokens, default margin 6 frames).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from motion_tokens.core import rotations as rot  # noqa: E402
from motion_tokens.core.codecs.coding import encode_parts  # noqa: E402
from motion_tokens.core.formats import read_motion  # noqa: E402
from motion_tokens.core.formats.atomic import write_atomically  # noqa: E402
from motion_tokens.core.inspect.timeline_layout import TimelineView, timeline_layout  # noqa: E402
from motion_tokens.core.inspect.token_edit import default_margin_frames, edit_motion_tokens  # noqa: E402
from motion_tokens.core.inspect.token_timeline import TokenTrack  # noqa: E402

START, STOP = 200, 230
ZOOM = (170.0, 262.0)
ELBOW = 19  # right_elbow


def take():
    demo = read_motion(REPO / "demo" / "beat2_excerpt.npz")
    order = np.concatenate([np.arange(demo.num_frames), np.arange(demo.num_frames)[::-1]] * 2)
    return replace(demo, rotations=demo.rotations[order], trans=demo.trans[order],
                   expressions=None if demo.expressions is None else demo.expressions[order])


def shade(ax, margin: int) -> None:
    ax.axvspan(START - margin, START, color="#f4c7a0", alpha=0.6, lw=0)
    ax.axvspan(STOP, STOP + margin, color="#f4c7a0", alpha=0.6, lw=0)
    ax.axvspan(START, STOP, color="#e8836b", alpha=0.35, lw=0)


def draw_timeline(ax, tracks, names, width_px=1000, strip_px=22):
    """The cells timeline_layout gives for a view of ZOOM, drawn in its own pixel space."""
    from matplotlib.patches import Rectangle

    view = TimelineView(ZOOM[0], ZOOM[1], width_px, len(tracks) * (strip_px + 4) + 10)
    strips = timeline_layout(tracks, view, strip_px=strip_px, gap_px=4, bottom_px=4, char_px=7.5)
    for strip, name in zip(strips, names):
        for x0, x1, colour in zip(strip.x0, strip.x1, strip.colours):
            ax.add_patch(Rectangle((x0, strip.y0), max(x1 - x0 - 1, 0.5), strip.y1 - strip.y0, color=colour, lw=0))
        for x, _, text in strip.labels:
            ax.text(x, (strip.y0 + strip.y1) / 2, text, ha="center", va="center", fontsize=6.5)
        ax.text(-8, (strip.y0 + strip.y1) / 2, name, ha="right", va="center", fontsize=8)
    ticks = np.arange(np.ceil(ZOOM[0] / 10) * 10, ZOOM[1], 10)
    ax.set_xticks(view.x_of(ticks), [f"{t:.0f}" for t in ticks], fontsize=7)
    for edge in (START, STOP):
        ax.axvline(view.x_of(edge), color="#c0392b", lw=1.2)
    ax.set_xlim(0, width_px)
    ax.set_ylim(0, view.height_px)
    ax.set_yticks([])
    ax.set_title(f"The timeline's cells, frames {ZOOM[0]:.0f}-{ZOOM[1]:.0f} (red lines: the edited range)",
                 fontsize=9, loc="left")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "token_timeline.png")
    args = parser.parse_args(argv)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    motion = take()
    kmeans = encode_parts(motion, {"body": "kmeans-6"})
    rq4 = encode_parts(motion, {"body": "rqvae4-6"})
    codec = kmeans.codecs["body"]
    held = kmeans.tokens["body"][START - 20 : STOP + 20]
    code = int(next(c for c in np.argsort(-np.bincount(kmeans.tokens["body"], minlength=64)) if c not in held))
    edited = edit_motion_tokens(kmeans, "body", START, STOP, code)
    margin = default_margin_frames(codec)
    tracks = [TokenTrack("body", kmeans.tokens["body"], 30.0, 0, 30.0, 600),
              TokenTrack("body", edited.tokens["body"], 30.0, 0, 30.0, 600),
              TokenTrack("body", rq4.tokens["body"], 7.5, 0, 30.0, 600)]
    names = ["kmeans-6", f"edited: {code}", "rqvae4-6"]

    fig = Figure(figsize=(10, 7.2), dpi=100)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(4, 1, height_ratios=[1.0, 1.1, 1.1, 1.2], hspace=0.55, left=0.1, right=0.98, top=0.93,
                            bottom=0.07)
    fig.suptitle("Token timeline: body tokens of a 20 s take, and Edit by Tokens pinning one code on frames "
                 f"{START}-{STOP - 1}", fontsize=10)
    draw_timeline(fig.add_subplot(grid[0]), tracks[::-1], names[::-1])
    frames = np.arange(600)
    ax = fig.add_subplot(grid[1])
    shade(ax, margin)
    ax.step(frames, kmeans.tokens["body"], where="post", lw=0.7, color="#555", label="kmeans-6")
    ax.step(frames, edited.tokens["body"], where="post", lw=0.9, color="#c0392b", alpha=0.8, label=f"edited (code {code})")
    used = np.unique(np.r_[kmeans.tokens["body"], edited.tokens["body"]])
    ax.set_yticks(used if len(used) <= 12 else ax.get_yticks())
    ax.margins(y=0.2)
    ax.set_ylabel("code", fontsize=8)
    ax.set_title("kmeans-6 body token per frame (30 a second); this take uses few of its 64 codes", fontsize=9,
                 loc="left")
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    ax = fig.add_subplot(grid[2])
    levels = rq4.tokens["body"].shape[1]
    shown = ax.imshow(rq4.tokens["body"].T, aspect="auto", interpolation="nearest", cmap="viridis",
                      extent=(0, 4 * len(rq4.tokens["body"]), levels - 0.5, -0.5))
    ax.set_yticks(range(levels), [f"level {q}" for q in range(levels)], fontsize=7)
    fig.colorbar(shown, ax=ax, pad=0.01, fraction=0.03).ax.tick_params(labelsize=6)
    ax.set_title("rqvae4-6 body tokens: one row of 4 levels (D = 64 codes each) per 4 frames, 7.5 a second; "
                 "colour = code", fontsize=9, loc="left")
    ax = fig.add_subplot(grid[3])
    lo, hi = START - 60, STOP + 60
    shade(ax, margin)
    for m, colour, label in ((kmeans.decoded, "#222", "decoded kmeans-6"), (edited.decoded, "#c0392b", "after the edit")):
        angle = np.degrees(rot.quat_angle(m.rotations[lo:hi, ELBOW]))
        ax.plot(frames[lo:hi], angle, color=colour, lw=1.2, label=label)
    ax.set_xlim(lo, hi)
    ax.margins(y=0.15)
    ax.set_xlabel("frame (30 fps)", fontsize=8)
    ax.set_ylabel("degrees", fontsize=8)
    ax.set_title(f"Right elbow rotation: changed only on the range and the {margin}-frame blend margin either side "
                 "(light)", fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    for a in fig.axes:
        a.tick_params(labelsize=7)
    canvas = fig.canvas
    canvas.draw()
    rgb = np.asarray(canvas.buffer_rgba())[..., :3]
    image = Image.fromarray(rgb).quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(args.out, lambda f: image.save(f, format="PNG", optimize=True))
    changed = np.flatnonzero(np.any(np.abs(edited.decoded.rotations - kmeans.decoded.rotations) > 0, axis=(1, 2)))
    print(f"{args.out}: {args.out.stat().st_size / 1024:.0f} KB; code {code} on frames {START}-{STOP - 1}, margin "
          f"{margin}; frames changed {changed.min()}-{changed.max()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
