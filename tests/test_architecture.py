"""Dependencies point one way: ui -> realtime -> engines. realtime/ and engines/ never import Qt."""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORBIDDEN = {
    "engines": ("realtime", "ui", "PySide6"),
    "realtime": ("ui", "PySide6"),
}


def imports_of(path):
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def package_files(pkg):
    for folder, _, files in os.walk(os.path.join(ROOT, pkg)):
        for f in files:
            if f.endswith(".py"):
                yield os.path.join(folder, f)


@pytest.mark.parametrize("pkg", sorted(FORBIDDEN))
def test_layering(pkg):
    bad = []
    for path in package_files(pkg):
        for name in imports_of(path):
            if name.split(".")[0] in FORBIDDEN[pkg]:
                bad.append(f"{os.path.relpath(path, ROOT)} imports {name}")
    assert not bad, "\n".join(bad)
