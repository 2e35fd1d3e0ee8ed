"""One-item mailboxes between the live threads: a new item replaces the unread one (never waits)."""
import threading


class Mailbox:
    """The writer never blocks; an item the reader had not taken yet is dropped and counted."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self._full = False
        self.dropped = 0
        self.put_count = 0

    def put(self, item) -> None:
        with self._cond:
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self.put_count += 1
            self._cond.notify()

    def take(self, timeout: float = None):
        """The newest item (removing it), or None after `timeout` seconds without one."""
        with self._cond:
            if not self._full and not self._cond.wait_for(lambda: self._full, timeout):
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def clear(self) -> None:
        with self._cond:
            self._item, self._full = None, False


class LatestValue:
    """The newest published value and its sequence number; readers peek without taking it."""

    def __init__(self):
        self._lock = threading.Condition()
        self._value = None
        self.seq = 0

    def publish(self, value) -> int:
        with self._lock:
            self._value = value
            self.seq += 1
            self._lock.notify_all()
            return self.seq

    def wait_newer(self, seq: int, timeout: float) -> bool:
        """Wait up to `timeout` s for a value newer than `seq`; True if there is one."""
        with self._lock:
            return self._lock.wait_for(lambda: self.seq != seq, timeout)

    def peek(self):
        """(value, seq); seq 0 means nothing was published yet."""
        with self._lock:
            return self._value, self.seq

    def reset(self) -> None:
        with self._lock:
            self._value = None
