"""`--serve`: the live web view (see edge_runtime/webview.py) as a sink, with its password and TLS flags."""
from __future__ import annotations

import argparse
import logging
import os
import stat
from pathlib import Path

from mnist_edge.edge_runtime.sinks import Delivery, Sink

log = logging.getLogger("mnist_edge")
PASSWORD_ENV = "MNIST_EDGE_WEB_PASSWORD"


class WebViewSink(Sink):
    needs_color = True
    realtime = True          # a finite source is played at its own rate so that it can be watched
    holds_last_frame = True  # and its last frame stays on the page until Ctrl+C

    def __init__(self, host: str, port: int, password: str | None = None, allow_open: bool = False,
                 tls: tuple[str, str] | None = None):
        from mnist_edge.edge_runtime.webview import WebView, is_loopback

        self.view = WebView(host, port, password=password, allow_open=allow_open, tls=tls)
        if password is None and not is_loopback(host):
            log.warning("web view on %s: no password (--serve-open): anyone who can reach this machine can "
                        "watch the camera", host)
        elif password is not None and tls is None and not is_loopback(host):
            log.warning("web view: the password crosses the network in clear text; add --serve-cert and "
                        "--serve-key for HTTPS")
        log.info("web view on %s%s", self.view.url, " (password required)" if password else "")

    def write(self, delivery: Delivery) -> None:
        self.view.publish(delivery.canvas, delivery.result.to_json())

    def close(self) -> None:
        self.view.close()


def address(text: str) -> tuple[str, int]:
    """`[HOST:]PORT` → (host, port); host defaults to loopback."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT, got {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {number}")
    return (host.strip("[]") or "127.0.0.1"), number


def read_password(path: str) -> str:
    """The first line of a password file; warns if other users may read it."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
        mode = file.stat().st_mode
    except OSError as exc:
        raise OSError(f"--serve-password-file {path}: cannot read it ({exc.strerror})") from None
    if mode & stat.S_IROTH:
        log.warning("--serve-password-file %s can be read by every user of this machine; chmod 640 or 600 it", path)
    password = text.splitlines()[0] if text else ""
    if not password:
        raise ValueError(f"--serve-password-file {path}: the first line is empty")
    return password


def add_arguments(parser) -> None:
    parser.add_argument("--serve", metavar="[HOST:]PORT", type=address, default=None,
                        help="serve a live web view (default host 127.0.0.1; another address needs a "
                        f"password from ${PASSWORD_ENV} or --serve-password-file, or --serve-open)")
    parser.add_argument("--serve-password-file", metavar="FILE", default=None,
                        help="the web view's password: the first line of FILE (any user name)")
    parser.add_argument("--serve-open", action="store_true",
                        help="allow a web view on the network without a password")
    parser.add_argument("--serve-cert", metavar="PEM", default=None, help="serve HTTPS with this certificate")
    parser.add_argument("--serve-key", metavar="PEM", default=None, help="the private key of --serve-cert")


def from_args(args) -> WebViewSink | None:
    from mnist_edge.cli import UsageError
    from mnist_edge.edge_runtime.webview import is_loopback

    given = [flag for flag, value in (("--serve-password-file", args.serve_password_file),
                                      ("--serve-open", args.serve_open), ("--serve-cert", args.serve_cert),
                                      ("--serve-key", args.serve_key)) if value]
    if not args.serve:
        if given:
            raise UsageError(f"{given[0]} needs --serve [HOST:]PORT")
        return None
    if bool(args.serve_cert) != bool(args.serve_key):
        raise UsageError("--serve-cert and --serve-key go together")
    password = read_password(args.serve_password_file) if args.serve_password_file else os.environ.get(PASSWORD_ENV)
    host, port = args.serve
    if not password and not args.serve_open and not is_loopback(host):
        raise UsageError(f"--serve {host}:{port} lets anyone on the network watch the camera: set a password "
                         f"(${PASSWORD_ENV} or --serve-password-file FILE) or say --serve-open")
    tls = (args.serve_cert, args.serve_key) if args.serve_cert else None
    return WebViewSink(host, port, password or None, args.serve_open, tls)
