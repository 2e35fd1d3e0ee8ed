"""The bridge between the live session (plain threads) and the window: it polls the newest preview
about 30 times a second and the stats and events twice a second, and turns them into Qt signals. It
never blocks a pipeline thread; the pipeline never calls into Qt."""
import logging
import threading

from PySide6.QtCore import QObject, QTimer, Signal

log = logging.getLogger(__name__)


class LiveController(QObject):
    preview_ready = Signal(object)         # PreviewFrame
    stats_ready = Signal(object)           # StatsSnapshot
    event_ready = Signal(object)           # LiveEvent
    sinks_ready = Signal(list)             # [SinkStatus]
    running_changed = Signal(bool)
    selftest_done = Signal(object)         # SelfTestResult
    recording_finished = Signal(object, object)   # path or None, error or None

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session = None
        self.vcam = None
        self.stream = None
        self.recorder = None
        self._seq = 0
        self._preview_timer = QTimer(self)
        self._preview_timer.setInterval(33)
        self._preview_timer.timeout.connect(self._poll_preview)
        self._status_timer = QTimer(self)
        self._status_timer.setInterval(500)
        self._status_timer.timeout.connect(self._poll_status)
        self.recording_finished.connect(self._recording_done)      # queued: it is emitted by the encoder thread
        self.last_stop_s = None

    @property
    def running(self) -> bool:
        return self.session is not None

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self, avatar, pipeline, driver, output, consent_store, vcam: bool, stream: bool, stream_port: int = 0):
        from realtime.live.builder import default_processor_factory, default_tracker_factory
        from realtime.live.session import LiveSession
        if self.session is not None:
            self.stop()
        s = LiveSession(output, opener=self.ctx.opener,
                        processor_factory=self.ctx.processor_factory or default_processor_factory,
                        tracker_factory=self.ctx.tracker_factory or default_tracker_factory,
                        consent_store=consent_store)
        self.session = s
        self._seq = 0
        if avatar is not None:
            s.set_avatar(avatar, pipeline)
        else:
            s.pipeline_config = pipeline
        self.enable_vcam(vcam)
        self.enable_stream(stream, stream_port)
        s.start(driver)
        self._preview_timer.start()
        self._status_timer.start()
        self.running_changed.emit(True)

    def stop(self) -> bool:
        s, self.session = self.session, None
        if s is None:
            return True
        self._preview_timer.stop()
        self._status_timer.stop()
        import time
        t0 = time.monotonic()
        ok = s.stop(self.ctx.stop_timeout_s)
        self.last_stop_s = time.monotonic() - t0
        for e in s.drain_events():
            self.event_ready.emit(e)
        self.vcam = self.stream = None
        if self.recorder is not None:
            self.recorder = None
        self.running_changed.emit(False)
        return ok

    # -- changes ------------------------------------------------------------------------------------------
    def set_avatar(self, avatar, pipeline=None):
        if self.session is not None:
            self.session.set_avatar(avatar, pipeline)

    def set_pipeline(self, pipeline):
        if self.session is not None:
            self.session.set_pipeline(pipeline)

    def set_driver(self, driver):
        if self.session is not None:
            self.session.set_driver(driver)

    def calibrate(self):
        if self.session is not None:
            self.session.calibrate()

    def enable_vcam(self, on: bool):
        if self.session is None:
            return
        if on and self.vcam is None:
            from realtime.outputs.virtual_camera import VirtualCameraSink
            self.vcam = VirtualCameraSink(device_factory=self.ctx.vcam_factory)
            self.session.add_sink(self.vcam)
        elif not on and self.vcam is not None:
            self.session.remove_sink(self.vcam)
            self.vcam = None

    def retry_vcam(self):
        if self.session is not None and self.vcam is not None:
            self.session.retry_sink(self.vcam)

    def enable_stream(self, on: bool, port: int = 0):
        if self.session is None:
            return
        if on and self.stream is None:
            from realtime.outputs.mjpeg_stream import MjpegStreamSink
            self.stream = MjpegStreamSink(port=port, max_fps=self.session.output_config.fps)
            self.session.add_sink(self.stream)
        elif not on and self.stream is not None:
            self.session.remove_sink(self.stream)
            self.stream = None

    def stream_url(self) -> str:
        return self.stream.page_url if self.stream is not None and self.stream.port else ""

    def start_recording(self, path, consent_record=None):
        """Record the output of the set `consent_record` covers (None: the built-in sample). The recorder
        takes its session id from the first frame it writes (the engine may still be loading) and ends
        by itself when the avatar set changes: one file, one session, one consent record."""
        from realtime.outputs.recorder import Mp4RecorderSink
        if self.session is None or self.recorder is not None:
            return None
        rec = Mp4RecorderSink(path, on_finished=lambda p, e: self.recording_finished.emit(p, e),
                              consent_record_hash=consent_record.record_hash if consent_record else None,
                              image_hashes=consent_record.image_hashes if consent_record else None)
        self.recorder = rec
        self.session.add_sink(rec)
        return rec

    def stop_recording(self):
        rec, self.recorder = self.recorder, None
        if rec is not None and self.session is not None:
            self.session.remove_sink(rec)        # the output thread closes it; the file is committed then
        return rec

    def _recording_done(self, path, error):
        """A recording that ended by itself (the avatar set changed, consent stopped it) leaves the outputs."""
        rec = self.recorder
        if rec is not None and rec.finished.is_set():
            self.stop_recording()

    def run_selftest(self):
        if self.vcam is None:
            return
        from realtime.outputs.loopback_check import run_self_test
        sink, reader = self.vcam, self.ctx.loopback_reader
        threading.Thread(target=lambda: self.selftest_done.emit(run_self_test(sink, reader)),
                         name="avatarcam-selftest", daemon=True).start()

    # -- polling ------------------------------------------------------------------------------------------
    def _poll_preview(self):
        if self.session is None:
            return
        value, seq = self.session.preview()
        if value is not None and seq != self._seq:
            self._seq = seq
            self.preview_ready.emit(value)

    def _poll_status(self):
        if self.session is None:
            return
        for e in self.session.drain_events():
            self.event_ready.emit(e)
        self.stats_ready.emit(self.session.stats())
        self.sinks_ready.emit(self.session.sink_statuses())
