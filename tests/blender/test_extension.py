"""The extension zip: built by tools/build_extension.py, validated by Blender's own tool, then
installed, used, disabled and enabled again in a fresh Blender process.

The install runs in a subprocess with BLENDER_USER_RESOURCES in a temporary folder, so nothing
lands in the home folder and the installed add-on's classes never meet the editable package
that other tests register in this process. The wheel download needs PyPI (CI has it; about
440 MB for the four platforms the first time); wheels already in wheels/ are reused. The linux
zip's wheels are also unpacked on their own and run MediaPipe Holistic on a decoded video.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from packaging.utils import canonicalize_name, parse_wheel_filename

REPO = Path(__file__).resolve().parents[2]
BEAT2_EXCERPT = REPO / "demo" / "beat2_excerpt.npz"
MODULE = "bl_ext.user_default.motion_tokens"

# Runs in the fresh process; writes what it saw as JSON to argv[3]. Every step that fails
# raises, so the process exits non-zero with the traceback on stderr.
INSTALL_AND_USE = r"""
import importlib.machinery, json, os, sys, sysconfig

# Make this Python look like Blender's: of the virtual environment's packages only those
# Blender bundles are importable (bpy's own requirements); anything else the add-on imports
# must come from the wheels the extension installed under the user folder.
site_packages = os.path.realpath(sysconfig.get_paths()["purelib"])
BLENDER_BUNDLES = {"bpy", "numpy", "requests", "certifi", "idna", "urllib3", "charset_normalizer",
                   "zstandard", "Cython", "pyximport", "_distutils_hack"}

class BlenderPythonOnly:
    def find_spec(self, name, path=None, target=None):
        if path is not None or name in BLENDER_BUNDLES:
            return None  # submodules follow their package; bundled packages load as usual
        elsewhere = [p for p in sys.path if os.path.realpath(p or ".") != site_packages]
        spec = importlib.machinery.PathFinder.find_spec(name, elsewhere)
        if spec is None and importlib.machinery.PathFinder.find_spec(name, [site_packages]):
            blocked.append(name)
            raise ModuleNotFoundError(f"{name} is in neither Blender's Python nor the extension's wheels", name=name)
        return spec

blocked = []
sys.meta_path.insert(0, BlenderPythonOnly())

import bpy
import addon_utils  # importable once bpy is

zip_path, excerpt, report_path = sys.argv[1:4]
module = "bl_ext.user_default.motion_tokens"
seen = {}

def operator_registered():
    return hasattr(bpy.types, "MOTION_TOKENS_OT_import_motion")

seen["install"] = sorted(bpy.ops.extensions.package_install_files(
    filepath=zip_path, repo="user_default", enable_on_install=True))
seen["enabled"] = module in bpy.context.preferences.addons
seen["loaded"] = addon_utils.check(module)[1]

import safetensors
seen["safetensors_file"] = safetensors.__file__
import onnxruntime
seen["onnxruntime_file"] = onnxruntime.__file__
from bl_ext.user_default.motion_tokens.core.generate import load_generator
seen["generator_runtime"] = load_generator("gen-kmeans-10").runtime
# Motion from Video: MediaPipe and OpenCV from the extension's wheels (the whole chain of imports
# `import mediapipe` makes, matplotlib's included, passes the finder above).
from bl_ext.user_default.motion_tokens.core.capture.video import mediapipe_available
seen["mediapipe_available"] = mediapipe_available()
import cv2, mediapipe
from mediapipe.python.solutions import holistic
seen["cv2_file"], seen["mediapipe_file"] = cv2.__file__, mediapipe.__file__

bpy.ops.wm.read_factory_settings(use_empty=True)
addon_utils.enable(module, default_set=True)  # factory settings reset the add-on list
scene = bpy.context.scene
scene.render.fps, scene.render.fps_base, scene.frame_current = 30, 1.0, 1
seen["import"] = sorted(bpy.ops.motion_tokens.import_motion(filepath=excerpt))
action = bpy.context.active_object.animation_data.action
seen["frame_range"] = list(action.frame_range)
# Every import inside the add-on is relative: the repository's own package is never loaded.
seen["editable_package_loaded"] = "motion_tokens" in sys.modules
seen["blocked_imports"] = sorted(set(blocked))

addon_utils.disable(module, default_set=True)
seen["registered_after_disable"] = operator_registered()
seen["settings_after_disable"] = hasattr(bpy.types.Scene, "motion_tokens")
addon_utils.enable(module, default_set=True)
seen["registered_after_enable"] = operator_registered()
seen["import_after_enable"] = sorted(bpy.ops.motion_tokens.import_motion(filepath=excerpt))

# A process that exits with add-on classes registered hangs in bpy's shutdown: disable first.
addon_utils.disable(module, default_set=True)
with open(report_path, "w") as f:
    json.dump(seen, f)
"""


#: Each platform's zip, in MB (1e6 bytes). Measured 2026-12-02 (tools/build_extension.py):
#:   linux-x64 180.8, windows-x64 176.2, macos-arm64 193.0, macos-x64 213.3, of which
#:   - the package and its bundled models (the RQ-VAE face codecs, the downsampled hands and face
#:     at every bitrate, the two speech generators in safetensors and again as network.onnx):
#:     53.6 on every platform;
#:   - safetensors, onnxruntime, flatbuffers, protobuf, packaging: 17.4 / 13.6 / 35.4 / 35.3
#:     (onnxruntime's macOS wheel is universal2);
#:   - Motion from Video: 109.8 / 109.0 / 104.1 / 124.4: mediapipe 35.6 / 51.0 / 49.2 / 49.2
#:     (universal2 on macOS), opencv-python-headless 50.0 / 39.4 / 37.3 / 56.7, matplotlib and
#:     its dependencies (pillow, fonttools, kiwisolver, ...), which `import mediapipe` needs,
#:     24.2 / 18.6 / 17.6 / 18.5.
#: The budget is the measured size plus about 10 MB for the package and models to grow: a wheel
#: added or bumped must come with a new measurement here.
ZIP_BUDGET_MB = {"linux-x64": 190, "windows-x64": 186, "macos-arm64": 203, "macos-x64": 223}


# Runs with `python -I -S`: no site-packages, only the standard library, the folder the zip's
# wheels were unpacked into and a folder holding numpy alone (Blender's Python has numpy). Writes
# what it saw as JSON to argv[4].
VIDEO_FROM_WHEELS = r"""
import json, os, sys, sysconfig
site_dir, numpy_dir, work, report_path = sys.argv[1:5]
sys.path[:0] = [site_dir, numpy_dir]
import numpy as np
import cv2
import mediapipe
from mediapipe.python.solutions import holistic

seen = {"cv2_file": cv2.__file__, "mediapipe_file": mediapipe.__file__}
# A short video of grey frames, written and decoded again by the zip's OpenCV (its own FFmpeg).
video = os.path.join(work, "grey.mp4")
writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (160, 120))
for i in range(10):
    writer.write(np.full((120, 160, 3), 100 + 10 * i, np.uint8))
writer.release()
capture = cv2.VideoCapture(video)
frames = []
while True:
    ok, frame = capture.read()
    if not ok:
        break
    frames.append(frame)
capture.release()
seen["frames_read"] = len(frames)
seen["frame_shape"] = list(frames[0].shape) if frames else None
# model_complexity=1: the model that ships in the wheel (0 and 2 would be downloaded).
with holistic.Holistic(static_image_mode=False, model_complexity=1) as model:
    results = [model.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)) for frame in frames[:3]]
seen["processed"] = len(results)
seen["pose_found"] = [r.pose_landmarks is not None for r in results]
seen["hands_found"] = [r.left_hand_landmarks is not None or r.right_hand_landmarks is not None for r in results]

# numpy_dir holds links: a module's path counts as found there, not where the links lead.
roots = [os.path.abspath(p) for p in (site_dir, numpy_dir, sysconfig.get_paths()["stdlib"],
                                       sysconfig.get_paths()["platstdlib"])]
roots += [os.path.realpath(p) for p in roots]
seen["loaded_from_elsewhere"] = sorted({
    name.split(".")[0] for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not any(os.path.abspath(module.__file__).startswith(root + os.sep) for root in roots)})
seen["top_level_loaded"] = sorted({name.split(".")[0] for name in sys.modules})
with open(report_path, "w") as f:
    json.dump(seen, f)
"""


def load_build_tool():
    spec = importlib.util.spec_from_file_location("build_extension", REPO / "tools" / "build_extension.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def build_tool():
    return load_build_tool()


@pytest.fixture(scope="module")
def extension_zips(build_tool, tmp_path_factory) -> dict[str, Path]:
    """Blender platform -> the zip built for it."""
    zips = build_tool.build_extension(tmp_path_factory.mktemp("dist"))
    return {path.stem.rsplit("-", 1)[1].replace("_", "-"): path for path in zips}


@pytest.fixture(scope="module")
def extension_zip(extension_zips) -> Path:
    """The linux-x64 zip, the one this machine installs."""
    return extension_zips["linux-x64"]


def _wheel_pin(wheel: str) -> tuple[str, str]:
    """(canonical name, version) of a wheel file: opencv_python_headless-4.11.0.86-... is
    ("opencv-python-headless", "4.11.0.86"), as read_pins gives its pin."""
    name, version, _, _ = parse_wheel_filename(Path(wheel).name)
    return canonicalize_name(name), str(version)


def _platform_of_wheel_by_blender(wheel: str) -> set[str]:
    """The platforms Blender's own blender_ext.py says a wheel file suits (independent of ours)."""
    spec = importlib.util.spec_from_file_location("blender_ext", load_build_tool().blender_ext_script())
    blender_ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(blender_ext)
    return {p for p in ("linux-x64", "windows-x64", "macos-arm64", "macos-x64")
            if blender_ext.blender_platform_compatible_with_wheel_platform_from_filepath(p, wheel)}


def test_one_zip_per_platform_holds_exactly_its_wheels(extension_zips, build_tool):
    with open(REPO / "blender_manifest.toml", "rb") as f:
        platforms = tomllib.load(f)["platforms"]
    assert sorted(extension_zips) == sorted(platforms) == ["linux-x64", "macos-arm64", "macos-x64", "windows-x64"]
    pins = build_tool.read_pins()
    for platform, path in extension_zips.items():
        wheels = [n for n in zipfile.ZipFile(path).namelist() if n.endswith(".whl")]
        # One wheel per pin, each one Blender itself would install on this platform.
        assert sorted(_wheel_pin(w)[0] for w in wheels) == sorted(name for name, _ in pins), platform
        for wheel in wheels:
            assert platform in _platform_of_wheel_by_blender(Path(wheel).name), (platform, wheel)
            assert build_tool.wheel_platforms(Path(wheel).name) == _platform_of_wheel_by_blender(Path(wheel).name)
        build_tool.run_blender_ext("validate", str(path))
        print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")
        assert path.stat().st_size < ZIP_BUDGET_MB[platform] * 1e6, platform


def test_zip_holds_the_package_and_the_pinned_wheels_only(extension_zip, build_tool):
    names = zipfile.ZipFile(extension_zip).namelist()
    for required in ("blender_manifest.toml", "__init__.py", "operators/import_motion.py",
                     "operators/export_motion.py", "panels/main.py", "scene/actions.py",
                     "cli/__init__.py", "pipelines/import_motion.py", "core/formats/__init__.py", "core/data/smplx_rest.json"):
        assert required in names
    pins = build_tool.read_pins()
    wheels = sorted(n for n in names if n.endswith(".whl"))
    assert sorted(_wheel_pin(w) for w in wheels) == sorted(pins)
    assert all(w.startswith("wheels/") for w in wheels)
    assert not any(name.startswith("numpy") for name, _ in pins)  # Blender ships its own numpy
    for excluded in ("tests/", "tools/", "demo/", "bench/", ".venv", ".git", "dist/", "__pycache__", ".egg-info"):
        assert not [n for n in names if excluded in n], excluded
    assert "constraints.txt" not in names and "pyproject.toml" not in names and "Makefile" not in names
    assert extension_zip.stat().st_size < ZIP_BUDGET_MB["linux-x64"] * 1e6


def test_blender_validates_the_source_and_the_zip(extension_zip, build_tool):
    build_tool.run_blender_ext("validate", str(REPO))
    build_tool.run_blender_ext("validate", str(extension_zip))


def test_manifest_listing_other_wheels_is_refused_with_the_fix(build_tool, tmp_path):
    manifest = tmp_path / "blender_manifest.toml"
    manifest.write_text('id = "x"\nwheels = ["./wheels/old-1.0-py3-none-any.whl"]\n')
    wheel = tmp_path / "wheels" / "safetensors-0.8.0-cp310-abi3-manylinux_2_17_x86_64.whl"
    with pytest.raises(build_tool.BuildError) as failure:
        build_tool.check_manifest_wheels([wheel], manifest)
    assert '"./wheels/safetensors-0.8.0-cp310-abi3-manylinux_2_17_x86_64.whl"' in str(failure.value)


def test_installed_extension_works_disables_and_enables(extension_zip, tmp_path):
    report = tmp_path / "report.json"
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender_user"))
    result = subprocess.run(
        [sys.executable, "-c", INSTALL_AND_USE, str(extension_zip), str(BEAT2_EXCERPT), str(report)],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(report.read_text())

    assert seen["install"] == ["FINISHED"]
    assert seen["enabled"] and seen["loaded"]
    # safetensors comes from the extension's own site-packages under the temporary user folder.
    assert Path(seen["safetensors_file"]).is_relative_to(tmp_path / "blender_user")
    assert Path(seen["onnxruntime_file"]).is_relative_to(tmp_path / "blender_user")
    assert seen["generator_runtime"] == "onnxruntime"  # the speech generator runs on the wheel's onnxruntime
    assert seen["mediapipe_available"] is None
    assert Path(seen["cv2_file"]).is_relative_to(tmp_path / "blender_user")
    assert Path(seen["mediapipe_file"]).is_relative_to(tmp_path / "blender_user")
    assert seen["import"] == ["FINISHED"]
    with np.load(BEAT2_EXCERPT) as data:
        frames = len(data["poses"])
    assert seen["frame_range"] == [1.0, float(frames)]
    assert not seen["editable_package_loaded"]
    # Nothing it needs is missing from Blender + wheels. `import mediapipe` tries sounddevice
    # (mediapipe.tasks' microphone recorder) and goes on without it on ImportError.
    assert set(seen["blocked_imports"]) <= {"sounddevice"}
    assert not seen["registered_after_disable"] and not seen["settings_after_disable"]
    assert seen["registered_after_enable"] and seen["import_after_enable"] == ["FINISHED"]


@pytest.mark.skipif(not (sys.platform == "linux" and os.uname().machine == "x86_64"),
                    reason="runs the linux-x64 zip's wheels")
def test_video_capture_runs_on_the_zips_wheels_alone(extension_zip, tmp_path):
    """MediaPipe Holistic (model_complexity=1) and OpenCV's video decoding from the wheels in
    the linux zip alone, plus numpy: nothing else of this virtual environment is importable."""
    site_dir = tmp_path / "site"
    with zipfile.ZipFile(extension_zip) as outer:
        for name in outer.namelist():
            if name.startswith("wheels/") and name.endswith(".whl"):
                with outer.open(name) as inner, zipfile.ZipFile(inner) as wheel:
                    wheel.extractall(site_dir)  # what Blender's installer does with each wheel
    numpy_dir = tmp_path / "numpy_only"
    numpy_dir.mkdir()
    venv_site = Path(np.__file__).resolve().parents[1]
    for entry in venv_site.glob("numpy*"):  # numpy, numpy.libs, its dist-info
        (numpy_dir / entry.name).symlink_to(entry)
    report = tmp_path / "report.json"
    env = dict(os.environ, MPLCONFIGDIR=str(tmp_path / "mplconfig"))  # matplotlib's font cache
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", VIDEO_FROM_WHEELS, str(site_dir), str(numpy_dir), str(tmp_path), str(report)],
        capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(report.read_text())

    assert Path(seen["cv2_file"]).is_relative_to(site_dir)
    assert Path(seen["mediapipe_file"]).is_relative_to(site_dir)
    assert seen["frames_read"] == 10 and seen["frame_shape"] == [120, 160, 3]
    assert seen["processed"] == 3
    assert seen["pose_found"] == [False] * 3 and seen["hands_found"] == [False] * 3  # no person in grey
    assert seen["loaded_from_elsewhere"] == []
    # mediapipe's metadata asks for these, but Holistic never imports them (they are not in the zip).
    for unused in ("jax", "jaxlib", "absl", "sounddevice", "sentencepiece"):
        assert unused not in seen["top_level_loaded"], unused
