"""LiveSession: the live pipeline wired in one visible place.

    driver (camera / video / demo) --CaptureThread--> Mailbox (one item, newest wins)
        --ProcessingThread (MediaPipe + engine + label)--> output slot --OutputThread (paced)--> sinks
                                                       \\-> preview slot <- the UI peeks ~30x/s
    ProcessorBuilder: builds processors for new avatar sets / engine sizes off the live path.

Everything here is plain Python threads; the window talks to it only through these methods.
"""
import logging
import sys
import threading
import time
from dataclasses import dataclass, fields

from ..pipeline import PipelineConfig
from .builder import BuildRequest, ProcessorBuilder, default_processor_factory, default_tracker_factory
from .capture import CaptureThread, DriverState
from .consent_gate import ConsentGate
from .events import EventQueue
from .grabbers import DriverConfig, open_grabber
from .mailbox import LatestValue, Mailbox
from .output import OutputThread
from .processing import LIVE_FIELDS, ProcessingThread
from .stats import LiveStats, StatsSnapshot

LIVE_SWITCH_INTERVAL_S = 0.001
# how long a live session waits for the driver to look neutral before calibrating on the most neutral
# face it saw (realtime/neutral.py): the built-in demo faces the camera with its mouth shut every 3.9 s
NEUTRAL_WAIT_S = 4.0

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputConfig:
    width: int = 1280
    height: int = 720
    fps: float = 30.0


class LiveSession:
    def __init__(self, output: OutputConfig = OutputConfig(), opener=open_grabber,
                 processor_factory=default_processor_factory, tracker_factory=default_tracker_factory,
                 consent_store=None, locale: str = None, retry_s: float = 1.0):
        self.output_config = output
        self.events = EventQueue()
        self.stats_ = LiveStats()
        self.mailbox = Mailbox()
        self.output_slot = LatestValue()
        self.preview_slot = LatestValue()
        self.consent_store = consent_store
        self.processing = ProcessingThread(self.mailbox, self.output_slot, self.preview_slot, self.events, self.stats_)
        self.builder = ProcessorBuilder(self.processing, self.events, processor_factory, tracker_factory,
                                        consent_store, locale)
        # always gated: with no store, sets that need consent go nowhere (the built-in sample still does)
        self.output = OutputThread(self.output_slot, output.fps, self.stats_, self.events, ConsentGate(consent_store))
        self._opener = opener
        self._retry_s = retry_s
        self.capture = None
        self.avatar = None
        self.pipeline_config = PipelineConfig(neutral_wait=NEUTRAL_WAIT_S)
        self.running = False
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self, driver: DriverConfig) -> None:
        if self.running:
            raise RuntimeError("the live session is already running")
        self.capture = CaptureThread(driver, self.mailbox, self.events, self.stats_, self._opener, self._retry_s)
        # six Python threads share the GIL; with the default 5 ms switch interval the processing thread
        # waited behind the window's and the outputs' work (window at 512: 20.1-20.9 fps at 5 ms,
        # 21.5-23.3 fps at 1 ms, measured in alternating runs)
        sys.setswitchinterval(min(sys.getswitchinterval(), LIVE_SWITCH_INTERVAL_S))
        for t in (self.builder, self.processing, self.output, self.capture):
            t.start()
        self.running = True

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop every thread and release the camera; True when all ended within `timeout` seconds."""
        if not self.running:
            return True
        self.running = False
        deadline = time.monotonic() + timeout
        self.capture.stop()
        self.builder.stop()
        self.processing.stop()
        self.output.stop()
        ok = True
        for t in (self.capture, self.output, self.processing, self.builder):
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                log.warning("%s did not stop within %.1f s", t.name, timeout)
                ok = False
        if ok and self.builder.tracker is not None:
            try:
                self.builder.tracker.close()
            except Exception:
                pass
        return ok

    # -- what is animated -----------------------------------------------------------------------------
    def set_avatar(self, avatar, config: PipelineConfig = None) -> None:
        """Swap the avatar set (and/or engine config) live; the old one keeps playing until the new is ready."""
        with self._lock:
            new_set = self.avatar is None or avatar.image_hashes != self.avatar.image_hashes \
                or avatar.name != self.avatar.name
            self.avatar = avatar
            if config is not None:
                self.pipeline_config = config
            self.builder.request(BuildRequest(avatar, self.pipeline_config, new_session=new_set))

    def set_pipeline(self, config: PipelineConfig) -> None:
        """Live changes (expression, head motion, smoothing, relative) apply at the next frame; engine
        size or backend changes rebuild the processor in the background."""
        with self._lock:
            old, self.pipeline_config = self.pipeline_config, config
            rebuild = any(getattr(old, f.name) != getattr(config, f.name) for f in fields(config)
                          if f.name not in LIVE_FIELDS)
            live = {k: getattr(config, k) for k in LIVE_FIELDS if getattr(old, k) != getattr(config, k)}
            if live:
                self.processing.submit("update", live)
            if rebuild and self.avatar is not None:
                self.builder.request(BuildRequest(self.avatar, config, new_session=False))

    def clear_avatar(self) -> None:
        with self._lock:
            self.avatar = None
            self.processing.submit("clear")

    def calibrate(self) -> None:
        self.processing.submit("calibrate")

    def set_driver(self, driver: DriverConfig) -> None:
        """Another driver (camera, clip, demo): another face, so its neutral is found again."""
        if self.capture is not None:
            self.capture.reconfigure(driver)
            self.processing.submit("calibrate", True)

    # -- outputs --------------------------------------------------------------------------------------
    def add_sink(self, sink) -> None:
        self.output.add_sink(sink)

    def remove_sink(self, sink) -> None:
        self.output.remove_sink(sink)

    def retry_sink(self, sink) -> None:
        self.output.retry_sink(sink)

    def sink_statuses(self) -> list:
        return self.output.statuses()

    # -- what the UI and the benchmark read -----------------------------------------------------------
    def preview(self):
        """(PreviewFrame or None, seq): the newest preview; copy what you keep."""
        return self.preview_slot.peek()

    def stats(self) -> StatsSnapshot:
        self.stats_.set_dropped(self.mailbox.dropped)
        return self.stats_.snapshot()

    def drain_events(self) -> list:
        return self.events.drain()

    @property
    def driver_state(self) -> str:
        return self.capture.state if self.capture is not None else DriverState.STOPPED

    @property
    def active_driver(self):
        return self.capture.active if self.capture is not None else None

    @property
    def session_id(self):
        return self.builder.session_id

    @property
    def loading(self) -> bool:
        return self.builder.busy
