"""The Sink seam: every output (virtual camera, local stream, recording, a test's fake) has this shape.

Contract:
- open(width, height, fps) once before the first send; may raise SinkUnavailable (the device or
  port is missing: the output thread retries after `retry_s`, the user sees `guidance`) or SinkError
  (anything else: the sink stays off and the user is told).
- send(frame_bgr): a read-only, labelled H x W x 3 uint8 BGR frame of the opened size, called from the
  paced output thread. Must return quickly (a few ms): sinks with heavy work (encoding) do it on their
  own thread. Raises SinkUnavailable when the device vanished (the output thread reopens it later).
- close(): idempotent; after it, open() may be called again.
- describe(): one short line for the status bar, e.g. "on /dev/video2".
- scope: the consent scope this output needs (CONSENT.md): the output thread sends it only frames whose
  avatar set has a valid consent record for that scope, checked per frame.
- one_source: True for an output that must hold one output session of one avatar set (a recording:
  its notice, C2PA manifest and consent-log entry name one session id and one consent record). The
  output thread calls bind(session_id, avatar) with the first frame's source before open(), sends it
  only frames of that source, and ends it (close(), never reopened) when the source changes.
"""


class SinkError(Exception):
    """An output failed for a reason a retry will not fix."""


class SinkUnavailable(SinkError):
    """The output's device is missing or vanished; `guidance` says what the user can do; retried."""

    def __init__(self, message: str, guidance: str = ""):
        super().__init__(message)
        self.message = message
        self.guidance = guidance

    def __str__(self) -> str:
        return f"{self.message} {self.guidance}".strip()


class Sink:
    name = "sink"
    retry_s = 3.0                 # None: never retried automatically
    scope = "live"                # the consent scope its frames need
    one_source = False            # True: one session of one avatar set per take; see bind()

    def open(self, width: int, height: int, fps: float) -> None:
        raise NotImplementedError

    def send(self, frame_bgr) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return ""

    def bind(self, session_id: str, avatar) -> bool:
        """one_source sinks: the session id and avatar (LiveAvatar) of every frame this take will get;
        False when this take cannot hold that source (its frames are then not sent)."""
        return True


def check_frame(frame_bgr, width: int, height: int) -> None:
    """Precise input validation: what was expected and what came."""
    shape = getattr(frame_bgr, "shape", None)
    if shape != (height, width, 3) or getattr(frame_bgr, "dtype", None) is None or frame_bgr.dtype.name != "uint8":
        got = f"{getattr(frame_bgr, 'dtype', type(frame_bgr).__name__)} {shape}"
        raise SinkError(f"expected a uint8 {height} x {width} x 3 BGR frame, got {got}")
