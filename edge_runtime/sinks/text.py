"""One line per frame on stdout, `index<TAB>source<TAB>numbers`: the default output."""
from __future__ import annotations

from mnist_edge.edge_runtime.sinks import Delivery, Sink


class TextSink(Sink):
    def write(self, delivery: Delivery) -> None:
        numbers = " ".join(n.text for n in delivery.result.numbers) or "-"
        print(f"{delivery.frame.index}\t{delivery.frame.source}\t{numbers}", flush=True)


def add_arguments(parser) -> None:
    pass  # the default; --json (jsonlines) replaces it


def from_args(args) -> TextSink | None:
    return None if args.json else TextSink()
