"""Record the labelled output to MP4 from the window. The recording opens with the >= 2 s full-width
AI-generated notice (CONSENT.md), then the newest output frame at every tick of the recorder's own fps
clock (from the moment recording started), so the file plays in real time whatever rate frames arrive
at. A clock thread samples frames; an encoder thread writes them, so a slow encoder never shifts the
clock. The file is signed with C2PA Content Credentials (session id, consent record hash) and checked
by reading it back before it appears under its name; a recording that cannot be signed is not kept.

A recording holds one output session of one avatar set (one_source): its session id comes from the
frames it gets (bind), so the notice, the manifest and the frames' watermark always name the same one."""
import logging
import queue
import threading
import time

from ..provenance.labeller import Labeller
from ..video_io import Mp4Writer, check_writable
from .sink import Sink, SinkError, check_frame

log = logging.getLogger(__name__)

_END = object()
BACKLOG_S = 3.0           # frames waiting for the encoder, at most (references to read-only frames)


class Mp4RecorderSink(Sink):
    name = "recording"
    retry_s = None
    scope = "record"
    one_source = True

    def __init__(self, path, session_id: str = None, locale: str = None, stronger: bool = False, on_finished=None,
                 consent_record_hash: str = None, sign: bool = True, image_hashes=None):
        """session_id: None takes the first frame's (the usual case); image_hashes: the avatar set the
        consent record (consent_record_hash) covers; None takes the first frame's set."""
        try:
            check_writable(path)
        except Exception as exc:
            raise SinkError(str(exc)) from exc
        self.path = str(path)
        self.session_id, self.locale, self.stronger = session_id, locale, stronger
        self.consent_record_hash = consent_record_hash      # None only for the built-in sample avatar
        self.image_hashes = tuple(sorted(image_hashes)) if image_hashes is not None else None
        self.sign = sign
        self.on_finished = on_finished          # callback(path or None, error or None), on the encoder thread
        self._latest = None
        self._cond = threading.Condition()
        self._stopping = False
        self._q = None
        self._threads = []
        self._size = None
        self.frames_written = 0
        self.frames_dropped = 0
        self.error = None
        self.saved_path = None
        self.finished = threading.Event()

    def bind(self, session_id: str, avatar) -> bool:
        if not session_id or self.finished.is_set():
            return False                          # a frame of no known session cannot be recorded under one
        if self.consent_record_hash is None and getattr(avatar, "needs_consent", True):
            return False      # started with no consent record (the built-in sample): it holds no one's face
        hashes = tuple(sorted(avatar.image_hashes))
        if self.session_id not in (None, session_id) or self.image_hashes not in (None, hashes):
            return False                          # not the session / set this take was started for
        self.session_id, self.image_hashes = session_id, hashes
        self.stronger = self.stronger or bool(getattr(avatar, "stronger_label", False))
        return True

    def open(self, width: int, height: int, fps: float) -> None:
        if self._threads or self.finished.is_set():
            raise SinkError("this recorder was already used; start a new recording")
        if self.session_id is None:
            raise SinkError("a recording needs the session id of its frames; none was given")
        self._size = (width, height)
        self._q = queue.Queue(maxsize=max(1, int(BACKLOG_S * fps)))
        self._threads = [threading.Thread(target=self._clock, args=(fps,), name="avatarcam-recorder-clock", daemon=True),
                         threading.Thread(target=self._encode, args=(width, height, fps), name="avatarcam-recorder",
                                          daemon=True)]
        for t in self._threads:
            t.start()

    def send(self, frame_bgr) -> None:
        if self.error:
            raise SinkError(self.error)
        check_frame(frame_bgr, *self._size)
        with self._cond:
            self._latest = frame_bgr
            self._cond.notify_all()

    def close(self) -> None:
        """Stop taking frames. The file is finished (the backlog encoded, signed, read back) on the
        recorder's own threads: the output thread that calls this keeps feeding the virtual camera
        meanwhile, instead of freezing the call for as long as that takes. `finished` is set when the
        file is saved or has failed (wait on it for the file)."""
        if not self._threads:
            self._nothing_recorded()
            return
        if self.finished.is_set():
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def _nothing_recorded(self) -> None:
        """Closed before its first frame (the engine never delivered one, or consent never allowed it):
        no file, and whoever waits is told."""
        if self.finished.is_set():
            return
        self.error = "nothing was recorded: no frame of this avatar set was allowed out before it stopped"
        self._finish()

    def _finish(self) -> None:
        self.finished.set()
        if self.on_finished:
            try:
                self.on_finished(self.saved_path, self.error)
            except Exception:
                log.exception("recording callback failed")

    def describe(self) -> str:
        if self.finished.is_set():
            return f"saved {self.saved_path}" if self.saved_path else f"failed: {self.error}"
        return f"recording to {self.path} ({self.frames_written} frames)"

    def _clock(self, fps: float) -> None:
        period = 1.0 / fps
        with self._cond:                          # the clock starts with the first output frame
            self._cond.wait_for(lambda: self._latest is not None or self._stopping)
        next_t = time.monotonic()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stopping, max(0.0, next_t - time.monotonic()))
                frame, stopping = self._latest, self._stopping
            if stopping or self.error:
                break
            behind = time.monotonic() - next_t
            if behind > 1.0:                      # starved of CPU for a second: skip ahead, do not burst
                skipped = int(behind / period)
                self.frames_dropped += skipped
                next_t += skipped * period
            try:
                self._q.put_nowait(frame)
            except queue.Full:                    # the encoder is far behind
                self.frames_dropped += 1
            next_t += period
        try:
            self._q.put(_END, timeout=5.0)
        except queue.Full:                        # the encoder already failed and stopped reading
            pass

    def _encode(self, width, height, fps) -> None:
        writer = None
        try:
            writer = Mp4Writer(self.path, fps, width, height)
            for card in Labeller(self.session_id, self.locale, self.stronger).notice_frames(width, height, fps):
                writer.write(card)
            while True:
                frame = self._q.get()
                if frame is _END:
                    break
                writer.write(frame)
                self.frames_written += 1
            finalize = None
            if self.sign:
                from ..provenance.c2pa_sign import sign_mp4
                finalize = lambda tmp: sign_mp4(tmp, self.session_id, self.consent_record_hash)  # noqa: E731
            self.saved_path = writer.commit(finalize=finalize)
            writer = None
            log.info("recording saved: %s (%d frames, %d dropped)", self.saved_path, self.frames_written,
                     self.frames_dropped)
        except Exception as exc:
            self.error = str(exc)
            log.warning("recording failed: %s", exc)
            if writer is not None:
                writer.abort()
            while True:                            # unblock the clock thread
                try:
                    if self._q.get_nowait() is _END:
                        break
                except queue.Empty:
                    break
        finally:
            self._finish()
