"""The capture thread: reads the driver and overwrites the one-item mailbox; never waits downstream.

It owns the reconnect policy. A camera missing at start: the configured fallback (demo motion or a
video) drives while the camera is retried in the background. A camera lost mid-stream (unplugged,
taken by another app): nothing is delivered, so the avatar holds its pose, and it reconnects by itself.
"""
import logging
import threading
import time
from dataclasses import replace

import cv2

from .events import ERROR, INFO, WARNING, EventQueue
from .grabbers import DriverConfig, DriverUnavailable, open_grabber
from .mailbox import Mailbox
from .stats import LiveStats

log = logging.getLogger(__name__)

RETRY_S = 1.0


class DriverState:
    LIVE = "live"              # the configured driver delivers frames
    FALLBACK = "fallback"      # the camera is missing; the fallback drives
    LOST = "lost"              # the driver stopped; the avatar holds; retrying
    STOPPED = "stopped"


class CaptureThread(threading.Thread):
    def __init__(self, config: DriverConfig, mailbox: Mailbox, events: EventQueue, stats: LiveStats,
                 opener=open_grabber, retry_s: float = RETRY_S):
        super().__init__(name="avatarcam-capture", daemon=True)
        self.mailbox = mailbox
        self.events = events
        self.stats = stats
        self.opener = opener
        self.retry_s = retry_s
        self._config = config
        self._pending = None
        self._lock = threading.Lock()
        self._stop_evt = threading.Event()
        self.state = DriverState.STOPPED
        self.active = None           # the DriverConfig actually delivering, or None
        self._grabber = None
        self._had_frames = False

    # -- control (any thread) ----------------------------------------------------------------------
    def reconfigure(self, config: DriverConfig) -> None:
        with self._lock:
            self._pending = config

    def stop(self) -> None:
        self._stop_evt.set()

    @property
    def config(self) -> DriverConfig:
        return self._config

    # -- the thread ---------------------------------------------------------------------------------
    def _set_state(self, state: str, message: str, level: str = INFO) -> None:
        if state != self.state:
            self.state = state
            self.events.post("driver", message, level, state=state,
                             driver=self.active.describe() if self.active else None)
            log.info("driver: %s", message)

    def _release(self) -> None:
        if self._grabber is not None:
            try:
                self._grabber.release()
            except Exception:  # a vanished device may fail to release; it is gone either way
                log.debug("release failed", exc_info=True)
            self._grabber = None

    def _open(self, config: DriverConfig):
        try:
            return self.opener(config), None
        except DriverUnavailable as exc:
            return None, str(exc)
        except Exception as exc:  # any opener failure is a reason, never a crash of the thread
            log.warning("driver open failed", exc_info=True)
            return None, f"{type(exc).__name__}: {exc}"

    def _connect(self) -> bool:
        """Open the configured driver, or the fallback at start. True when a grabber is open."""
        cfg = self._config
        grabber, reason = self._open(cfg)
        if grabber is not None:
            was = self.state
            self._grabber, self.active = grabber, cfg
            verb = "reconnected" if was in (DriverState.LOST, DriverState.FALLBACK) else "driving with"
            self._set_state(DriverState.LIVE, f"{verb} {cfg.describe()}")
            return True
        self._last_reason = reason
        if cfg.kind == "camera" and not self._had_frames and self.active is None:
            fb = replace(cfg, kind=cfg.fallback)
            grabber, fb_reason = self._open(fb)
            if grabber is not None:
                self._grabber, self.active = grabber, fb
                self._set_state(DriverState.FALLBACK,
                                f"No camera: {reason}. Driving with {fb.describe()} instead; "
                                "the camera is picked up as soon as it appears.", WARNING)
                return True
            reason = f"{reason}; the fallback failed too: {fb_reason}"
        self.active = None
        self._set_state(DriverState.LOST, f"Driver unavailable: {reason}. The avatar holds still; "
                        "retrying every few seconds.", ERROR if not self._had_frames else WARNING)
        return False

    def run(self) -> None:
        next_retry = 0.0
        try:
            while not self._stop_evt.is_set():
                with self._lock:
                    pending, self._pending = self._pending, None
                if pending is not None:
                    self._release()
                    self._config, self.active, self._had_frames = pending, None, False
                    self.state = DriverState.STOPPED
                    next_retry = 0.0
                now = time.monotonic()
                if self._grabber is None:
                    if now < next_retry:
                        self._stop_evt.wait(min(0.05, next_retry - now))
                        continue
                    next_retry = now + self.retry_s
                    if not self._connect():
                        continue
                elif self.state == DriverState.FALLBACK and now >= next_retry:
                    next_retry = now + self.retry_s * 2
                    cam, _ = self._open(self._config)       # is the camera back?
                    if cam is not None:
                        self._release()
                        self._grabber, self.active = cam, self._config
                        self._set_state(DriverState.LIVE, f"camera found: driving with {self._config.describe()}")
                frame = self._grabber.read()
                if frame is None:
                    self._release()
                    was_camera = self.active is not None and self.active.kind == "camera"
                    self.active = None
                    self._set_state(DriverState.LOST,
                                    ("The camera stopped delivering (unplugged, or another app took it). "
                                     if was_camera else "The driver stopped delivering. ") +
                                    "The avatar holds still; reconnecting by itself.", WARNING)
                    next_retry = time.monotonic() + self.retry_s
                    continue
                t = time.monotonic()
                self._had_frames = True
                if self.active.mirror and self.active.kind == "camera":
                    frame = cv2.flip(frame, 1)
                self.stats.captured(t)
                self.mailbox.put((frame, t))
        except Exception as exc:  # never die silently: say so and hold
            log.exception("capture thread failed")
            self.events.post("error", f"The capture thread stopped: {exc}", ERROR)
        finally:
            self._release()
            self.state = DriverState.STOPPED
