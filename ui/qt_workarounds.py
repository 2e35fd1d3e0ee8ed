"""Workarounds for bugs in the Qt bindings, installed once when the ui package is imported.

PySide6 6.12.0 on CPython 3.10/3.11: every binding call that returns None gives back a reference to
None it never took (None is immortal only from Python 3.12, and the bindings act as if it were).
Each QPainter.setPen, QLabel.setText, QWidget.update... lowers None's reference count by one; after
some ten thousand calls it reaches zero and the interpreter aborts with "none_dealloc". A live
preview repaints 30 times a second, so the app would abort within a minute. PySide6 6.11.3 does not
have the bug (pinning it is the clean fix); this guard makes any affected version safe: it measures
the leak once, and if there is one, keeps None's count far from zero. None is never freed, so a
high count costs nothing.
"""
import ctypes
import logging
import sys
import threading

log = logging.getLogger(__name__)

FLOOR = 1 << 40              # never let None's count fall near zero...
TOP_UP = 1 << 50             # ...by raising it this far when it drops below FLOOR
CHECK_EVERY_S = 5.0          # at ~10,000 leaked references a second, FLOOR lasts for years anyway

_installed = False


def _refcount_field():
    return ctypes.c_ssize_t.from_address(id(None))       # CPython: ob_refcnt is the object's first field


def binding_leaks_none() -> bool:
    """True when a void binding call lowers None's reference count (the PySide6 6.12 bug)."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False                                       # None is immortal there
    from PySide6.QtCore import QPoint
    p = QPoint()
    before = sys.getrefcount(None)
    for i in range(200):
        p.setX(i)
    return sys.getrefcount(None) - before <= -150


def _top_up() -> None:
    field = _refcount_field()
    if field.value < FLOOR:                                # runs with the GIL held: no one else touches it
        field.value += TOP_UP


def install() -> bool:
    """Install the guard if this PySide6 leaks references to None; True if it was needed."""
    global _installed
    if _installed:
        return True
    try:
        leaking = binding_leaks_none()
    except Exception:            # never let a workaround stop the app
        log.debug("could not probe the Qt bindings", exc_info=True)
        return False
    if not leaking:
        return False
    import PySide6
    log.info("PySide6 %s on Python %d.%d releases references to None it does not own; guarding against it "
                "(PySide6 6.11.3 does not have this bug)", PySide6.__version__, *sys.version_info[:2])
    _top_up()

    def guard():
        while True:
            _top_up()
            threading.Event().wait(CHECK_EVERY_S)

    threading.Thread(target=guard, name="avatarcam-none-guard", daemon=True).start()
    _installed = True
    return True
