"""The window's live actions: start and stop, live changes of the driver and the animation, the outputs
(virtual camera, stream, recording, self-test), and what the live session reports (previews, events,
sink states) shown in the views, the banner and the status bar. A mixin of MainWindow."""
import html
import logging
import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

log = logging.getLogger(__name__)

FINDING_NEUTRAL = "Look at the camera with your mouth closed: finding your neutral face…"


class LiveActions:
    def _pipeline_config(self):
        from realtime.live.session import NEUTRAL_WAIT_S
        from realtime.pipeline import PipelineConfig
        s = self.settings
        return PipelineConfig(size=s.engine_size, expression=s.expression, head_motion=s.head_motion,
                              smoothing=s.smoothing, neutral_wait=NEUTRAL_WAIT_S)

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

    def _start(self, avatar_required: bool, camera_only: bool = False) -> bool:
        """Go live with the current set (asking for consent first if needed); camera_only: just the
        webcam, for the guided capture and the live check (nothing is animated, nothing goes out)."""
        self.save_settings()
        avatar = None
        if self.current is not None and self.current.usable and not camera_only:
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
                self.view.avatar.set_frame(self._framed_base())
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
        record = self._consent_record("record") if self._needs_consent() else None
        if self._needs_consent() and record is None:
            self.banner.show_message("The consent record for this set does not cover recording." if self._consent_record()
                                     else "No consent recorded for this set: it cannot be recorded.", "error")
            return
        folder = Path(self.settings.record_dir or _videos_dir())
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / time.strftime("AvatarCam-%Y%m%d-%H%M%S.mp4")
            rec = self.live.start_recording(path, record)
            # the consent-log entry names the session the recorder actually wrote (known at its first frame)
            self._recording_record = (record, rec)
            self._recording_end, self._recording_result = None, None
        except Exception as exc:
            self.banner.show_message(f"Recording could not start: {exc}", "error")
            return
        self._recording_since = time.monotonic()
        self.controls.set_recording(True, f"Recording to {path}")

    def _recording_finished(self, path, error) -> None:
        record, rec = getattr(self, "_recording_record", (None, None))
        if path and record is not None and rec is not None and rec.session_id:
            self.consent_store.log_session(rec.session_id, record.id, f"record: {path}")
        if path:
            self._last_recording = path
        self._recording_result = (path, error)
        self._show_recording_result()

    def _show_recording_result(self) -> None:
        """One message for how a recording ended: why it ended (a sink event) and the file's fate (the
        recorder's callback) arrive separately, in either order."""
        why = getattr(self, "_recording_end", None)
        result = getattr(self, "_recording_result", None)
        lead = f"Recording {why}. " if why else ""
        if result is None:
            self.controls.set_recording(False, f"{lead}Finishing the file…")
            self.banner.show_message(lead + "Finishing the file…", "warning")
            return
        path, error = result
        self.controls.set_recording(False, f"{lead}Saved {path}" if path else lead)
        if path:
            self.banner.show_message(f"{lead}Recording saved (labelled, signed with Content Credentials): {path}",
                                     "warning" if why else "good", [("open_folder", "Show folder")])
        else:
            self.banner.show_message(f"{lead}The recording failed: {error}", "error")

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
        elif pv.face_found and pv.finding_neutral:
            self.view.hint.setText(FINDING_NEUTRAL)
        elif pv.face_found and (self.view.hint.text().startswith("No face") or self.view.hint.text() == FINDING_NEUTRAL):
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
                if (e.data.get("driver") or "").startswith("camera"):
                    self._refresh_cameras()
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
            problem = (e.message.split(": ", 1)[-1], e.data.get("guidance", ""))
            if self._vcam_problem != problem:
                self._vcam_problem = problem
                self._show_vcam_guidance()
        elif name == "virtual camera" and state == "on":
            self._vcam_problem = None
            if self.banner.level == "warning" and "virtual camera" in self.banner.text.lower():
                self.banner.hide()
        elif name == "recording" and state == "ended":
            self._recording_end = e.data.get("detail")
            self._show_recording_result()
        elif state == "blocked" and name != "virtual camera":      # the camera's block stops the session
            self.banner.show_message(f"Nothing goes to the {name}: {e.data.get('detail')}.", "error")
        elif state == "failed":
            self.banner.show_message(e.message, "error")

    def _on_sinks(self, statuses) -> None:
        vc = next((s for s in statuses if s.name == "virtual camera"), None)
        self.controls.set_vcam_on(vc is not None and vc.state == "on")
        if vc is not None:
            if vc.state == "on":
                if not self.controls.vcam_state.text().startswith("✓ Visible"):
                    self.controls.set_vcam_state(f"On · {vc.detail}", "good")
                self.status.show_vcam(vc.detail)
            elif vc.state == "unavailable":
                self.controls.set_vcam_state(f"Not available: {vc.detail.rstrip('.')}. Retrying every few seconds; "
                                             "Retry shows the setup steps.", "warning", retry=True)
                self.status.show_vcam("not available")
            elif vc.state == "blocked":
                self.controls.set_vcam_state(f"Stopped: {vc.detail}", "error")
                self.status.show_vcam("stopped (consent)")
            else:
                self.controls.set_vcam_state(vc.detail or vc.state, "info")
                self.status.show_vcam(vc.state)
        self._show_stream_state(next((s for s in statuses if s.name == "stream"), None))
        self._show_recording_state(next((s for s in statuses if s.name == "recording"), None))

    def _show_recording_state(self, st) -> None:
        """While a recording runs: how long it has been going; before its first frame, what it waits for."""
        rec = self.live.recorder
        if rec is None or st is None or rec.finished.is_set():
            return
        if st.state == "on":
            secs = int(time.monotonic() - (self._recording_since or time.monotonic()))
            self.controls.record_state.setText(f"● {secs // 60}:{secs % 60:02d} · recording to {rec.path}")
        elif st.state == "starting":
            self.controls.record_state.setText(f"Not recording yet: {st.detail}")

    def _show_stream_state(self, st) -> None:
        field = self.controls.stream_url
        if st is not None and st.state == "blocked":          # its address serves nothing now: say why
            field.clear()
            field.setPlaceholderText(f"Not streaming: {st.detail}")
            return
        field.setPlaceholderText("Starts with the output")
        url = self.live.stream_url()
        if url and field.text() != url:
            field.setText(url)
            field.setCursorPosition(0)          # the address reads from its start (http://127.0.0.1:...)

    def _show_vcam_guidance(self) -> None:
        """The setup steps for the missing virtual camera, in the banner (again, if another message took
        its place: the outputs panel's Retry brings them back)."""
        if self._vcam_problem is None:
            return
        detail, guidance = self._vcam_problem
        actions = [("vcam_retry", "Retry")]
        if sys.platform.startswith("linux"):
            actions.append(("copy_modprobe", "Copy command"))
        self.banner.show_message(f"<b>Virtual camera not available.</b> {html.escape(detail)} "
                                 f"{html.escape(guidance)}", "warning", actions)

    def retry_vcam(self) -> None:
        self.live.retry_vcam()
        self._show_vcam_guidance()

    def _banner_action(self, key: str) -> None:
        if key == "vcam_retry":
            self.live.retry_vcam()
            self.banner.hide()
        elif key == "copy_modprobe":
            from realtime.outputs.guidance import LINUX_MODPROBE
            QGuiApplication.clipboard().setText(LINUX_MODPROBE)
        elif key == "open_folder" and getattr(self, "_last_recording", None):
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self._last_recording).parent)))


def _videos_dir() -> str:
    from PySide6.QtCore import QStandardPaths
    return QStandardPaths.writableLocation(QStandardPaths.MoviesLocation) or os.path.expanduser("~")
