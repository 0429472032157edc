"""core/ and pipelines/ never import bpy: every module under them imports in a fresh Python
where `import bpy` fails. The packages are walked, so new modules are covered as they come."""

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent("""
    import importlib, pkgutil, sys
    sys.modules["bpy"] = None  # any `import bpy` now raises ImportError
    import motion_tokens
    failed, count = [], 0
    for package in ("motion_tokens.core", "motion_tokens.pipelines"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, package + "."):
            count += 1
            try:
                importlib.import_module(info.name)
            except Exception as exc:
                failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
    print(count)
    print("\\n".join(failed))
""")


def test_core_and_pipelines_import_without_bpy():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    count, *failed = result.stdout.strip().splitlines()
    assert int(count) > 30  # the walk found the modules
    assert not [line for line in failed if line], "\n".join(failed)
