"""The local MJPEG stream: bound to 127.0.0.1, a random token in every URL, the same labelled frames
as the other outputs, and shown by a real headless Chromium (Debian's `chromium`)."""
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from realtime.live.grabbers import DriverConfig
from realtime.live.session import LiveSession, OutputConfig
from realtime.outputs.mjpeg_stream import MjpegStreamSink
from realtime.pipeline import PipelineConfig
from tests.live_fakes import FakeCamera, fake_factory, flat_avatar

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("AVATARCAM_HOME", str(tmp_path / "home"))


def test_frame(w=640, h=360):
    f = np.zeros((h, w, 3), np.uint8)
    f[:] = (40, 160, 220)
    f[100:200, 200:400] = (255, 255, 255)
    f.flags.writeable = False
    return f


test_frame.__test__ = False


@pytest.fixture
def stream():
    s = MjpegStreamSink()
    s.open(640, 360, 30)
    yield s
    s.close()


def get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_bound_to_localhost_with_a_random_token(stream):
    assert stream.host == "127.0.0.1"
    assert stream._server.server_address[0] == "127.0.0.1"
    assert len(stream.token) >= 20 and stream.token in stream.page_url
    assert MjpegStreamSink().token != stream.token
    stream.send(test_frame())
    base = f"http://127.0.0.1:{stream.port}"
    for path in ("/", "/stream.mjpg", "/frame.jpg", "/wrongtoken/frame.jpg", f"/{stream.token[:-1]}/frame.jpg"):
        code, _, body = get(base + path)
        assert code == 404 and b"\xff\xd8" not in body, path
    # not reachable from other interfaces
    other = [a for a in {i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
             if not a.startswith("127.")]
    for addr in other:
        with pytest.raises(OSError):
            socket.create_connection((addr, stream.port), timeout=1).close()


def test_page_frame_and_multipart_stream_carry_the_frames(stream):
    frame = test_frame()
    stream.send(frame)
    code, headers, page = get(stream.page_url)
    assert code == 200 and b'src="stream.mjpg"' in page and headers["Referrer-Policy"] == "no-referrer"
    code, headers, jpeg = get(stream.base_url + "frame.jpg")
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert code == 200 and headers["Content-Type"] == "image/jpeg"
    assert np.abs(img.astype(int) - frame).mean() < 3
    with urllib.request.urlopen(stream.stream_url, timeout=5) as r:
        assert r.headers["Content-Type"].startswith("multipart/x-mixed-replace; boundary=")
        data = b""
        while data.count(b"\xff\xd9") < 1:
            data += r.read1(65536)
        assert stream.clients == 1
        part = data[data.index(b"\xff\xd8"):data.index(b"\xff\xd9") + 2]
        img = cv2.imdecode(np.frombuffer(part, np.uint8), cv2.IMREAD_COLOR)
        assert np.abs(img.astype(int) - frame).mean() < 3
    assert stream.frames_encoded >= 1


def chromium_screenshot(url, tmp_path, size=(800, 450)):
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--window-size={size[0]},{size[1]}",
           "--timeout=8000", f"--screenshot={shot}", url]
    subprocess.run(cmd, capture_output=True, timeout=90)
    assert shot.exists(), "chromium wrote no screenshot"
    return cv2.imread(str(shot))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_headless_chromium_shows_the_live_labelled_stream(tmp_path):
    """The whole path: live session -> labelled frames -> MJPEG sink -> a real browser page."""
    session = LiveSession(OutputConfig(640, 360, 30), opener=FakeCamera().opener,
                          processor_factory=fake_factory(), tracker_factory=lambda: None)
    sink = MjpegStreamSink()
    session.add_sink(sink)
    session.set_avatar(flat_avatar(size=(640, 360), colour=(60, 140, 200)), PipelineConfig(size=256))
    session.start(DriverConfig(kind="camera"))
    try:
        deadline = time.monotonic() + 10
        while not sink.port and time.monotonic() < deadline:
            time.sleep(0.05)
        out_frame, _ = session.output_slot.peek()
        shot = chromium_screenshot(sink.page_url, tmp_path)
    finally:
        session.stop()
    assert shot.shape[:2] == (450, 800)
    # the page shows the frame scaled to fit (letterboxed 800x450 -> 800x450, same 16:9)
    frame = cv2.resize(out_frame.frame_bgr, (800, 450), interpolation=cv2.INTER_AREA)
    assert np.abs(shot.astype(int) - frame).mean() < 8
    body = (slice(60, 390), slice(40, 500))       # the avatar area away from the label
    # the visible label is there: its dark plate at the top right of the centre 4:3 area
    from realtime.provenance.label import VisibleLabel
    x0, y0, x1, y1 = VisibleLabel(640, 360).rect
    sx, sy = 800 / 640, 450 / 360
    plate = shot[int(y0 * sy) + 2:int(y1 * sy) - 2, int(x0 * sx) + 2:int(x1 * sx) - 2]
    assert np.median(plate) < 70 < np.median(shot[body]), "the AI-GENERATED label's dark plate is missing"
    assert (plate > 200).mean() > 0.05, "the label text (light on dark) is missing"
