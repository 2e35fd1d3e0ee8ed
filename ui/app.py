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
    return app.exec()
