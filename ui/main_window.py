"""The main window: welcome on first run; then the avatar panel, the live view and the controls, with
the error banner on top and the status bar below. This file builds and wires it; what the avatar-set
actions do is in window_sets.py, what the live actions do is in window_live.py. The per-frame work
lives in realtime/live, the photo checks in realtime/live/image_check."""
import logging
import os
import threading
import time

from PySide6.QtCore import QByteArray, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from .avatar_checker import AvatarChecker
from .avatar_panel import AvatarPanel
from .window_live import LiveActions
from .window_sets import SAMPLE_ID, AvatarSetActions
from .banner import Banner
from .controls_panel import ControlsPanel
from .live_controller import LiveController
from .live_view import LiveView
from .settings import SettingsStore
from .status_line import StatusLine
from .welcome import WelcomePage

log = logging.getLogger(__name__)

class MainWindow(AvatarSetActions, LiveActions, QMainWindow):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("AvatarCam")
        self.resize(1320, 780)
        self.setMinimumSize(960, 600)
        self.settings_store = SettingsStore(ctx.settings_path)
        self.settings, settings_warning = self.settings_store.load()
        self.consent_store = ctx.consent_store()
        self.library = ctx.library()
        self.current = None                 # CheckedSet on show
        self._check_n = 0
        self._consent_asked = set()
        self._last_driver_event = None
        self._vcam_problem = None
        self._recording_since = None          # when the running recording started (time.monotonic())
        self.closed_in_s = None
        self._avatar_shown = False
        self._started_at = time.monotonic()

        self.banner = Banner()
        self.welcome = WelcomePage()
        self.panel = AvatarPanel()
        self.view = LiveView()
        self.controls = ControlsPanel()
        workspace = QWidget()
        row = QHBoxLayout(workspace)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.panel)
        row.addWidget(_vline())
        row.addWidget(self.view, 1)
        row.addWidget(_vline())
        row.addWidget(self.controls)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(workspace)
        self.stack.currentChanged.connect(lambda i: self.statusBar().setVisible(i == 1))
        central = QWidget()
        col = QVBoxLayout(central)
        col.setContentsMargins(8, 8, 8, 0)
        col.setSpacing(6)
        col.addWidget(self.banner)
        col.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.status = StatusLine(self.statusBar())
        self.status.show_vcam("off")

        self.live = LiveController(ctx, self)
        self.checker = AvatarChecker(ctx.extra.get("checker_tracker_factory"), self)
        self._connect()
        self.controls.set_cameras(self._cameras())
        self.controls.load(self.settings)
        self._apply_landmarks(self.settings.show_landmarks)
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode()))
        self._refresh_sets()
        has_sets = bool(self.library.sets())
        if not self.settings.welcome_done and not has_sets:
            self.stack.setCurrentWidget(self.welcome)
        else:
            self.stack.setCurrentWidget(self.stack.widget(1))
            self.choose_set(self.settings.current_set or SAMPLE_ID)
        self.statusBar().setVisible(self.stack.currentIndex() == 1)
        if settings_warning:
            self.banner.show_message(settings_warning, "warning")
        self._update_start_state()
        if self._no_camera():
            self.view.driver.set_placeholder("No webcam found", "Press Start: the built-in demo motion drives the "
                                                                "avatar. Plug in a webcam at any time.")
        self.preload_thread = threading.Thread(target=_preload, name="avatarcam-preload", daemon=True)
        self.preload_thread.start()
        if self.settings.start_on_launch:
            QTimer.singleShot(200, self._start_when_ready)

    # -- wiring -------------------------------------------------------------------------------------------
    def _connect(self) -> None:
        self.welcome.sample_chosen.connect(self._welcome_sample)
        self.welcome.photos_chosen.connect(self._welcome_photos)
        self.welcome.capture_chosen.connect(self._welcome_capture)
        self.banner.action_triggered.connect(self._banner_action)
        p = self.panel
        p.set_chosen.connect(self.choose_set)
        p.files_added.connect(self.add_files)
        p.file_removed.connect(self._remove_file)
        p.used_changed.connect(self._used_changed)
        p.base_changed.connect(self._base_changed)
        p.new_set_requested.connect(self._new_set)
        p.capture_requested.connect(self.open_capture)
        p.consent_requested.connect(lambda: self.ask_consent(force=True))
        p.revoke_requested.connect(self.revoke_consent)
        p.rename_requested.connect(self._rename_set)
        p.delete_requested.connect(self._delete_set)
        c = self.controls
        c.start_stop_clicked.connect(self.toggle_live)
        c.calibrate_clicked.connect(self.calibrate)
        c.driver_changed.connect(self._driver_changed)
        c.pipeline_changed.connect(self._pipeline_changed)
        c.landmarks_toggled.connect(self._apply_landmarks)
        c.vcam_toggled.connect(self._vcam_toggled)
        c.vcam_retry_clicked.connect(self.retry_vcam)
        c.vcam_selftest_clicked.connect(self._selftest)
        c.stream_toggled.connect(self._stream_toggled)
        c.record_clicked.connect(self.toggle_recording)
        lc = self.live
        lc.preview_ready.connect(self._show_preview)
        lc.stats_ready.connect(self.status.show_stats)
        lc.event_ready.connect(self._on_event)
        lc.sinks_ready.connect(self._on_sinks)
        lc.running_changed.connect(self._running_changed)
        lc.selftest_done.connect(self._selftest_done)
        lc.recording_finished.connect(self._recording_finished)
        self.checker.checked.connect(self._on_checked)
        QShortcut(QKeySequence("Ctrl+K"), self, activated=self.calibrate)
        QShortcut(QKeySequence("Ctrl+R"), self, activated=self.toggle_recording)
        QShortcut(QKeySequence("Ctrl+Q"), self, activated=self.close)

    def _cameras(self) -> list:
        try:
            return list(self.ctx.list_cameras())
        except Exception:
            return []

    def _refresh_cameras(self) -> None:
        """A webcam plugged in while running: list it, keeping the chosen index."""
        self.controls.set_cameras(self._cameras())
        i = self.controls.camera_combo.findData(self.settings.camera_index)
        self.controls.camera_combo.setCurrentIndex(max(0, i))

    def _no_camera(self) -> bool:
        return self.settings.driver_kind == "camera" and not self._cameras()

    def save_settings(self) -> None:
        self.controls.store(self.settings)
        try:
            self.settings_store.save(self.settings)
        except OSError as exc:
            self.banner.show_message(f"Settings could not be saved ({exc}).", "warning")

    # -- welcome ------------------------------------------------------------------------------------------
    def _leave_welcome(self):
        self.settings.welcome_done = True
        self.stack.setCurrentIndex(1)
        self.save_settings()

    def _welcome_sample(self):
        self._leave_welcome()
        self.choose_set(SAMPLE_ID)
        self._start_when_ready()

    def _welcome_photos(self):
        from PySide6.QtWidgets import QFileDialog
        from .avatar_panel import IMAGE_FILTER
        paths, _ = QFileDialog.getOpenFileNames(self, "Choose 1 to 8 photos of one person", os.path.expanduser("~"),
                                                IMAGE_FILTER)
        self._leave_welcome()
        if paths:
            self.add_files("", paths)
        else:
            self.choose_set(SAMPLE_ID)

    def _welcome_capture(self):
        self._leave_welcome()
        self.choose_set(self.settings.current_set or SAMPLE_ID)
        self.open_capture()

    def open_capture(self):
        from .capture_dialog import GuidedCaptureDialog
        if not self.live.running:
            self._start(avatar_required=False, camera_only=True)
        dlg = GuidedCaptureDialog(self.live, self.checker, self.library, mirrored=self.settings.mirror, parent=self)
        dlg.exec()
        if dlg.saved_set_id:
            self._consent_asked.discard(dlg.saved_set_id)
            self.choose_set(dlg.saved_set_id)

    # -- closing ------------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        t0 = time.monotonic()
        self.settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        self.save_settings()
        rec = self.live.stop_recording()
        self.live.stop()
        if rec is not None:
            rec.finished.wait(5.0)              # let the recording's file be committed
        self.checker.shutdown()
        self.closed_in_s = time.monotonic() - t0
        super().closeEvent(event)

def _vline() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.VLine)
    line.setStyleSheet("color: #2c313c;")
    return line

def _preload() -> None:
    """Import the heavy modules (torch, the engine, MediaPipe) in the background after the window shows,
    so Start is quick and the window opens fast."""
    import importlib
    for name in ("realtime.pipeline", "realtime.live.session", "realtime.tracking", "mediapipe"):
        try:
            importlib.import_module(name)
        except Exception:
            log.debug("preload of %s failed", name, exc_info=True)
