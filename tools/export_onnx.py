"""Add the onnxruntime network (network.onnx) to generator bundles trained before the export
existed, weights unchanged (core/generate/onnx_export.py; train-generator does it itself).

    python tools/export_onnx.py models/gen-kmeans-10 [models/gen-rqvae-10 ...]
"""

from __future__ import annotations

import sys

from motion_tokens.core.errors import MotionTokensError
from motion_tokens.core.generate.onnx_export import add_network


def main(argv=None) -> int:
    folders = sys.argv[1:] if argv is None else argv
    if not folders:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for folder in folders:
        try:
            print(f"{add_network(folder)}: written")
        except MotionTokensError as exc:  # a missing or damaged bundle: one line naming it
            print(f"export_onnx: error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
