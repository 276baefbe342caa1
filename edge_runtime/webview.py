"""A live web view of `mnist-edge run --serve`: annotated MJPEG video, the numbers read, FPS and latency.

Standard library only (plus OpenCV for JPEG), so it runs on the Pi with nothing more installed.
The pipeline thread calls `publish()`; that only swaps two references and wakes the viewers, so a
slow or stuck browser can never slow the pipeline. Each MJPEG viewer has its own thread that waits
for a newer frame, encodes it once for everybody (the first viewer to ask does the work) and sends
it; a viewer that reads slowly simply skips the frames published meanwhile. Memory is flat: the view
keeps one frame, one JPEG and one result, whatever the number of viewers.

Endpoints: `/` (the page), `/stream.mjpg`, `/snapshot.jpg`, `/api/latest`, `/healthz`.

Access: with a password, every endpoint but `/healthz` needs HTTP Basic (any user name, that password),
compared in constant time; wrong passwords from one address are answered ever more slowly (`Throttle`), in
that request's own thread, so neither other viewers nor the camera loop wait. Binding to anything but
loopback without a password is refused unless `allow_open`. With `tls=(cert, key)` it serves HTTPS.
"""
from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

log = logging.getLogger("mnist_edge")

BOUNDARY = "mnist-edge-frame"
# A viewer that takes longer than this to accept one frame is dropped (it is not reading at all).
SEND_TIMEOUT_S = 20.0
# With no new frame (source ended, camera stalled) the latest frame is re-sent this often: it keeps
# the picture on screen and finds viewers that went away, so their threads end.
IDLE_RESEND_S = 2.0
# Each viewer holds one thread and one socket; a Pi has no use for more.
MAX_STREAMS = 16
# FPS is measured over the last publish times; 0 once no frame came for a while.
FPS_WINDOW = 30
FPS_STALE_S = 2.0
REALM = "mnist-edge"


@dataclass(frozen=True)
class Throttle:
    """How wrong passwords are slowed down, per client address."""

    first_s: float = 1.0     # the wait before the next attempt after one wrong password
    max_s: float = 10.0      # it doubles with each wrong password in a row, up to this
    max_waiting: int = 4     # attempts from one address waiting at once; more are turned away (429)
    max_tracked: int = 1024  # addresses remembered; the least recently failed is forgotten first

    def delay(self, failures: int) -> float:
        return 0.0 if failures <= 0 else min(self.max_s, self.first_s * 2 ** (failures - 1))


def is_loopback(host: str) -> bool:
    """Whether binding to `host` keeps the view on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a network address


class WebView:
    """Serve the live view on http://HOST:PORT/ in daemon threads, from construction until `close()`.

    `port=0` picks a free port (see `.port` and `.url`). `host` defaults to loopback; pass "0.0.0.0"
    (or "::") to let other machines on the network watch.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, jpeg_quality: int = 80,
                 max_streams: int = MAX_STREAMS, password: str | None = None, allow_open: bool = False,
                 tls: tuple[str, str] | None = None, throttle: Throttle = Throttle()):
        if password == "":
            raise ValueError("the web view password is empty")
        if password is None and not allow_open and not is_loopback(host):
            raise ValueError(f"the web view on {host} would let anyone on the network watch the camera: "
                             "set a password (MNIST_EDGE_WEB_PASSWORD or --serve-password-file), or pass "
                             "--serve-open to allow that")
        if not 0 <= port <= 65535:
            raise ValueError(f"port out of range: {port}; use --serve [HOST:]PORT with 0 <= PORT <= 65535")
        if not 1 <= jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
        self.jpeg_quality = jpeg_quality
        self.max_streams = max_streams
        self._started = time.monotonic()
        self._changed = threading.Condition()  # guards everything below and wakes the stream threads
        self._sequence = 0                     # frames published so far
        self._image: np.ndarray | None = None  # the latest annotated frame (BGR uint8)
        self._result: dict | None = None       # its JSON result
        self._publish_times: deque[float] = deque(maxlen=FPS_WINDOW)
        self._closed = False
        self._streams: set[socket.socket] = set()  # open MJPEG connections, to unblock them on close
        self._encode_lock = threading.Lock()   # one encoder at a time; the others reuse its JPEG
        self._jpeg: tuple[int, bytes] | None = None  # (sequence, JPEG) of the latest encoded frame
        self.gate = _Gate(password, throttle) if password is not None else None
        context = _tls_context(*tls) if tls else None
        self._server = _bind(host, port, self)
        if context is not None:
            # The handshake runs in each request's thread (_Handler.setup), not in the accepting thread,
            # so a client that never finishes it cannot stop others from connecting.
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True,
                                                      do_handshake_on_connect=False)
        self.tls = context is not None
        self.host = host
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"webview:{self.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        if self.host in ("0.0.0.0", "::", ""):
            # Bound to every interface: the machine's name is what another computer can type.
            return f"{scheme}://{socket.gethostname()}:{self.port}/"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/"

    def publish(self, image: np.ndarray, result: dict) -> None:
        """Show a new annotated BGR uint8 frame and its JSON result. Cheap; never waits for viewers.

        The view keeps a reference, not a copy: do not modify `image` after publishing it.
        """
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            raise ValueError(f"publish() needs an 8-bit gray or BGR image, got {image.dtype} {image.shape}")
        now = time.monotonic()
        with self._changed:
            self._image, self._result = image, result
            self._sequence += 1
            self._publish_times.append(now)
            self._changed.notify_all()

    def close(self) -> None:
        """Stop serving, wake and disconnect the viewers. Safe to call twice."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
            streams = list(self._streams)
        for connection in streams:  # a thread blocked sending to a stuck viewer returns at once
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> WebView:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- used by the request handler ------------------------------------------------------------

    def _fps(self, now: float) -> float:
        times = self._publish_times
        if len(times) < 2 or now - times[-1] > FPS_STALE_S:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-6)

    def latest(self) -> dict | None:
        """The latest frame's JSON result plus the measured "fps"; None before the first frame."""
        with self._changed:
            if self._result is None:
                return None
            return {**self._result, "fps": round(self._fps(time.monotonic()), 2)}

    def health(self) -> dict:
        if self.gate is not None:  # open to anyone: liveness only
            return {"status": "ok"}
        with self._changed:
            return {"status": "ok", "frames": self._sequence,
                    "uptime_s": round(time.monotonic() - self._started, 3), "viewers": len(self._streams)}

    def _wait_for_frame(self, after: int, timeout: float) -> tuple[int, np.ndarray | None]:
        """The newest (sequence, image) once newer than `after`, or after `timeout`; (-1, None) once closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self._sequence > after, timeout)
            if self._closed:
                return -1, None
            return self._sequence, self._image

    def _encoded(self, sequence: int, image: np.ndarray) -> bytes:
        import cv2

        with self._encode_lock:
            if self._jpeg is None or self._jpeg[0] != sequence:
                ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
                if not ok:
                    raise ValueError(f"OpenCV could not encode a {image.shape} frame as JPEG")
                self._jpeg = (sequence, data.tobytes())
            return self._jpeg[1]

    def _add_stream(self, connection: socket.socket) -> bool:
        with self._changed:
            if self._closed or len(self._streams) >= self.max_streams:
                return False
            self._streams.add(connection)
            return True

    def _remove_stream(self, connection: socket.socket) -> None:
        with self._changed:
            self._streams.discard(connection)


@dataclass
class _Address:
    failures: int = 0       # wrong passwords in a row
    next_at: float = 0.0    # time.monotonic() before which its next attempt waits
    waiting: int = 0        # its attempts being checked right now


class _Gate:
    """HTTP Basic with one password, compared in constant time, and per-address throttling."""

    def __init__(self, password: str, throttle: Throttle):
        self._password = hashlib.sha256(password.encode()).digest()
        self.throttle = throttle
        self._lock = threading.Lock()
        self._addresses: dict[str, _Address] = {}

    def admit(self, header: str | None, address: str) -> int:
        """200 for the right password, 401 for none or a wrong one, 429 for too many at once.

        Waits first (in the caller's thread) while the address is being slowed down, so that attempts from
        one address are spaced out even when sent in parallel.
        """
        if not header or not header.startswith("Basic "):
            return 401  # a browser asks without a credential first: not an attempt
        with self._lock:
            state = self._addresses.setdefault(address, _Address())
            if state.waiting >= self.throttle.max_waiting:
                return 429
            state.waiting += 1
            now = time.monotonic()
            slot = max(now, state.next_at)
            if state.failures:  # reserve the next slot as if this attempt failed: parallel ones queue up
                state.next_at = slot + self.throttle.delay(state.failures + state.waiting)
        try:
            if slot > now:
                time.sleep(slot - now)
            right = self._matches(header)
        finally:
            with self._lock:
                state.waiting -= 1
        with self._lock:
            if right:
                if not state.waiting:
                    self._addresses.pop(address, None)
                else:
                    state.failures, state.next_at = 0, 0.0
                return 200
            state.failures += 1
            state.next_at = max(state.next_at, time.monotonic() + self.throttle.delay(state.failures))
            wait = state.next_at - time.monotonic()
            failures = state.failures
            self._forget_oldest()
        log.warning("web view: wrong password from %s (%d in a row); its next attempt waits %.2f s",
                    address, failures, wait)
        return 401

    def _matches(self, header: str) -> bool:
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        _, _, password = decoded.partition(":")  # any user name: one password guards the view
        # Hashes of equal length: compare_digest's time depends on neither the password nor its length.
        return hmac.compare_digest(hashlib.sha256(password.encode()).digest(), self._password)

    def _forget_oldest(self) -> None:
        if len(self._addresses) > self.throttle.max_tracked:
            oldest = min(self._addresses, key=lambda a: self._addresses[a].next_at)
            del self._addresses[oldest]


def _tls_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"--serve-cert/--serve-key: {exc.filename or certfile} not found") from None
    except (ssl.SSLError, OSError) as exc:
        raise OSError(f"--serve-cert {certfile} / --serve-key {keyfile}: not a matching PEM certificate and "
                      f"key ({exc})") from None
    return context


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # close() must not wait for a viewer that stopped reading

    def __init__(self, address, view: WebView, family: int):
        self.address_family = family
        self.view = view
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address) -> None:
        # Viewers come and go; a closed tab is not an error worth a traceback on stderr.
        log.debug("web view: request from %s failed", client_address, exc_info=True)


def _bind(host: str, port: int, view: WebView) -> _Server:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return _Server((host, port), view, family)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            message = f"port {port} is in use; pick another with --serve PORT"
        elif exc.errno == errno.EACCES:
            message = f"no permission to listen on port {port}; pick a port >= 1024 with --serve PORT"
        elif exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            message = (f"cannot listen on {host}: not an address of this machine; use 127.0.0.1 "
                       "(this machine only) or 0.0.0.0 (every network)")
        else:
            raise
        error = OSError(message)  # one clean line for the CLI, errno kept for callers
        error.errno = exc.errno
        raise error from None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "mnist-edge"
    sys_version = ""  # no Python version in the Server header
    timeout = SEND_TIMEOUT_S  # socket timeout: a viewer that stops reading is dropped, not waited for

    def setup(self) -> None:
        super().setup()  # applies the timeout, also to the TLS handshake below
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log.debug("web view: %s %s", self.address_string(), format % args)

    def end_headers(self) -> None:
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        super().end_headers()

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        path = self.path.split("?", 1)[0]
        routes = {"/": self._page, "/index.html": self._page, "/stream.mjpg": self._stream,
                  "/snapshot.jpg": self._snapshot, "/api/latest": self._latest, "/favicon.ico": self._no_icon}
        try:
            if path == "/healthz":
                self._health()
            elif self._admitted():
                route = routes.get(path)
                if route is None:
                    self._send_json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}",
                                                           "pages": sorted([*routes, "/healthz"])})
                else:
                    route()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the viewer went away or stopped reading

    def _admitted(self) -> bool:
        gate = self.server.view.gate
        if gate is None:
            return True
        status = gate.admit(self.headers.get("Authorization"), self.client_address[0])
        if status == 200:
            return True
        if status == 429:
            self._send_json(HTTPStatus.TOO_MANY_REQUESTS, {"error": "too many login attempts at once"})
            return False
        body = b'{"error": "a password is needed"}'
        self.send_response(HTTPStatus.UNAUTHORIZED)
        self.send_header("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)
        return False

    def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: dict) -> None:
        self._send(status, "application/json", json.dumps(payload).encode())

    def _page(self) -> None:
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", PAGE.encode(),
                   {"Content-Security-Policy": PAGE_CSP})

    def _no_icon(self) -> None:
        self._send(HTTPStatus.NO_CONTENT, "image/x-icon", b"")  # browsers ask; a 404 would log a console error

    def _latest(self) -> None:
        latest = self.server.view.latest()
        if latest is None:
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "no frame published yet"})
        else:
            self._send_json(HTTPStatus.OK, latest)

    def _health(self) -> None:
        self._send_json(HTTPStatus.OK, self.server.view.health())

    def _snapshot(self) -> None:
        view = self.server.view
        sequence, image = view._wait_for_frame(0, timeout=0)
        if image is None:
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "no frame published yet"})
            return
        self._send(HTTPStatus.OK, "image/jpeg", view._encoded(sequence, image))

    def _stream(self) -> None:
        view = self.server.view
        if not view._add_stream(self.connection):
            self._send_json(HTTPStatus.SERVICE_UNAVAILABLE,
                            {"error": f"too many viewers (at most {view.max_streams}); close a tab"})
            return
        try:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            # Each part ends with the next boundary, so a browser shows a frame as soon as it arrives
            # instead of when the next one starts.
            self.wfile.write(f"--{BOUNDARY}\r\n".encode())
            sent = 0
            while True:
                sequence, image = view._wait_for_frame(sent, IDLE_RESEND_S)
                if sequence < 0:
                    return  # closed
                if image is None:
                    continue  # nothing published yet
                jpeg = view._encoded(sequence, image)
                self.wfile.write(b"Content-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                                 + jpeg + f"\r\n--{BOUNDARY}\r\n".encode())
                self.wfile.flush()
                sent = sequence
        except OSError:  # BrokenPipe, ConnectionReset, timeout, or shut down by close()
            pass
        finally:
            self.close_connection = True
            view._remove_stream(self.connection)


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mnist-edge live</title>
<style>
  body { margin: 0; font: 15px/1.4 system-ui, sans-serif; background: #111; color: #eee; }
  header { padding: 8px 16px; background: #222; display: flex; gap: 16px; align-items: baseline; }
  header h1 { font-size: 17px; margin: 0; }
  #status { color: #9a9; }
  main { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px; align-items: flex-start; }
  #view { flex: 3 1 480px; max-width: 960px; }
  #video { display: block; width: 100%; height: auto; background: #000; border: 1px solid #333; }
  aside { flex: 1 1 240px; }
  #numbers { font-size: 56px; font-weight: 700; color: #ffb347; min-height: 80px; }
  #numbers .number { display: inline-block; border: 3px solid #ffb347; border-radius: 10px;
                     padding: 0 14px; margin: 0 10px 10px 0; font-variant-numeric: tabular-nums; }
  #numbers .none { color: #666; font-size: 32px; }
  table { border-collapse: collapse; margin-top: 12px; }
  td { padding: 2px 12px 2px 0; } td.value { text-align: right; font-variant-numeric: tabular-nums; }
  .label { color: #999; }
  .spaced { margin-top: 12px; }
</style>
</head>
<body>
<header><h1>mnist-edge live</h1><span id="status">connecting...</span></header>
<main>
  <div id="view"><img id="video" src="/stream.mjpg" alt="annotated camera frames"></div>
  <aside>
    <div class="label">numbers</div>
    <div id="numbers"><span class="none">waiting for the first frame</span></div>
    <table>
      <tr><td class="label">frame</td><td class="value" id="frame">-</td></tr>
      <tr><td class="label">source</td><td class="value" id="source">-</td></tr>
      <tr><td class="label">frames/s</td><td class="value" id="fps">-</td></tr>
      <tr><td class="label">digits</td><td class="value" id="digits">-</td></tr>
    </table>
    <div class="label spaced">latency (ms)</div>
    <table id="latency"></table>
  </aside>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
function show(data) {
  const numbers = $("numbers");
  numbers.replaceChildren();
  for (const n of data.numbers) {
    const span = document.createElement("span");
    span.className = "number";
    span.textContent = n.text;
    numbers.append(span);
  }
  if (!data.numbers.length) {
    numbers.innerHTML = '<span class="none">no number in view</span>';
  }
  $("frame").textContent = data.frame;
  $("frame").dataset.frame = data.frame;
  $("source").textContent = data.source;
  $("fps").textContent = data.fps.toFixed(1);
  $("digits").textContent = data.digits.length;
  const rows = Object.entries(data.latency_ms).map(([stage, ms]) =>
    `<tr><td class="label">${stage}</td><td class="value">${ms.toFixed(2)}</td></tr>`);
  $("latency").innerHTML = rows.join("");
}
async function poll() {
  try {
    const response = await fetch("/api/latest", {cache: "no-store"});
    if (response.ok) {
      show(await response.json());
      $("status").textContent = "live";
    } else {
      $("status").textContent = "waiting for the first frame";
    }
  } catch (error) {
    $("status").textContent = "disconnected; retrying";
  }
  setTimeout(poll, 250);
}
// The stream ends when the server restarts: reconnect.
$("video").addEventListener("error", () => {
  setTimeout(() => { $("video").src = "/stream.mjpg?t=" + Date.now(); }, 1000);
});
poll();
</script>
</body>
</html>
"""


def _inline_hash(tag: str) -> str:
    body = re.search(f"<{tag}>(.*?)</{tag}>", PAGE, re.S).group(1)
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"


# The page runs its own inline script and style and nothing else: no other origin, no plugin, no framing.
PAGE_CSP = (f"default-src 'none'; script-src {_inline_hash('script')}; style-src {_inline_hash('style')}; "
            "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
