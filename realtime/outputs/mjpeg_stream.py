"""A local MJPEG-over-HTTP stream of the labelled frames, for a projector (any browser) or an OBS
browser source. Bound to 127.0.0.1 by default; every URL carries a random token, so other local users
and web pages cannot guess it. Frames are JPEG-encoded once, on the sink's own thread, and only while
someone is watching.

    http://127.0.0.1:PORT/TOKEN/             a page showing the stream, scaled to the window
    http://127.0.0.1:PORT/TOKEN/stream.mjpg  the multipart stream itself
    http://127.0.0.1:PORT/TOKEN/frame.jpg    the newest frame
"""
import hmac
import logging
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2

from .sink import Sink, SinkError, SinkUnavailable, check_frame

log = logging.getLogger(__name__)

BOUNDARY = "avatarcamframe"
KEEPALIVE_S = 1.0

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AvatarCam stream</title>
<meta name="referrer" content="no-referrer">
<style>html,body{{margin:0;height:100%;background:#000;overflow:hidden}}
img{{width:100%;height:100%;object-fit:contain;display:block}}</style></head>
<body><img src="stream.mjpg" alt="AvatarCam (AI-generated video)"></body></html>
"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, sink):
        self.sink = sink
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server_version = "AvatarCam"
    sys_version = ""

    def log_message(self, fmt, *args):       # quiet: no access log on stderr
        log.debug("stream: " + fmt, *args)

    def _headers(self, code: int, ctype: str, length: int = None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Content-Type-Options", "nosniff")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self):
        sink = self.server.sink
        parts = self.path.split("?", 1)[0].split("/")
        # ["", token, resource]
        if len(parts) < 2 or not hmac.compare_digest(parts[1].encode(), sink.token.encode()):
            body = b"Not found. The AvatarCam stream address includes its access token.\n"
            self._headers(404, "text/plain; charset=utf-8", len(body))
            self.wfile.write(body)
            return
        resource = "/".join(parts[2:])
        if resource in ("", "index.html"):
            body = PAGE.format().encode()
            self._headers(200, "text/html; charset=utf-8", len(body))
            self.wfile.write(body)
        elif resource == "frame.jpg":
            jpeg = sink.snapshot_jpeg(wait_s=2.0)
            if jpeg is None:
                self._headers(503, "text/plain; charset=utf-8")
                self.wfile.write(b"no frame yet\n")
                return
            self._headers(200, "image/jpeg", len(jpeg))
            self.wfile.write(jpeg)
        elif resource == "stream.mjpg":
            self._stream(sink)
        else:
            self._headers(404, "text/plain; charset=utf-8")
            self.wfile.write(b"not found\n")

    def _stream(self, sink):
        self._headers(200, f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        sink._client_joined()
        seq, last_sent, jpeg_prev = 0, 0.0, None
        try:
            self.wfile.write(f"--{BOUNDARY}\r\n".encode())
            while not sink._closed.is_set():
                jpeg, new_seq = sink._wait_jpeg(seq, timeout=0.5)
                if jpeg is None:
                    # a still picture: resend it now and then, so viewers and proxies know we are alive
                    if jpeg_prev is None or time.monotonic() - last_sent < KEEPALIVE_S:
                        continue
                    jpeg = jpeg_prev
                seq, jpeg_prev, last_sent = new_seq, jpeg, time.monotonic()
                # the boundary goes right after each part: browsers show a part once its end is known
                self.wfile.write(f"Content-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode())
                self.wfile.write(jpeg)
                self.wfile.write(f"\r\n--{BOUNDARY}\r\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
            pass
        finally:
            sink._client_left()


class MjpegStreamSink(Sink):
    name = "stream"
    retry_s = None
    scope = "stream"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, quality: int = 85, max_fps: float = 30.0):
        self.host, self.port = host, port
        self.quality = quality
        self.max_fps = max_fps
        self.token = secrets.token_urlsafe(18)
        self._server = None
        self._size = None
        self._cond = threading.Condition()
        self._frame, self._frame_seq = None, 0
        self._jpeg, self._jpeg_seq = None, 0
        self._clients = 0
        self._closed = threading.Event()
        self._threads = []
        self.frames_encoded = 0

    # -- addresses ----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host = self.host if self.host not in ("0.0.0.0", "") else "127.0.0.1"
        return f"http://{host}:{self.port}/{self.token}/"

    @property
    def page_url(self) -> str:
        return self.base_url

    @property
    def stream_url(self) -> str:
        return self.base_url + "stream.mjpg"

    @property
    def clients(self) -> int:
        return self._clients

    # -- Sink ---------------------------------------------------------------------------------------
    def open(self, width: int, height: int, fps: float) -> None:
        self.close()
        self._closed.clear()
        try:
            self._server = _Server((self.host, self.port), self)
        except OSError as exc:
            raise SinkError(f"The stream could not listen on {self.host}:{self.port} ({exc.strerror or exc}); "
                            "choose another port in Settings.") from exc
        self.port = self._server.server_address[1]
        self._size = (width, height)
        self.max_fps = min(self.max_fps, fps)
        self._threads = [threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                          name="avatarcam-stream-http", daemon=True),
                         threading.Thread(target=self._encode_loop, name="avatarcam-stream-encode", daemon=True)]
        for t in self._threads:
            t.start()
        log.info("stream at %s", self.page_url)

    def send(self, frame_bgr) -> None:
        if self._server is None:
            raise SinkUnavailable("The stream is not running.")
        check_frame(frame_bgr, *self._size)
        with self._cond:
            if frame_bgr is self._frame:          # a repeated frame: nothing new to encode
                return
            self._frame = frame_bgr
            self._frame_seq += 1
            self._cond.notify_all()

    def close(self) -> None:
        server, self._server = self._server, None
        self._closed.set()
        with self._cond:
            self._cond.notify_all()
        if server is not None:
            server.shutdown()
            server.server_close()
        for t in self._threads:
            t.join(timeout=2.0)
        self._threads = []

    def describe(self) -> str:
        if self._server is None:
            return "off"
        return f"{self.page_url} ({self._clients} watching)"

    # -- encoding -----------------------------------------------------------------------------------
    def _encode(self, frame):
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        return buf.tobytes() if ok else None

    def _encode_loop(self):
        done_seq = 0
        min_dt = 1.0 / max(self.max_fps, 1.0)
        last = 0.0
        while not self._closed.is_set():
            with self._cond:
                self._cond.wait_for(lambda: self._closed.is_set() or (self._clients > 0 and self._frame_seq != done_seq),
                                    timeout=0.5)
                if self._closed.is_set() or self._clients == 0 or self._frame_seq == done_seq:
                    continue
                frame, done_seq = self._frame, self._frame_seq
            wait = last + min_dt - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last = time.monotonic()
            jpeg = self._encode(frame)
            if jpeg is None:
                continue
            with self._cond:
                self._jpeg = jpeg
                self._jpeg_seq += 1
                self.frames_encoded += 1
                self._cond.notify_all()

    def _wait_jpeg(self, after_seq: int, timeout: float):
        with self._cond:
            self._cond.wait_for(lambda: self._closed.is_set() or self._jpeg_seq != after_seq, timeout)
            if self._jpeg_seq == after_seq or self._jpeg is None:
                return None, after_seq
            return self._jpeg, self._jpeg_seq

    def snapshot_jpeg(self, wait_s: float = 0.0):
        deadline = time.monotonic() + wait_s
        while True:
            with self._cond:
                frame = self._frame
            if frame is not None:
                return self._encode(frame)
            if time.monotonic() >= deadline or self._closed.is_set():
                return None
            time.sleep(0.05)

    def _client_joined(self):
        with self._cond:
            self._clients += 1
            self._cond.notify_all()

    def _client_left(self):
        with self._cond:
            self._clients -= 1
