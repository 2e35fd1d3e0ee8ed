"""MediaPipe's native start-up chatter kept off the user's console.

MediaPipe 0.10.21 writes a handful of C++ log lines straight to file descriptor 2 when a face mesh
starts and on its first frame ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager
requires a model with a single signature", "Using NORM_RECT without IMAGE_DIMENSIONS", absl's
"before absl::InitializeLog()" notice). They are not errors, but users read them as ones, and no
environment variable or Python logging setting reaches them (absl logging, not glog). So the
descriptor itself is pointed at a temporary file for those moments; afterwards every line that is
not one of these known notices is written back to the real stderr: nothing else is ever dropped.
"""
import contextlib
import os
import re
import sys
import tempfile
import threading

# each is a notice MediaPipe prints while starting up on a CPU, none of them about the user's input
_KNOWN = re.compile(
    r"Created TensorFlow Lite XNNPACK delegate for CPU"
    r"|All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|inference_feedback_manager\.cc:\d+\] Feedback manager requires a model with a single signature"
    r"|landmark_projection_calculator\.cc:\d+\] Using NORM_RECT without IMAGE_DIMENSIONS"
    r"|^I\d{4} ")                # any native line at info level
# one redirection at a time (a second would save the first's file as "stderr"); only the thread
# holding the lock can see _active set, so re-entered by that thread the block just runs
_lock = threading.RLock()
_active = False


@contextlib.contextmanager
def quiet_native_startup():
    """Run the block with MediaPipe's known start-up notices filtered out of file descriptor 2."""
    global _active
    with _lock:
        if _active:
            yield
            return
        _active = True
        try:
            with _filtered_stderr():
                yield
        finally:
            _active = False


@contextlib.contextmanager
def _filtered_stderr():
    saved = _duplicate_stderr()
    caught = None if saved is None else _scratch_file()
    if caught is None:                     # no usable stderr, or no room for a scratch file (a full
        if saved is not None:              # disk): the notices show, nothing else changes
            os.close(saved)
        yield
        return
    with caught:
        sys.stderr.flush()
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()             # Python's own writes in the block belong to the file too
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().splitlines(keepends=True)
                    if not _KNOWN.search(line.decode("utf-8", "replace"))]
            if kept:
                os.write(2, b"".join(kept))


def _duplicate_stderr():
    try:
        sys.stderr.flush()
        return os.dup(2)
    except (OSError, ValueError, AttributeError):
        return None


def _scratch_file():
    try:
        return tempfile.TemporaryFile()
    except OSError:
        return None
