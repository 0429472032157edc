"""The codec listing: the verified bundles in a models folder, as a table."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..core.codecs import registry
from ..core.codecs.registry import CodecInfo, available_codecs


@dataclass(frozen=True)
class ListOptions:
    models_dir: str | os.PathLike | None = None  # None: the extension's models/


@dataclass
class ListResult:
    codecs: list[CodecInfo]
    lines: list[str]
    warnings: list[str] = field(default_factory=list)


def list_codecs(options: ListOptions) -> ListResult:
    """The codec bundles (BundleError for a damaged one) and the table lines: name, part,
    family, bits per frame and second, codebook size and size on disk, then the totals."""
    infos = available_codecs(options.models_dir)
    if not infos:
        return ListResult([], [f"no codec bundles in {registry.MODELS_DIR if options.models_dir is None else options.models_dir}"])
    sizes = [sum(f.stat().st_size for f in info.folder.iterdir() if f.is_file()) for info in infos]
    lines = [f"{'name':<10} {'part':<6} {'family':<7} {'bits/frame':>10} {'bits/s':>7} {'codebook':<12} {'size':>9}"]
    lines += [f"{info.name:<10} {info.part:<6} {info.family:<7} {info.bits_per_frame:>10g} "
              f"{info.bits_per_second:>7g} {info.size:<12} {size / 1024:>6.0f} KiB" for info, size in zip(infos, sizes)]
    lines.append(f"{len(infos)} bundles, {sum(sizes) / 2**20:.1f} MiB in {infos[0].folder.parent}")
    return ListResult(infos, lines)
