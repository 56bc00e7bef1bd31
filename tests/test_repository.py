"""Repository rules, checked with the tests so that one command runs everything: ruff lint and
format, and the import layers (qt -> training -> core; core imports NumPy only)."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["lint-imports"],
    ],
)
def test_repository_check(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_theme_owns_every_colour():
    """No colour literal (#rrggbb, an RGB(A) tuple, a named colour) outside qt/theme.py."""
    hex_or_named = re.compile(r"#[0-9a-fA-F]{6}\b|QColor\(\s*(\d|\"[a-z])|mkPen\(\s*\"[a-z]")
    numbers = re.compile(r"\(\s*(\d{1,3}(?:\s*,\s*\d{1,3}){2,3})\s*\)")

    def rgb(line):  # three or four numbers up to 255, one of them at least 100
        return any(
            max(values) >= 100 and max(values) <= 255
            for values in ([int(v) for v in m.split(",")] for m in numbers.findall(line))
        )

    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "bpstudio").rglob("*.py"))
        if path.name != "theme.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if hex_or_named.search(line) or ("Rect" not in line and rgb(line))
    ]
    assert not found, "\n".join(found)


def test_no_module_uses_another_modules_private_names():
    """`from m import _x` and `obj._x` (obj not self/cls) where `_x` is not the module's own."""
    found = []
    for path in sorted([*(ROOT / "bpstudio").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]):
        tree = ast.parse(path.read_text())
        own = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                own.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own.add(node.attr)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.Attribute) and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            ):
                names = [node.attr] if node.attr not in own else []
            else:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
                for name in names
                if name.startswith("_") and not name.startswith("__")
            ]
    assert not found, "\n".join(found)
