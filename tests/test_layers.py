"""Imports only go downward (DESIGN.md): core imports nothing of the package outside core;
scene imports core only; pipelines import core only (Blender sinks are handed in by the
caller); the shells (cli, operators, panels) sit on top. Checked on the source, every import
statement of every module, relative ones resolved."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "scene", "pipelines", "cli", "operators", "panels")
#: What each layer may import of the package.
ALLOWED = {"core": {"core"}, "scene": {"core", "scene"}, "pipelines": {"core", "pipelines"}}


def imported_layers(path: Path) -> set[str]:
    """The top-level package folders (core, scene, ...) that the module at `path` imports."""
    module_parts = path.relative_to(REPO).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module_parts[: len(module_parts) - node.level]
                target = base + tuple((node.module or "").split(".")) if node.module else base
            else:
                names = (node.module or "").split(".")
                target = tuple(names[1:]) if names[0] == "motion_tokens" else ()
            if target and target[0] in PACKAGES:
                found.add(target[0])
            elif not target and node.level:  # `from .. import x`: the names are modules or packages
                found |= {a.name for a in node.names if a.name in PACKAGES}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names = alias.name.split(".")
                if names[0] == "motion_tokens" and len(names) > 1 and names[1] in PACKAGES:
                    found.add(names[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_only_go_downward(layer):
    wrong = {}
    for path in sorted((REPO / layer).rglob("*.py")):
        extra = imported_layers(path) - ALLOWED[layer]
        if extra:
            wrong[str(path.relative_to(REPO))] = sorted(extra)
    assert not wrong, f"{layer} imports upward: {wrong}"


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    fake = REPO / "scene" / "actions.py"
    source = ast.parse("from ..pipelines.progress import Stepper\nfrom ..core.steps import Progress\n")
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: ast.unparse(source))
    assert imported_layers(fake) == {"pipelines", "core"}
