"""The output thread: paced at the output fps (one frame per 1/fps slot), it sends each new labelled
frame to every sink as soon as it is made and repeats the last one when processing is late, so call
apps see a steady camera with the least latency. Sinks that are missing or vanish are retried on their
own schedule; one failing sink never stops the others.

Consent is checked per frame and per sink: a sink gets a frame only while the frame's own avatar set has
a valid record for that sink's scope (virtual camera "live", recording "record", stream "stream"); the
others keep working. A recording holds one session of one avatar set: when the frames' set changes it
is finished, never fed the new set under the old record."""
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
    BLOCKED = "blocked"             # consent does not cover this output for the frame's avatar set
    ENDED = "ended"                 # a one-source take (a recording) is over; never reopened


@dataclass(frozen=True)
class SinkStatus:
    name: str
    state: str
    detail: str = ""
    guidance: str = ""


def _why_source_changed(old, new, avatar) -> str:
    if old[1] != new[1]:
        return (f"finished when the avatar changed to {avatar.name}: a recording holds one avatar set under "
                "its own consent record")
    return f"finished when a new output session began for {avatar.name}: a recording holds one session id"


class _Slot:
    def __init__(self, sink):
        self.sink = sink
        self.state = SinkState.STARTING
        self.detail = ""
        self.guidance = ""
        self.size = None
        self.next_try = 0.0
        self.source = None          # one_source sinks: (session id, image hashes) of the take

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
                             state=state, detail=detail, guidance=guidance)

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

    def _allowed(self, slot, value) -> bool:
        """Whether this sink may get this frame (CONSENT.md K1, per output kind)."""
        if slot.state == SinkState.ENDED:
            return False
        if value.avatar is None:               # fails closed: a frame of no known set goes nowhere
            self._block(slot, "no avatar")
            return False
        source = (value.session_id, tuple(sorted(value.avatar.image_hashes)))
        if slot.source is not None and source != slot.source:
            self._end(slot, _why_source_changed(slot.source, source, value.avatar))
            return False
        ok, reason = self.gate.check(value.avatar, slot.sink.scope) if self.gate else (True, "")
        if not ok:
            self._block(slot, reason)
            return False
        if slot.sink.one_source and slot.source is None:
            return self._bind(slot, value, source)
        return True

    def _bind(self, slot, value, source) -> bool:
        """A one-source take starts with this frame's session and avatar set, if it may hold them."""
        try:
            ok = slot.sink.bind(value.session_id, value.avatar)
        except Exception as exc:
            self._set(slot, SinkState.FAILED, f"could not start ({exc})", level=ERROR)
            return False
        if not ok:                 # e.g. a recording started for a set that is still loading
            self._set(slot, SinkState.STARTING, "waiting for frames of the avatar set it records")
            return False
        slot.source = source
        return True

    def _block(self, slot, reason: str) -> None:
        if slot.source is not None:           # a take under way ends; it is never reopened
            self._end(slot, f"stopped: {reason}")
            return
        if slot.state == SinkState.ON:
            self._close(slot)
        self._set(slot, SinkState.BLOCKED, reason, level=ERROR)

    def _end(self, slot, reason: str) -> None:
        """Finish a one-source take (a recording commits its file) and keep it off."""
        self._set(slot, SinkState.ENDED, reason, level=WARNING)
        self._close(slot)

    def _note_live(self, ok: bool, reason: str) -> None:
        """"live" is the consent to animate this set in real time at all: without it the session's
        outputs stop (the window ends the session on this event), said once per reason."""
        if ok:
            self._blocked_reason = None
        elif self._blocked_reason != reason:
            self._blocked_reason = reason
            self.events.post("consent", f"Outputs stopped: {reason}.", ERROR, reason=reason)

    def _send(self, last_seq: int, now: float) -> int:
        """Send the newest frame to every sink whose consent covers it; returns its sequence number."""
        self._apply_ops()
        value, seq = self.slot.peek()
        if value is None:
            return seq
        fresh = seq != last_seq
        live, why = self.gate.check(value.avatar, "live") if self.gate else (True, "")
        for slot in list(self._slots):
            if not live:        # no consent to animate this set live at all: no output of it, whatever else
                if slot.state not in (SinkState.BLOCKED, SinkState.ENDED):   # a record covers
                    self._block(slot, why)
            elif self._allowed(slot, value):
                self._feed(slot, value.frame_bgr, now)
        self._note_live(live, why)                        # after the sinks' events: this one is the headline
        if not live:
            return seq
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
