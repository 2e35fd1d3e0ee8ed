"""The main window: welcome on first run; then the avatar panel, the live view and the controls, with
the error banner on top and the status bar below. It wires widgets to the live controller; the
per-frame work lives in realtime/live, the checks in realtime/live/image_check."""
import logging
import os
import sys
import threading
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QMainWindow, QMessageBox, QStackedWidget, QVBoxLayout, QWidget

from .avatar_checker import AvatarChecker
from .avatar_panel import AvatarPanel
from .banner import Banner
from .consent_dialog import ConsentDialog
from .controls_panel import ControlsPanel
from .live_controller import LiveController
from .live_view import LiveView
from .settings import SettingsStore
from .status_line import StatusLine
from .welcome import WelcomePage

log = logging.getLogger(__name__)

SAMPLE_ID = "sample"


class MainWindow(QMainWindow):
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
        c.vcam_retry_clicked.connect(self.live.retry_vcam)
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

    def _no_camera(self) -> bool:
        return self.settings.driver_kind == "camera" and not self._cameras()

    def save_settings(self) -> None:
        self.controls.store(self.settings)
        try:
            self.settings_store.save(self.settings)
        except OSError as exc:
            self.banner.show_message(f"Settings could not be saved ({exc}).", "warning")

    # -- avatar sets ----------------------------------------------------------------------------------------
    def _refresh_sets(self) -> None:
        sets = [(SAMPLE_ID, "Sample avatar")] + [(s.set_id, s.name) for s in self.library.sets()]
        self.panel.set_sets(sets, self.settings.current_set or SAMPLE_ID)

    def choose_set(self, set_id: str) -> None:
        try:
            info = self.library.get(set_id)
        except KeyError:
            info, set_id = self.library.get(SAMPLE_ID), SAMPLE_ID
        self.settings.current_set = set_id
        self.save_settings()
        self._refresh_sets()
        self.panel.show_loading(set_id, info.is_sample)
        self._check_n = self.checker.request(info, self.settings.sample_used)
        self._update_start_state()

    def _recheck(self) -> None:
        self.choose_set(self.settings.current_set or SAMPLE_ID)

    def _on_checked(self, checked, n: int) -> None:
        if n != self._check_n:
            return                                  # an older request; a newer one is on its way
        self.current = checked
        self.panel.show_checked(checked)
        record = self._consent_record()
        self._show_consent_state(record)
        if not self.live.running:
            base = checked.usable[0].image_bgr if checked.usable else None
            self.view.avatar.set_frame(base)
            self.view.avatar.set_caption("Not live" if base is not None else "")
            if base is None:
                self.view.avatar.set_placeholder("No usable photo", "Add 1 to 8 photos of one person: each one "
                                                                    "is checked for a single, clear face.")
        self._update_start_state()
        info = checked.info
        if self._needs_consent() and record is None and checked.usable and info.set_id not in self._consent_asked:
            self._consent_asked.add(info.set_id)
            QTimer.singleShot(0, self.ask_consent)
        if self.live.running:
            if self._needs_consent() and record is None:
                self.live.stop()
                self.banner.show_message(f"Outputs stopped: “{info.name}” has no consent record yet.", "error")
            elif checked.usable:
                self.live.set_avatar(self._live_avatar(), self._pipeline_config())

    def _needs_consent(self) -> bool:
        return self.current is not None and not self.current.info.is_sample

    def _set_hashes(self) -> list:
        if self.current is None:
            return []
        if self.current.info.is_sample:
            from realtime.provenance.consent import hash_image_array
            return [hash_image_array(c.image_bgr) for c in self.current.images]
        return self.current.info.hashes()

    def _consent_record(self, scope: str = "live"):
        if not self._needs_consent() or not self.current.images:
            return None
        return self.consent_store.find_valid(self._set_hashes(), scope=scope)

    def _show_consent_state(self, record) -> None:
        if self.current is None:
            return
        if self.current.info.is_sample:
            self.panel.set_consent("✓ Built-in sample: depicts no real person, no consent needed.", "good", False, False)
        elif not self.current.images:
            self.panel.set_consent("Add photos to this set to begin.", "info", False, False)
        elif record is None:
            self.panel.set_consent("✕ No consent recorded for these photos: outputs cannot start.", "error", True, False)
        else:
            who = "you" if record.kind == "self" else record.who
            self.panel.set_consent(f"✓ Consent recorded: shows {who} · until {record.expires[:10]}", "good",
                                   False, True)

    def ask_consent(self, force: bool = False):
        """Open the consent dialog for the current set; returns the record or None (refused)."""
        if not self._needs_consent() or not self.current.images:
            return None
        existing = self._consent_record()
        if existing is not None and not force:
            return existing
        thumbs = [c.image_bgr for c in self.current.images if c.image_bgr is not None]
        dlg = ConsentDialog(self.current.info.name, thumbs, self)
        dlg.exec()
        value = dlg.result_value()
        if value is None:
            self.banner.show_message(f"No consent recorded for “{self.current.info.name}”: AvatarCam will not "
                                     "animate it. You can give consent later from the avatar panel.", "info")
            return None
        kind, name = value
        try:
            record = self.consent_store.record(self._set_hashes(), kind, name)
        except Exception as exc:
            self.banner.show_message(f"Consent could not be recorded: {exc}", "error")
            return None
        self._show_consent_state(record)
        self._update_start_state()
        if self.live.running:
            self.live.set_avatar(self._live_avatar(), self._pipeline_config())
        return record

    def revoke_consent(self) -> None:
        record = self._consent_record()
        if record is None:
            return
        if QMessageBox.question(self, "Revoke consent",
                                "Revoke the consent record for this set? Every output using it stops, and the "
                                "set cannot be animated until consent is given again.") != QMessageBox.Yes:
            return
        self.consent_store.revoke(record.id)
        if self.live.running:
            self.live.stop()
        self._show_consent_state(None)
        self._update_start_state()
        self.banner.show_message("Consent revoked: outputs for this set stopped.", "info")

    def _live_avatar(self):
        from realtime.live.live_avatar import make_live_avatar
        c = self.current
        usable = c.usable
        images = [u.check.to_avatar_image(u.image_bgr) for u in usable]
        used = [i for i, u in enumerate(usable) if u.used]
        record = self._consent_record()
        s = self.settings
        return make_live_avatar(c.info.name, images, tuple(self._set_hashes()), s.output_width, s.output_height,
                                used=used, needs_consent=not c.info.is_sample,
                                stronger_label=bool(record and record.kind == "other" and record.method == "attestation"),
                                set_id=c.info.set_id)

    def add_files(self, set_id: str, paths: list) -> None:
        from realtime.errors import AppError
        try:
            if not set_id or set_id == SAMPLE_ID:
                set_id = self.library.create(_name_from(paths)).set_id
            self.library.add_files(set_id, paths)
        except AppError as exc:
            self.banner.show_message(str(exc), "error")
        except OSError as exc:
            self.banner.show_message(f"The photos could not be added: {exc}", "error")
        self.settings.welcome_done = True
        self.stack.setCurrentIndex(1)
        if set_id and set_id != SAMPLE_ID:
            self.choose_set(set_id)

    def _remove_file(self, set_id, file):
        self.library.remove(set_id, file)
        self._recheck()

    def _used_changed(self, set_id, file, used):
        if set_id == SAMPLE_ID:
            names = [c.file for c in self.current.images]
            cur = set(self.settings.sample_used if self.settings.sample_used is not None else range(len(names)))
            i = names.index(file)
            cur = cur | {i} if used else cur - {i}
            self.settings.sample_used = sorted(cur)
            for c in self.current.images:
                if c.file == file:
                    c.used = used
        else:
            self.library.set_used(set_id, file, used)
            for c in self.current.images:
                if c.file == file:
                    c.used = used
        self.save_settings()
        if self.live.running:
            self.live.set_avatar(self._live_avatar(), self._pipeline_config())

    def _base_changed(self, set_id, file):
        self.library.make_base(set_id, file)
        self._recheck()

    def _new_set(self):
        from PySide6.QtWidgets import QInputDialog
        name, ok = QInputDialog.getText(self, "New avatar set", "Name (for example your name):")
        if ok:
            info = self.library.create(name)
            self.choose_set(info.set_id)

    def _rename_set(self, set_id, name):
        self.library.rename(set_id, name)
        self._refresh_sets()

    def _delete_set(self, set_id):
        if self.live.running and self.current and self.current.info.set_id == set_id:
            self.live.stop()
        self.library.delete(set_id)
        self.choose_set(SAMPLE_ID)

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
            self._start(avatar_required=False)
        dlg = GuidedCaptureDialog(self.live, self.checker, self.library, mirrored=self.settings.mirror, parent=self)
        dlg.exec()
        if dlg.saved_set_id:
            self._consent_asked.discard(dlg.saved_set_id)
            self.choose_set(dlg.saved_set_id)

    # -- live ---------------------------------------------------------------------------------------------
    def _pipeline_config(self):
        from realtime.pipeline import PipelineConfig
        s = self.settings
        return PipelineConfig(size=s.engine_size, expression=s.expression, head_motion=s.head_motion,
                              smoothing=s.smoothing)

    def _driver_config(self):
        from realtime.live.grabbers import DriverConfig
        s = self.settings
        return DriverConfig(kind=s.driver_kind, camera_index=s.camera_index, width=s.camera_width,
                            height=s.camera_height, fps=float(s.camera_fps), mirror=s.mirror, video_path=s.video_path)

    def _output_config(self):
        from realtime.live.session import OutputConfig
        s = self.settings
        return OutputConfig(s.output_width, s.output_height, float(s.output_fps))

    def _why_not_start(self) -> str:
        if self.current is None:
            return "Checking the avatar's photos…"
        if not self.current.usable:
            return "This avatar set has no usable photo yet."
        if self._needs_consent() and self._consent_record() is None:
            return "Give consent for this avatar set first."
        return ""

    def _update_start_state(self) -> None:
        why = self._why_not_start()
        # a set without consent can still be started: Start then opens the consent dialog
        can = why == "" or why.startswith("Give consent")
        self.controls.set_running(self.live.running, can, why)

    def _start_when_ready(self, tries: int = 0):
        if self.current is not None and self.current.usable:
            if not self.live.running:
                self.toggle_live()
        elif tries < 300:
            QTimer.singleShot(100, lambda: self._start_when_ready(tries + 1))

    def toggle_live(self) -> None:
        if self.live.running:
            self.live.stop()
            return
        self._start(avatar_required=True)

    def _start(self, avatar_required: bool) -> bool:
        self.save_settings()
        avatar = None
        if self.current is not None and self.current.usable:
            if self._needs_consent() and self._consent_record() is None:
                if self.ask_consent() is None:
                    if avatar_required:
                        return False
                else:
                    avatar = self._live_avatar()
            else:
                avatar = self._live_avatar()
        if avatar is None and avatar_required:
            self.banner.show_message(self._why_not_start() or "Choose an avatar set first.", "info")
            return False
        self.banner.hide()
        self.view.avatar.clear()
        self.view.avatar.set_caption("")
        self.view.avatar.set_placeholder("Starting…", "Loading the engine for this avatar.")
        self.view.driver.set_placeholder("Starting the driver…", "")
        s = self.settings
        self._avatar_shown, self._started_at = False, time.monotonic()
        self.live.start(avatar, self._pipeline_config(), self._driver_config(), self._output_config(),
                        self.consent_store, s.virtual_camera and avatar is not None, s.stream and avatar is not None,
                        s.stream_port)
        return True

    def _running_changed(self, running: bool) -> None:
        self._update_start_state()
        self.controls.set_recording(False, self.controls.record_state.text() if not running else "")
        if not running:
            self.status.idle()
            self.status.show_vcam("off")
            self.controls.set_vcam_state("Off")
            self.controls.stream_url.clear()
            self.view.driver.clear()
            self.view.driver.set_caption("")
            self.view.driver.set_placeholder("Camera off", "Press Start to go live.")
            self.view.hint.setText("")
            if self.current is not None and self.current.usable:
                self.view.avatar.set_frame(self.current.usable[0].image_bgr)
                self.view.avatar.set_caption("Not live")

    def calibrate(self) -> None:
        if self.live.running:
            self.live.calibrate()
            self.view.hint.setText("Calibrated: your current face is the neutral pose.")

    def _driver_changed(self) -> None:
        self.save_settings()
        if self.live.running:
            self.live.set_driver(self._driver_config())

    def _pipeline_changed(self) -> None:
        self.save_settings()
        if self.live.running:
            self.live.set_pipeline(self._pipeline_config())

    def _apply_landmarks(self, on: bool) -> None:
        self.view.driver.show_landmarks = on
        self.settings.show_landmarks = on
        self.view.driver.update()

    def _vcam_toggled(self, on: bool) -> None:
        self.save_settings()
        self.live.enable_vcam(on)
        if not on:
            self.controls.set_vcam_state("Off")
            self.status.show_vcam("off")
        self._update_start_state()

    def _stream_toggled(self, on: bool) -> None:
        self.save_settings()
        self.live.enable_stream(on, self.settings.stream_port)
        if not on:
            self.controls.stream_url.clear()

    def toggle_recording(self) -> None:
        if not self.live.running:
            return
        if self.live.recorder is not None:
            self.live.stop_recording()
            self.controls.set_recording(False, "Finishing the file…")
            return
        if self._needs_consent() and self._consent_record("record") is None:
            self.banner.show_message("The consent record for this set does not cover recording.", "error")
            return
        folder = Path(self.settings.record_dir or _videos_dir())
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / time.strftime("AvatarCam-%Y%m%d-%H%M%S.mp4")
            self.live.start_recording(path)
        except Exception as exc:
            self.banner.show_message(f"Recording could not start: {exc}", "error")
            return
        self.controls.set_recording(True, f"Recording to {path}")

    def _recording_finished(self, path, error) -> None:
        self.controls.set_recording(False, f"Saved {path}" if path else "")
        if path:
            self.banner.show_message(f"Recording saved: {path}", "good", [("open_folder", "Show folder")])
            self._last_recording = path
        else:
            self.banner.show_message(f"The recording failed: {error}", "error")

    def _selftest(self) -> None:
        self.controls.set_vcam_state("Self-test: reading the virtual camera back…")
        self.live.run_selftest()

    def _selftest_done(self, result) -> None:
        if result.visible is True:
            self.controls.set_vcam_state("✓ Visible to other apps", "good")
            self.banner.show_message(result.message, "good")
        elif result.visible is None:
            self.controls.set_vcam_state(result.message, "info")
        else:
            self.controls.set_vcam_state("✕ Not visible to other apps", "error", retry=True)
            self.banner.show_message(result.message, "error")

    # -- what the live session reports ----------------------------------------------------------------------
    def _show_preview(self, pv) -> None:
        if pv.driver_bgr is not None:
            self.view.driver.set_frame(pv.driver_bgr, pv.driver_lmk)
        if pv.avatar_bgr is not None:
            if not self._avatar_shown:
                self._avatar_shown = True
                log.info("live: first avatar frame shown %.1f s after start", time.monotonic() - self._started_at)
            self.view.avatar.set_frame(pv.avatar_bgr)
            if self.view.avatar.caption == "Not live" or self.view.avatar.caption.startswith("Loading"):
                self.view.avatar.set_caption("")
        if pv.avatar_bgr is not None and pv.driver_bgr is not None and not pv.face_found:
            if self.live.session.driver_state != "lost":
                self.view.hint.setText("No face in view: the avatar holds still.")
        elif pv.face_found and self.view.hint.text().startswith("No face"):
            self.view.hint.setText("")

    def _on_event(self, e) -> None:
        if e.kind == "driver":
            state = e.data.get("state")
            if state == "fallback":
                self.view.driver.set_caption("Demo motion (no webcam)", "warning")
            elif state == "lost":
                self.view.driver.set_caption("Camera lost: avatar holds, reconnecting", "error")
                self.banner.show_message(e.message, "warning")
            elif state == "live":
                self.view.driver.set_caption(e.data.get("driver") or "")
                if self.banner.level == "warning" and "camera" in self.banner.text.lower():
                    self.banner.hide()
        elif e.kind == "avatar":
            if e.level == "error":
                self.banner.show_message(e.message, "error")
            else:
                d = e.data
                self.status.show_engine(f"engine {d.get('size')} px · K={d.get('sources')} · {d.get('backend')}")
                self.view.avatar.set_caption("")
        elif e.kind == "sink":
            self._sink_event(e)
        elif e.kind == "consent":
            self.banner.show_message(e.message, "error")
            QTimer.singleShot(0, self.live.stop)
        elif e.kind == "error":
            self.banner.show_message(e.message, "error")

    def _sink_event(self, e) -> None:
        name, state = e.data.get("sink"), e.data.get("state")
        if name == "virtual camera" and state == "unavailable":
            guidance = e.data.get("guidance", "")
            if self._vcam_problem != guidance:
                self._vcam_problem = guidance
                actions = [("vcam_retry", "Retry")]
                if sys.platform.startswith("linux"):
                    actions.append(("copy_modprobe", "Copy command"))
                import html
                detail = e.message.split(": ", 1)[-1]
                self.banner.show_message(f"<b>Virtual camera not available.</b> {html.escape(detail)} "
                                         f"{html.escape(guidance)}", "warning", actions)
        elif name == "virtual camera" and state == "on":
            self._vcam_problem = None
            if self.banner.level == "warning" and "virtual camera" in self.banner.text.lower():
                self.banner.hide()
        elif state == "failed":
            self.banner.show_message(e.message, "error")

    def _on_sinks(self, statuses) -> None:
        vc = next((s for s in statuses if s.name == "virtual camera"), None)
        if vc is not None:
            if vc.state == "on":
                if not self.controls.vcam_state.text().startswith("✓ Visible"):
                    self.controls.set_vcam_state(f"On · {vc.detail}", "good")
                self.status.show_vcam(vc.detail)
            elif vc.state == "unavailable":
                self.controls.set_vcam_state("Not available: see the message above. Retrying every few seconds.",
                                             "warning", retry=True)
                self.status.show_vcam("not available")
            elif vc.state == "blocked":
                self.controls.set_vcam_state(f"Stopped: {vc.detail}", "error")
                self.status.show_vcam("stopped (consent)")
            else:
                self.controls.set_vcam_state(vc.detail or vc.state, "info")
                self.status.show_vcam(vc.state)
        url = self.live.stream_url()
        if url and self.controls.stream_url.text() != url:
            self.controls.stream_url.setText(url)

    def _banner_action(self, key: str) -> None:
        if key == "vcam_retry":
            self.live.retry_vcam()
            self.banner.hide()
        elif key == "copy_modprobe":
            from realtime.outputs.guidance import LINUX_MODPROBE
            QGuiApplication.clipboard().setText(LINUX_MODPROBE)
        elif key == "open_folder" and getattr(self, "_last_recording", None):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self._last_recording).parent)))

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


def _name_from(paths) -> str:
    stem = Path(paths[0]).stem if paths else "My avatar"
    return stem[:40] or "My avatar"


def _videos_dir() -> str:
    from PySide6.QtCore import QStandardPaths
    return QStandardPaths.writableLocation(QStandardPaths.MoviesLocation) or os.path.expanduser("~")


def _preload() -> None:
    """Import the heavy modules (torch, the engine, MediaPipe) in the background after the window shows,
    so Start is quick and the window opens fast."""
    try:
        import realtime.pipeline  # noqa: F401
        import realtime.live.session  # noqa: F401
        import realtime.tracking  # noqa: F401
        import mediapipe  # noqa: F401
    except Exception:
        log.debug("preload failed", exc_info=True)
