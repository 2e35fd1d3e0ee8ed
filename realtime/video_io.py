"""MP4 writing that never leaves a half-written file: frames go to a temporary file beside the
target, which replaces the target only when everything succeeded."""
import errno
import logging
import os
import shutil
import tempfile
from fractions import Fraction

import numpy as np

from .errors import OutputError

log = logging.getLogger(__name__)

# the process's umask, read once at import (os.umask can only be read by setting it): a finished video
# gets the permissions any new file would, not the private 0600 of its temporary file
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def check_writable(path) -> None:
    """Fail early, before any heavy work, when OUT cannot be written."""
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise OutputError(f"{path}: is a folder, expected a file name such as out.mp4")
    if not os.path.isdir(folder):
        raise OutputError(f"{path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{path}: cannot write in {folder} (permission denied)")
    if os.path.exists(path) and not os.path.isfile(path):
        # a device, pipe or socket: the finished video would replace it (it is moved into place)
        raise OutputError(f"{path}: is not a regular file (a device, pipe or socket); "
                          "give a file name such as out.mp4")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise OutputError(f"{path}: the existing file cannot be overwritten (permission denied)")


def _is_disk_full(exc: BaseException) -> bool:
    while exc is not None:
        if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class Mp4Writer:
    """H.264 (libx264, yuv420p) through PyAV. Use as a context manager; commit on clean exit."""

    def __init__(self, path, fps: float, width: int, height: int, crf: int = 20):
        import av
        check_writable(path)
        self.path = os.path.abspath(os.fspath(path))
        fd, self.tmp = tempfile.mkstemp(prefix=".partial-", suffix=".mp4", dir=os.path.dirname(self.path))
        os.close(fd)
        self.width, self.height = width - width % 2, height - height % 2
        try:
            self._container = av.open(self.tmp, mode="w")
            rate = Fraction(fps).limit_denominator(1001)
            self._stream = self._container.add_stream("libx264", rate=rate)
            self._stream.width, self._stream.height = self.width, self.height
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(crf), "preset": "veryfast"}
        except Exception as exc:
            self._discard()
            raise self._error(exc) from exc
        self.frames = 0

    def write(self, frame_bgr: np.ndarray) -> None:
        import av
        try:
            img = frame_bgr[: self.height, : self.width]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
            self.frames += 1
        except Exception as exc:
            self.abort()
            raise self._error(exc) from exc

    def commit(self, finalize=None) -> str:
        """Flush, close, run finalize(tmp_path) (e.g. C2PA signing), then move into place."""
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            if finalize is not None:
                finalize(self.tmp)
            os.chmod(self.tmp, 0o666 & ~_UMASK)
            os.replace(self.tmp, self.path)
        except Exception as exc:
            # signing writes a second copy beside the first: a full disk shows up there as the
            # signing library's own error, which names neither the disk nor the user's file
            full = self._no_room()
            self._discard()
            if isinstance(exc, OutputError) and not full:
                raise OutputError(str(exc).replace(self.tmp, self.path)) from exc
            raise self._error(exc, full) from exc
        return self.path

    def abort(self) -> None:
        try:
            self._container.close()
        except Exception:
            pass
        self._discard()

    def _discard(self):
        try:
            os.unlink(self.tmp)
        except OSError:
            pass

    def _no_room(self) -> bool:
        """Less free space in the folder than the video takes: a second copy cannot be written."""
        try:
            return shutil.disk_usage(os.path.dirname(self.path)).free < os.path.getsize(self.tmp) + (1 << 20)
        except OSError:
            return False

    def _error(self, exc, full: bool = False) -> OutputError:
        if full or _is_disk_full(exc):
            return OutputError(f"{self.path}: the disk is full (or the file size limit was reached) while writing; "
                               "nothing was saved. Free some space or choose another folder.")
        return OutputError(f"{self.path}: could not write the video ({exc}); nothing was saved")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False
