"""Build the Motion Tokens extension zip (`make extension`).

1. Downloads the wheels pinned in tools/extension_wheels.txt for Blender's Python on linux-x64
   (CPython 3.11, manylinux x86_64) into wheels/, skipping those already there.
2. Checks that blender_manifest.toml's `wheels` names exactly those files, and says what to put
   there if not.
3. Runs Blender's own `blender_ext.py validate` and `blender_ext.py build` (the copy inside the
   installed `bpy` module) and prints the zip's path and size.

    python tools/build_extension.py [--out DIR]
Exit status 0 on success, 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

REPO = Path(__file__).resolve().parents[1]
PINS = REPO / "tools" / "extension_wheels.txt"
MANIFEST = REPO / "blender_manifest.toml"
WHEEL_DIR = REPO / "wheels"

# Blender 4.2-5.0 on Linux: CPython 3.11 on glibc 2.28, so any manylinux up to 2_28 runs.
# pip does not widen an explicit --platform to older manylinux tags, so all are listed.
PYTHON_VERSION = "3.11"
PLATFORM_TAGS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


class BuildError(Exception):
    """A step of the build failed; the message says which and what to do."""


def read_pins(path: Path = PINS) -> list[tuple[str, str]]:
    """[(canonical name, version)] from a file of `name==version` lines (# comments allowed)."""
    pins = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise BuildError(f"{path}:{number}: not a requirement ({exc})") from None
        specs = list(req.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            raise BuildError(f"{path}:{number}: pin an exact version (name==X.Y.Z), got {line!r}")
        pins.append((canonicalize_name(req.name), specs[0].version))
    return pins


def find_wheel(wheel_dir: Path, name: str, version: str) -> Path | None:
    """The wheel file in `wheel_dir` for `name` at `version`, or None."""
    for path in sorted(wheel_dir.glob("*.whl")):
        wheel_name, wheel_version, _, _ = parse_wheel_filename(path.name)
        if canonicalize_name(wheel_name) == name and str(wheel_version) == version:
            return path
    return None


def download_wheels(pins: list[tuple[str, str]], wheel_dir: Path = WHEEL_DIR) -> list[Path]:
    """The wheel file of each pin in `wheel_dir`, downloading those not there yet."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    wheels = []
    for name, version in pins:
        path = find_wheel(wheel_dir, name, version)
        if path is None:
            platforms = [arg for tag in PLATFORM_TAGS for arg in ("--platform", tag)]
            cmd = [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--only-binary=:all:", *platforms, "--python-version", PYTHON_VERSION,
                "--implementation", "cp", "-d", str(wheel_dir), f"{name}=={version}",
            ]
            result = subprocess.run(cmd, capture_output=True, text=True)
            path = find_wheel(wheel_dir, name, version)
            if result.returncode != 0 or path is None:
                detail = (result.stderr.strip().splitlines() or ["no wheel saved"])[-1]
                raise BuildError(f"could not download a linux-x64 cp311 wheel of {name}=={version}: {detail}")
            print(f"downloaded {path.name}")
        wheels.append(path)
    return wheels


def check_manifest_wheels(wheels: list[Path], manifest: Path = MANIFEST) -> None:
    """Raise BuildError unless the manifest's `wheels` lists exactly `wheels` (as ./wheels/NAME)."""
    with open(manifest, "rb") as f:
        listed = tomllib.load(f).get("wheels", [])
    expected = [f"./{path.relative_to(manifest.parent).as_posix()}" for path in wheels]
    if sorted(listed) != sorted(expected):
        lines = "".join(f'  "{entry}",\n' for entry in expected)
        raise BuildError(
            f"{manifest.name} does not list the wheels pinned in {PINS.relative_to(REPO)}; "
            f"set it to:\nwheels = [\n{lines}]"
        )


def blender_ext_script() -> Path:
    """blender_ext.py from the installed bpy module (bpy/<version>/scripts/addons_core/...)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("the bpy module is not installed in this Python; run `make venv` first")
    found = sorted(
        path
        for folder in spec.submodule_search_locations
        for path in Path(folder).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py")
    )
    if not found:
        raise BuildError(f"no blender_ext.py inside the bpy module at {spec.submodule_search_locations[0]}")
    return found[-1]


def run_blender_ext(*args: str) -> str:
    """Run blender_ext.py with `args`; its output, or BuildError with its output on failure."""
    result = subprocess.run(
        [sys.executable, str(blender_ext_script()), *args], capture_output=True, text=True
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise BuildError(f"blender_ext.py {args[0]} failed:\n{output}")
    return output


def build_extension(out_dir: Path, source_dir: Path = REPO) -> Path:
    """Download the wheels, check the manifest, validate and build; the zip's path."""
    wheels = download_wheels(read_pins(), source_dir / "wheels")
    check_manifest_wheels(wheels, source_dir / "blender_manifest.toml")
    run_blender_ext("validate", str(source_dir))
    with open(source_dir / "blender_manifest.toml", "rb") as f:
        manifest = tomllib.load(f)
    out_dir.mkdir(parents=True, exist_ok=True)
    zip_path = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    run_blender_ext(
        "build", "--source-dir", str(source_dir), "--output-filepath", str(zip_path)
    )
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="folder for the zip (default dist/)")
    args = parser.parse_args(argv)
    try:
        zip_path = build_extension(args.out.resolve())
    except BuildError as exc:
        print(f"build_extension: {exc}", file=sys.stderr)
        return 1
    print(f"{zip_path} ({zip_path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
