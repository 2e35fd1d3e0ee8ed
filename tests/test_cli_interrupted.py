"""A run that is killed, or whose disk fills while the video is being signed, leaves nothing behind
and says what happened."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from realtime import synthetic_face as sf
from realtime.errors import OutputError
from realtime.video_io import Mp4Writer
from tests.media import write_clip, write_png

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _partials(folder):
    return [f for f in os.listdir(folder) if f.startswith((".partial-", ".signing-"))]


def test_a_killed_run_leaves_no_half_written_video(tmp_path):
    src = write_png(tmp_path / "me.png", sf.render(who=sf.SAMPLE, size=256))
    talk = [dict(mouth=0.5 + 0.5 * np.sin(i / 2.0)) for i in range(400)]
    clip = write_clip(tmp_path / "talk.mp4", talk, fps=25.0)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "talk_avatar.mp4"
    proc = subprocess.Popen([sys.executable, "run.py", "animate", "--source", str(src), "--driving", clip,
                             "--output", str(out), "--size", "256", "--backend", "torch", "--consent", "self"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": ROOT})
    deadline = time.monotonic() + 240
    while not _partials(out_dir) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _partials(out_dir), "the run never started writing"
    time.sleep(0.5)                                       # frames are going into the temporary file
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped (SIGTERM)" in err
    assert not out.exists()
    assert not _partials(out_dir)


def test_a_full_disk_while_signing_names_the_video_and_the_disk(tmp_path, monkeypatch):
    """The signing library reports a full disk as its own opaque error; what the user reads must say
    the disk is full, name their file (not the hidden temporary one) and leave nothing."""
    import shutil
    out = tmp_path / "clip.mp4"
    writer = Mp4Writer(out, 25.0, 64, 64)
    for _ in range(5):
        writer.write(np.full((64, 64, 3), 128, np.uint8))
    tmp = writer.tmp

    def sign_fails(path):
        raise OutputError(f"{path}: C2PA signing failed (_C2paIo: Io: Other: UntrackedPointer: 0x2)")
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage._replace(free=1000))
    with pytest.raises(OutputError) as err:
        writer.commit(finalize=sign_fails)
    message = str(err.value)
    assert "disk is full" in message and str(out) in message and tmp not in message
    assert not out.exists() and not _partials(tmp_path)


def test_a_signing_failure_with_room_to_spare_names_the_users_file(tmp_path):
    out = tmp_path / "clip.mp4"
    writer = Mp4Writer(out, 25.0, 64, 64)
    writer.write(np.full((64, 64, 3), 128, np.uint8))

    def sign_fails(path):
        raise OutputError(f"{path}: the C2PA manifest did not verify after writing")
    with pytest.raises(OutputError) as err:
        writer.commit(finalize=sign_fails)
    assert str(err.value).startswith(f"{out}: the C2PA manifest did not verify")
    assert not out.exists() and not _partials(tmp_path)


def test_a_camera_that_is_not_a_number_is_a_clear_error(tmp_path, capsys):
    import run
    src = write_png(tmp_path / "me.png", sf.render(who=sf.SAMPLE, size=256))
    code = run.main(["animate", "--source", str(src), "--driving", "camera:abc", "--output",
                     str(tmp_path / "o.mp4"), "--size", "256", "--consent", "self"])
    err = capsys.readouterr().err
    assert code == 2 and "camera:abc: not a camera" in err and "Traceback" not in err
    assert not (tmp_path / "o.mp4").exists()


def test_a_photo_too_small_for_the_label_is_refused_before_consent(tmp_path, capsys, monkeypatch):
    """The output is the photo's frame; one too small to hold the whole label (here in Polish, the
    longest) cannot be written at all, and must be refused with a message, not a traceback after the
    consent record was written."""
    import cv2

    import run
    from realtime.provenance.consent import ConsentStore
    monkeypatch.setenv("LANG", "pl_PL.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    src = tmp_path / "small.png"
    face = sf.render(who=sf.SAMPLE, size=256)[30:226, 30:226]               # the face, tightly framed
    cv2.imwrite(str(src), cv2.resize(face, (80, 80), interpolation=cv2.INTER_AREA))
    code = run.main(["animate", "--source", str(src), "--driving", "demo", "--output", str(tmp_path / "o.mp4"),
                     "--size", "256", "--consent", "other:Zed"])
    err = capsys.readouterr().err
    assert code == 2 and "small.png: the photo is 80x80, too small to carry the AI-GENERATED label" in err, err
    assert not (tmp_path / "o.mp4").exists() and ConsentStore.default().records() == []


def test_a_finished_video_is_readable_like_any_new_file(tmp_path):
    """The frames go to a private temporary file; the finished video must not keep its 0600 mode (a
    video nobody else on the machine, or a web server, can read)."""
    import stat
    umask = os.umask(0o022)
    os.umask(umask)
    out = tmp_path / "clip.mp4"
    with Mp4Writer(out, 25.0, 64, 64) as writer:
        writer.write(np.full((64, 64, 3), 128, np.uint8))
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~umask
