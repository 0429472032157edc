"""Stand-in for the Codec attributes `codebook_size` and `size_label` (the Codec base gains
them elsewhere; at merge, use the attributes and delete this module)."""

from __future__ import annotations


def codebook_size(codec) -> int:
    """Entries of one codebook: k (k-means) or D (each of an RQ-VAE's Q quantizers)."""
    m = codec.manifest
    return int(m["k"] if "k" in m else m["D"])


def size_label(codec) -> str:
    """The codebook size for a table: 'k=512' or 'D=8 x Q=3'."""
    m = codec.manifest
    return f"k={int(m['k'])}" if "k" in m else f"D={int(m['D'])} x Q={int(m['Q'])}"
