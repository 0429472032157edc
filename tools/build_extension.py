"""Build the Motion Tokens extension, one zip per platform (`make extension`).

1. Downloads the wheels pinned in tools/extension_wheels.txt for Blender's Python (CPython
   3.11) on every platform the manifest declares (linux-x64, windows-x64, macos-arm64,
   macos-x64) into wheels/, skipping those already there.
2. Checks that blender_manifest.toml's `wheels` names exactly those files, and says what to put
   there if not.
3. Runs Blender's own `blender_ext.py validate` and `blender_ext.py build --split-platforms`
   (the copy inside the installed `bpy` module), which packs into each platform's zip only the
   wheels for that platform, and prints each zip's path and size.

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

PYTHON_VERSION = "3.11"
#: Blender platform -> the pip platform tags a wheel for it may carry. pip does not widen an
#: explicit --platform to older tags, so each is listed. Linux: Blender 4.2-5.0 run on glibc
#: 2.28, so any manylinux up to 2_28. macOS: Blender 4.2 needs macOS 11.2, so wheels built for
#: macOS 10.9 to 11.0 (their own arch or universal2). Then, last, so taken only where a pin has
#: nothing older, macOS 13 wheels: onnxruntime's only macOS wheel (universal2; on macOS 11-12 it
#: does not import and the generator runs its numpy network instead, core/generate/onnx_network.py)
#: and OpenCV's (opencv-python-headless 4.11 has only macosx_13_0_arm64 and _x86_64: on macOS
#: 11-12 cv2, and so mediapipe, does not import, and only .pose files can be captured).
_MACOS_VERSIONS = ("10_9", "10_10", "10_11", "10_12", "10_13", "10_14", "10_15", "11_0")
PLATFORM_TAGS = {
    "linux-x64": ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    "windows-x64": ("win_amd64",),
    "macos-arm64": ("macosx_11_0_arm64", "macosx_11_0_universal2", "macosx_10_9_universal2",
                    "macosx_13_0_universal2", "macosx_13_0_arm64"),
    "macos-x64": tuple(f"macosx_{v}_{arch}" for v in _MACOS_VERSIONS for arch in ("x86_64", "universal2"))
    + ("macosx_13_0_universal2", "macosx_13_0_x86_64"),
}


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


def wheel_platforms(filename: str) -> set[str]:
    """The Blender platforms (keys of PLATFORM_TAGS) a wheel file runs on, from its platform
    tags: a pure wheel ('any') runs on all, 'universal2' on both macOS platforms."""
    _, _, _, tags = parse_wheel_filename(filename)
    found = set()
    for tag in tags:
        plat = tag.platform
        if plat == "any":
            return set(PLATFORM_TAGS)
        if plat.startswith(("manylinux", "linux")) and plat.endswith("x86_64"):
            found.add("linux-x64")
        elif plat == "win_amd64":
            found.add("windows-x64")
        elif plat.startswith("macosx_"):
            if plat.endswith(("_universal2", "_arm64")):
                found.add("macos-arm64")
            if plat.endswith(("_universal2", "_x86_64")):
                found.add("macos-x64")
    return found


def find_wheel(wheel_dir: Path, name: str, version: str, platform: str) -> Path | None:
    """The wheel file in `wheel_dir` for `name` at `version` that runs on `platform`, or None."""
    for path in sorted(wheel_dir.glob("*.whl")):
        wheel_name, wheel_version, _, _ = parse_wheel_filename(path.name)
        if (canonicalize_name(wheel_name) == name and str(wheel_version) == version
                and platform in wheel_platforms(path.name)):
            return path
    return None


def _download(name: str, version: str, platform: str, wheel_dir: Path) -> Path:
    platforms = [arg for tag in PLATFORM_TAGS[platform] for arg in ("--platform", tag)]
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", *platforms, "--python-version", PYTHON_VERSION,
        "--implementation", "cp", "-d", str(wheel_dir), f"{name}=={version}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    path = find_wheel(wheel_dir, name, version, platform)
    if result.returncode != 0 or path is None:
        detail = (result.stderr.strip().splitlines() or ["no wheel saved"])[-1]
        raise BuildError(f"could not download a {platform} cp311 wheel of {name}=={version}: {detail}")
    print(f"downloaded {path.name}")
    return path


def download_wheels(pins: list[tuple[str, str]], platforms, wheel_dir: Path = WHEEL_DIR) -> list[Path]:
    """The wheel files that cover every pin on every one of `platforms`, from `wheel_dir`,
    downloading those not there yet; each file once (a pure or universal2 wheel serves several)."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(platforms) - set(PLATFORM_TAGS))
    if unknown:
        raise BuildError(f"the manifest declares platforms this build does not know: {', '.join(unknown)} "
                         f"(known: {', '.join(PLATFORM_TAGS)})")
    wheels: list[Path] = []
    for name, version in pins:
        for platform in platforms:
            path = find_wheel(wheel_dir, name, version, platform) or _download(name, version, platform, wheel_dir)
            if path not in wheels:
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


def read_manifest(source_dir: Path = REPO) -> dict:
    with open(source_dir / "blender_manifest.toml", "rb") as f:
        return tomllib.load(f)


def build_extension(out_dir: Path, source_dir: Path = REPO) -> list[Path]:
    """Download the wheels, check the manifest, validate and build; the zips' paths, one per
    platform the manifest declares."""
    manifest = read_manifest(source_dir)
    platforms = manifest.get("platforms") or []
    if not platforms:
        raise BuildError("blender_manifest.toml declares no `platforms`; one zip is built per platform")
    wheels = download_wheels(read_pins(), platforms, source_dir / "wheels")
    check_manifest_wheels(wheels, source_dir / "blender_manifest.toml")
    run_blender_ext("validate", str(source_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    run_blender_ext("build", "--source-dir", str(source_dir), "--output-dir", str(out_dir), "--split-platforms")
    zips = [out_dir / f"{manifest['id']}-{manifest['version']}-{p.replace('-', '_')}.zip" for p in platforms]
    missing = [z.name for z in zips if not z.is_file()]
    if missing:
        raise BuildError(f"blender_ext.py build did not write {', '.join(missing)} in {out_dir}")
    return zips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="folder for the zip (default dist/)")
    args = parser.parse_args(argv)
    try:
        zips = build_extension(args.out.resolve())
    except BuildError as exc:
        print(f"build_extension: {exc}", file=sys.stderr)
        return 1
    for zip_path in zips:
        print(f"{zip_path} ({zip_path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
