"""PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call; without the guard in
ui/qt_workarounds.py the app aborts ("none_dealloc") within a minute of live preview."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LOOP = """
import os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
{imp}
from PySide6.QtCore import QPoint
p = QPoint()
for i in range(300_000):          # far more than None's natural reference count
    p.setX(i)
print("alive")
"""


def test_many_void_binding_calls_do_not_abort_the_app():
    r = subprocess.run([sys.executable, "-c", LOOP.format(imp="import ui")], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "alive" in r.stdout, r.stderr[-2000:]


def test_the_guard_is_needed_exactly_when_the_bindings_leak():
    from ui import qt_workarounds
    probe = subprocess.run([sys.executable, "-c", "from ui.qt_workarounds import binding_leaks_none as b; print(b())"],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    leaking = probe.stdout.strip() == "True"
    if leaking:        # the unguarded bindings really do abort: the guard is not decoration
        r = subprocess.run([sys.executable, "-c", LOOP.format(imp="")], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
        assert r.returncode != 0 and "none_dealloc" in r.stderr
    assert qt_workarounds.install() is leaking
