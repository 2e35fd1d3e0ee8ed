"""The processing thread: the one owner of MediaPipe and the engine. It takes the newest driver frame,
animates the avatar, and publishes the labelled result for the output thread and a preview for the UI.

Raw driver frames reach the preview slot only (the user's own window), never the output slot: output
frames come from FrameProcessor, which holds the avatar still when no face is found. Labelling fails
closed: when processing (labelling included) raises, nothing is published and the outputs keep
repeating the last good labelled frame.
"""
import logging
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np

from ..pipeline import TrackAhead
from .events import ERROR, EventQueue
from .mailbox import LatestValue, Mailbox
from .stats import LiveStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutputFrame:
    frame_bgr: np.ndarray          # labelled, read-only
    t_capture: float               # monotonic time the driver frame was captured (None: held placeholder)
    avatar: object                 # the LiveAvatar it shows (the consent gate checks it)
    session_id: str = None         # the output session its watermark carries (recordings take it)


@dataclass(frozen=True)
class PreviewFrame:
    driver_bgr: np.ndarray         # what the driver delivered (read-only); None before the first frame
    driver_lmk: np.ndarray         # 478 x 3 pixels, or None when no face was found
    avatar_bgr: np.ndarray         # the labelled output frame (read-only)
    face_found: bool
    finding_neutral: bool = False  # waiting for a neutral-looking driver face to calibrate on


LIVE_FIELDS = ("expression", "head_motion", "smoothing", "relative")


def _session_of(processor):
    """The session id its labeller watermarks frames with (None when it has no labeller)."""
    return getattr(getattr(processor, "labeller", None), "session_id", None)


class ProcessingThread(threading.Thread):
    def __init__(self, mailbox: Mailbox, output: LatestValue, preview: LatestValue, events: EventQueue,
                 stats: LiveStats):
        super().__init__(name="avatarcam-processing", daemon=True)
        self.mailbox = mailbox
        self.output = output
        self.preview = preview
        self.events = events
        self.stats = stats
        self.commands = queue.Queue()          # never drops: heavy commands and swaps
        self._stop_evt = threading.Event()
        self.processor = None
        self.avatar = None
        self.session_id = None         # the watermark's session id of the frames self.processor makes
        self.live_changes = {}
        self._last_error = ("", 0.0)
        # landmarks of the next frame run on a worker while this thread renders the current one
        self._ahead = TrackAhead()
        self._pending = None           # (future of processor.track, (frame, t_cap)) awaiting render

    def submit(self, *command) -> None:
        self.commands.put(command)

    def stop(self) -> None:
        self._stop_evt.set()
        self.commands.put(("wake",))

    # -- commands (this thread only) ----------------------------------------------------------------
    def _drop_pending(self) -> None:
        """Forget the frame being tracked (its processor is about to go); wait until the worker has
        let go of that processor's tracker first."""
        if self._pending is not None:
            try:
                self._pending[0].result()
            except Exception:
                pass
            self._pending = None

    def _handle(self, cmd) -> None:
        kind = cmd[0]
        if kind in ("swap", "clear"):
            self._drop_pending()
        if kind == "swap":
            _, proc, avatar = cmd
            if self.live_changes:
                proc.update(**self.live_changes)
            if self.processor is not None and self.processor is not proc:
                proc.keep_neutral_of(self.processor)
            old, self.processor, self.avatar = self.processor, proc, avatar
            self.session_id = _session_of(proc)
            if old is not None and old is not proc:
                try:
                    old.close()
                except Exception:
                    log.debug("closing the old processor failed", exc_info=True)
            self._process(None, None)          # the new avatar shows at once, held still, labelled
        elif kind == "update":
            self.live_changes.update(cmd[1])
            if self.processor is not None:
                self.processor.update(**cmd[1])
        elif kind == "calibrate":
            if self.processor is not None:
                self.processor.calibrate(*cmd[1:])
        elif kind == "clear":
            old, self.processor, self.avatar, self.session_id = self.processor, None, None, None
            if old is not None:
                old.close()
            self.output.reset()

    def _report(self, message: str) -> None:
        last, t = self._last_error
        now = time.monotonic()
        if message != last or now - t > 5.0:
            self._last_error = (message, now)
            log.warning("%s", message, exc_info=True)
            self.events.post("error", message, ERROR)

    def _process(self, item, tracked_future) -> None:
        """Render and publish one frame; its landmarks come from the worker (tracked_future) or, for
        the held placeholder after a swap, are made here."""
        frame, t_cap = item if item is not None else (None, None)
        t0 = time.perf_counter()
        try:
            if tracked_future is None:
                res = self.processor.process(frame, t_cap if t_cap is not None else time.monotonic())
            else:
                tracked = tracked_future.result()
                t0 -= sum(tracked.timings_ms.values()) / 1e3     # count the worker's share too
                res = self.processor.render(tracked)
            out = res.output_bgr
            if not isinstance(out, np.ndarray) or out.dtype != np.uint8 or out.ndim != 3:
                raise ValueError(f"processor returned {type(out).__name__}, expected a BGR frame")
        except Exception as exc:        # fail closed: publish nothing; the outputs repeat the last good frame
            self._report(f"A frame could not be made or labelled ({type(exc).__name__}: {exc}); "
                         "the outputs hold the last labelled frame.")
            return
        out.flags.writeable = False
        ms = (time.perf_counter() - t0) * 1e3
        if frame is not None:
            self.stats.frame_processed(ms, res.face_found, res.timings_ms)
        self.output.publish(OutputFrame(out, t_cap, self.avatar, self.session_id))
        self.preview.publish(PreviewFrame(frame, res.driver_lmk if res.face_found else None, out, res.face_found,
                                          getattr(self.processor, "finding_neutral", False)))

    def run(self) -> None:
        try:
            while not self._stop_evt.is_set():
                while True:
                    try:
                        self._handle(self.commands.get_nowait())
                    except queue.Empty:
                        break
                if self._stop_evt.is_set():
                    break
                # with a frame already being tracked, only look for the next one (no wait)
                item = self.mailbox.take(timeout=0.0 if self._pending is not None else 0.05)
                if item is not None and self.processor is None:
                    frame, _ = item
                    self.preview.publish(PreviewFrame(frame, None, None, False))
                    continue
                nxt = None
                if item is not None:
                    frame, t_cap = item
                    nxt = (self._ahead.submit(self.processor, frame, t_cap), item)
                if self._pending is not None:
                    fut, pending_item = self._pending
                    self._process(pending_item, fut)          # overlaps with nxt's landmarks
                self._pending = nxt
        except Exception as exc:
            log.exception("processing thread failed")
            self.events.post("error", f"The processing thread stopped: {exc}", ERROR)
        finally:
            self._drop_pending()
            self._ahead.close()
            if self.processor is not None:
                try:
                    self.processor.close()
                except Exception:
                    pass
