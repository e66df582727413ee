"""``MjpegServer``: a video stream as IP cameras serve it - MJPEG over HTTP.

Why our own: this OpenCV build's FFmpeg backend reads network streams, but
``cv2.VideoWriter`` cannot write to a network URL (it needs a container it can seek),
and no other encoder is available offline. ``dronepipe replay --video-to
http://127.0.0.1:PORT/video.mjpg`` therefore serves the frames as
``multipart/x-mixed-replace`` JPEGs (the format of most IP cameras), which the live
mode opens with OpenCV's FFmpeg (``mpjpeg`` demuxer) like any camera URL. Each client
gets the newest frame as it is published; a slow client misses frames rather than
holding up the others. Loopback only unless the caller binds elsewhere.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np

log = logging.getLogger(__name__)
BOUNDARY = "dronepipeframe"


class _Frames:
    """The newest JPEG and its number, with a condition to wait on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.jpeg: bytes | None = None
        self.seq = 0
        self.closed = False


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("mjpeg: " + format, *args)

    def do_GET(self) -> None:
        if self.path.split("?")[0] != self.server.stream_path:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        frames: _Frames = self.server.frames
        seen = frames.seq
        try:
            while True:
                with frames.cond:
                    frames.cond.wait_for(lambda s=seen: frames.closed or frames.seq != s, timeout=1.0)
                    if frames.closed:
                        return
                    if frames.seq == seen or frames.jpeg is None:
                        continue
                    seen, jpeg = frames.seq, frames.jpeg
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                 f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            return


class MjpegServer:
    """Serves published frames at ``http://HOST:PORT/PATH`` (see the module docstring)."""

    def __init__(self, host: str, port: int, path: str = "/video.mjpg", quality: int = 95) -> None:
        self.frames = _Frames()
        self.quality = quality
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.frames = self.frames  # type: ignore[attr-defined]
        self._httpd.stream_path = path  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="mjpeg-server", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    def publish(self, frame: np.ndarray) -> None:
        """Encode a grey or BGR frame as JPEG and hand it to every client."""
        ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise ValueError("frame could not be JPEG-encoded")
        with self.frames.cond:
            self.frames.jpeg, self.frames.seq = buf.tobytes(), self.frames.seq + 1
            self.frames.cond.notify_all()

    def close(self) -> None:
        """Stop serving and drop every client (they see the stream end)."""
        with self.frames.cond:
            self.frames.closed = True
            self.frames.cond.notify_all()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(2.0)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (for tests)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
