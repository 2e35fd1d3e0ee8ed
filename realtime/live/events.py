"""Events from the live threads to whoever shows them (the window, the benchmark): a thread-safe queue
drained by polling, so no pipeline thread ever waits on the UI."""
import queue
from dataclasses import dataclass, field

INFO, WARNING, ERROR = "info", "warning", "error"


@dataclass(frozen=True)
class LiveEvent:
    kind: str            # "driver", "avatar", "sink", "consent", "error", "state"
    message: str         # readable, for a banner or the status bar
    level: str = INFO
    data: dict = field(default_factory=dict)


class EventQueue:
    def __init__(self, maxsize: int = 500):
        self._q = queue.Queue(maxsize)

    def post(self, kind: str, message: str, level: str = INFO, **data) -> None:
        try:
            self._q.put_nowait(LiveEvent(kind, message, level, data))
        except queue.Full:            # nobody is reading: drop the oldest, keep the newest
            try:
                self._q.get_nowait()
                self._q.put_nowait(LiveEvent(kind, message, level, data))
            except (queue.Empty, queue.Full):
                pass

    def drain(self) -> list:
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out
