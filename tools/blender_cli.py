"""The command line inside Blender:

    blender -b -P tools/blender_cli.py -- import FILE --out OUT.blend
    blender -b -P tools/blender_cli.py -- generate SPEECH.wav --out OUT.blend   (speech to gestures)

Also runs as `python tools/blender_cli.py -- ...` where bpy is installed as a module. Loads the
repository as the package `motion_tokens` (whatever its folder is called, installed or not),
calls `motion_tokens.cli.main` with the arguments after `--`, and exits with its status.
"""

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "motion_tokens"


def load_package():
    """The repository imported as the package `motion_tokens` (reused if already imported)."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, REPO / "__init__.py", submodule_search_locations=[str(REPO)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return package


def arguments_after_dashes(argv: list[str]) -> list[str]:
    """Blender passes its own options too: the script's arguments are the ones after `--`."""
    return argv[argv.index("--") + 1:] if "--" in argv else []


def main() -> int:
    load_package()
    from motion_tokens.cli import main as cli_main

    return cli_main(arguments_after_dashes(sys.argv))


if __name__ == "__main__":
    sys.exit(main())
