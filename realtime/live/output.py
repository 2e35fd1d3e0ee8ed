"""The output thread: paced at the output fps (one frame per 1/fps slot), it sends each new labelled
frame to every sink as soon as it is made and repeats the last one when processing is late, so call
apps see a steady camera with the least latency. Sinks that are missing or vanish are retried on their
own schedule; one failing sink never stops the others."""
import logging
import threading
import time
from dataclasses import dataclass

from ..outputs.sink import SinkUnavailable
from .events import ERROR, INFO, WARNING, EventQueue
from .mailbox import LatestValue
from .stats import LiveStats

log = logging.getLogger(__name__)


class SinkState:
    STARTING = "starting"
    ON = "on"
    UNAVAILABLE = "unavailable"     # missing or vanished device; retried
    FAILED = "failed"               # not retried
    BLOCKED = "blocked"             # consent gate closed


@dataclass(frozen=True)
class SinkStatus:
    name: str
    state: str
    detail: str = ""
    guidance: str = ""


class _Slot:
    def __init__(self, sink):
        self.sink = sink
        self.state = SinkState.STARTING
        self.detail = ""
        self.guidance = ""
        self.size = None
        self.next_try = 0.0

    def status(self) -> SinkStatus:
        detail = self.detail
        if self.state == SinkState.ON:
            try:
                detail = self.sink.describe()
            except Exception:
                pass
        return SinkStatus(self.sink.name, self.state, detail, self.guidance)


class OutputThread(threading.Thread):
    def __init__(self, slot: LatestValue, fps: float, stats: LiveStats, events: EventQueue, gate=None):
        super().__init__(name="avatarcam-output", daemon=True)
        self.slot = slot
        self.fps = float(fps)
        self.stats = stats
        self.events = events
        self.gate = gate
        self._slots = []
        self._lock = threading.Lock()
        self._ops = []
        self._stop_evt = threading.Event()
        self._blocked_reason = None
        self.ticks = 0

    # -- any thread -----------------------------------------------------------------------------------
    def add_sink(self, sink) -> None:
        with self._lock:
            self._ops.append(("add", sink))

    def remove_sink(self, sink) -> None:
        with self._lock:
            self._ops.append(("remove", sink))

    def retry_sink(self, sink) -> None:
        with self._lock:
            self._ops.append(("retry", sink))

    def statuses(self) -> list:
        with self._lock:
            return [s.status() for s in self._slots]

    def stop(self) -> None:
        self._stop_evt.set()

    # -- this thread ----------------------------------------------------------------------------------
    def _apply_ops(self) -> None:
        with self._lock:
            ops, self._ops = self._ops, []
        for op, sink in ops:
            slot = next((s for s in self._slots if s.sink is sink), None)
            if op == "add" and slot is None:
                with self._lock:
                    self._slots.append(_Slot(sink))
            elif op == "remove" and slot is not None:
                self._close(slot)
                with self._lock:
                    self._slots.remove(slot)
            elif op == "retry" and slot is not None and slot.state in (SinkState.UNAVAILABLE, SinkState.FAILED):
                slot.state, slot.next_try = SinkState.STARTING, 0.0

    def _close(self, slot) -> None:
        try:
            slot.sink.close()
        except Exception:
            log.debug("closing %s failed", slot.sink.name, exc_info=True)
        slot.size = None

    def _set(self, slot, state, detail="", guidance="", level=INFO) -> None:
        changed = (state, detail) != (slot.state, slot.detail)
        slot.state, slot.detail, slot.guidance = state, detail, guidance
        if changed:
            self.events.post("sink", f"{slot.sink.name}: {detail or state}", level, sink=slot.sink.name,
                             state=state, guidance=guidance)

    def _feed(self, slot, frame, now) -> None:
        h, w = frame.shape[:2]
        if slot.state in (SinkState.STARTING, SinkState.UNAVAILABLE, SinkState.BLOCKED) or slot.size != (w, h):
            if slot.state == SinkState.UNAVAILABLE and now < slot.next_try:
                return
            if slot.size is not None and slot.size != (w, h):
                self._close(slot)
            try:
                slot.sink.open(w, h, self.fps)
                slot.size = (w, h)
                self._set(slot, SinkState.ON, slot.sink.describe())
            except SinkUnavailable as exc:
                self._unavailable(slot, exc, now)
                return
            except Exception as exc:
                self._set(slot, SinkState.FAILED, f"could not start ({exc})", level=ERROR)
                return
        if slot.state != SinkState.ON:
            return
        try:
            slot.sink.send(frame)
        except SinkUnavailable as exc:
            slot.size = None
            self._unavailable(slot, exc, now)
        except Exception as exc:
            self._close(slot)
            self._set(slot, SinkState.FAILED, f"stopped ({exc})", level=ERROR)

    def _unavailable(self, slot, exc: SinkUnavailable, now: float) -> None:
        retry = slot.sink.retry_s
        if retry is None:
            self._set(slot, SinkState.FAILED, exc.message, exc.guidance, ERROR)
            return
        slot.next_try = now + retry
        self._set(slot, SinkState.UNAVAILABLE, exc.message, exc.guidance, WARNING)

    def _gate(self, avatar) -> bool:
        if self.gate is None:
            return True
        ok, reason = self.gate.check(avatar)
        if ok:
            if self._blocked_reason is not None:
                self._blocked_reason = None
            return True
        if self._blocked_reason != reason:
            self._blocked_reason = reason
            for slot in self._slots:
                if slot.state == SinkState.ON:
                    self._close(slot)
                slot.state, slot.detail = SinkState.BLOCKED, reason
            self.events.post("consent", f"Outputs stopped: {reason}.", ERROR, reason=reason)
        return False

    def _send(self, last_seq: int, now: float) -> int:
        """Send the newest frame to every sink (if the consent gate allows); returns its sequence number."""
        self._apply_ops()
        value, seq = self.slot.peek()
        if value is None or not self._gate(value.avatar):
            return seq
        fresh = seq != last_seq
        for slot in list(self._slots):
            self._feed(slot, value.frame_bgr, now)
        self.ticks += 1
        self.stats.output_tick(time.monotonic(), value.t_capture if fresh and value.t_capture else None)
        return seq

    def run(self) -> None:
        """Exactly one frame per 1/fps slot, so call apps see a camera at a steady rate. A fresh frame goes
        out the moment it is made (waiting for a fixed tick would add up to a period of latency) unless
        its slot already sent one; a slot that saw no fresh frame repeats the last one at its end."""
        period = 1.0 / self.fps
        slot_end = time.monotonic() + period
        sent_in_slot = False
        last_seq = 0
        try:
            while not self._stop_evt.is_set():
                now = time.monotonic()
                if now >= slot_end:
                    if not sent_in_slot:
                        last_seq = self._send(last_seq, now)          # a repeat (or a just-published frame)
                    slot_end += period
                    if now - slot_end > 3 * period:
                        slot_end = now + period                         # resync after a stall, no burst
                    sent_in_slot = False
                    continue
                if sent_in_slot:
                    self._stop_evt.wait(slot_end - now)
                    continue
                if self.slot.wait_newer(last_seq, slot_end - now) and not self._stop_evt.is_set():
                    last_seq = self._send(last_seq, time.monotonic())
                    sent_in_slot = True
        except Exception as exc:
            log.exception("output thread failed")
            self.events.post("error", f"The output thread stopped: {exc}", ERROR)
        finally:
            self._apply_ops()
            for slot in self._slots:
                self._close(slot)
