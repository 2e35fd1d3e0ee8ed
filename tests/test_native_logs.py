"""MediaPipe's native start-up notices are kept off the console; anything else written meanwhile
still reaches it."""
import os
import sys

from realtime.native_logs import quiet_native_startup

NOTICE = (b"W0000 00:00:1795530347.740101   25522 inference_feedback_manager.cc:114] Feedback manager "
          b"requires a model with a single signature inference. Disabling support for feedback tensors.\n")


def test_known_notices_are_dropped_and_everything_else_is_kept(capfd):
    with quiet_native_startup():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, NOTICE)
        os.write(2, b"E0000 something the user must see\n")
        print("a Python warning", file=sys.stderr)
    os.write(2, NOTICE)                                  # outside the block nothing is filtered
    err = capfd.readouterr().err
    assert "E0000 something the user must see" in err
    assert "a Python warning" in err
    assert "XNNPACK" not in err
    assert err.count("Feedback manager") == 1


def test_an_error_inside_still_restores_the_console(capfd):
    try:
        with quiet_native_startup():
            os.write(2, b"kept before the error\n")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    os.write(2, b"written after\n")
    err = capfd.readouterr().err
    assert "kept before the error" in err and "written after" in err


def test_nested_use_filters_once(capfd):
    with quiet_native_startup():
        with quiet_native_startup():
            os.write(2, NOTICE)
            os.write(2, b"inner line\n")
        os.write(2, b"outer line\n")
    err = capfd.readouterr().err
    assert "inner line" in err and "outer line" in err and "Feedback manager" not in err


def test_no_room_for_the_scratch_file_shows_everything(capfd, monkeypatch):
    """A full disk must not stop the face tracker from starting: the notices just show."""
    import errno
    import tempfile

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    with quiet_native_startup():
        os.write(2, NOTICE)
        ran = True
    assert ran and "Feedback manager" in capfd.readouterr().err
