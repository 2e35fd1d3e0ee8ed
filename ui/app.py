"""`python run.py` with no arguments: the desktop app."""
import logging
import os
import sys

log = logging.getLogger(__name__)


def main(argv=None) -> int:
    os.environ.setdefault("GLOG_minloglevel", "2")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from . import theme
    from .context import AppContext
    from .main_window import MainWindow

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    app.setApplicationName("AvatarCam")
    app.setOrganizationName("AvatarCam")
    app.setApplicationDisplayName("AvatarCam")
    theme.apply(app)
    try:
        window = MainWindow(AppContext.default())
    except Exception as exc:           # a readable message, not a traceback, if the window cannot open
        log.exception("the window could not open")
        from PySide6.QtWidgets import QMessageBox
        QMessageBox.critical(None, "AvatarCam", f"AvatarCam could not start: {exc}")
        return 1
    window.show()
    _close_on_signals(app, window)
    code = app.exec()
    window.preload_thread.join(10.0)      # never tear the interpreter down under a half-done import
    return code


def _close_on_signals(app, window) -> None:
    """SIGTERM / Ctrl+C close the window like its close button: threads stop, the camera is released."""
    import signal
    from PySide6.QtCore import QTimer

    def close(*_):
        QTimer.singleShot(0, window.close)
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            signal.signal(sig, close)
        except (ValueError, OSError):       # not the main thread / not supported here
            pass
    ticker = QTimer(app)                    # lets Python run its signal handlers while Qt's loop waits
    ticker.timeout.connect(lambda: None)
    ticker.start(200)
