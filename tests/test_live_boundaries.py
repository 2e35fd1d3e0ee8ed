"""Dependencies point one way: ui -> realtime -> engines. realtime/ and engines/ never import Qt or ui."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6", "qtpy", "pytestqt")


def imported_modules(path: Path) -> set:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant):
            out.add(str(node.args[0].value))
    return out


def test_realtime_and_engines_never_import_qt_or_ui():
    bad = []
    for pkg in ("realtime", "engines"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for mod in imported_modules(path):
                top = mod.split(".")[0]
                if top in QT or top == "ui" or (pkg == "engines" and top == "realtime"):
                    bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "\n".join(bad)


def test_importing_the_live_core_loads_no_qt():
    code = ("import sys; import realtime.live.session, realtime.outputs.virtual_camera, realtime.outputs.mjpeg_stream, "
            "realtime.outputs.recorder, realtime.outputs.loopback_check, realtime.live.avatar_library, "
            "realtime.live.image_check; "
            f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r}]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
