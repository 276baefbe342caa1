"""`--json`: one JSON object per frame on stdout, flushed per frame (a killed run loses no printed line)."""
from __future__ import annotations

import json

from mnist_edge.edge_runtime.sinks import Delivery, Sink


class JsonLinesSink(Sink):
    def write(self, delivery: Delivery) -> None:
        print(json.dumps(delivery.result.to_json()), flush=True)


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object per frame on stdout")


def from_args(args) -> JsonLinesSink | None:
    return JsonLinesSink() if args.json else None
