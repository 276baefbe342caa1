"""`--serve`: the live web view (see edge_runtime/webview.py) as a sink."""
from __future__ import annotations

import argparse
import logging

from mnist_edge.edge_runtime.sinks import Delivery, Sink

log = logging.getLogger("mnist_edge")


class WebViewSink(Sink):
    needs_color = True
    realtime = True          # a finite source is played at its own rate so that it can be watched
    holds_last_frame = True  # and its last frame stays on the page until Ctrl+C

    def __init__(self, host: str, port: int):
        from mnist_edge.edge_runtime.webview import WebView

        self.view = WebView(host, port)
        log.info("web view on %s", self.view.url)

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


def add_arguments(parser) -> None:
    parser.add_argument("--serve", metavar="[HOST:]PORT", type=address, default=None,
                        help="serve a live web view (default host 127.0.0.1; 0.0.0.0 to share on the network)")


def from_args(args) -> WebViewSink | None:
    return WebViewSink(*args.serve) if args.serve else None
