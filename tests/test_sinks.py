"""The run loop's outputs as sinks: what each receives, colour only when one draws, and the loop stays small."""
from __future__ import annotations

import pytest

from conftest import REPO
from mnist_edge.edge_runtime import sinks as sinks_package
from mnist_edge.edge_runtime.app import RunOptions, run_pipeline
from mnist_edge.edge_runtime.sinks import Delivery, Sink, StopRun


class Recorder(Sink):
    def __init__(self, needs_color: bool = False, stop_after: int | None = None):
        self.needs_color, self.stop_after = needs_color, stop_after
        self.deliveries: list[Delivery] = []
        self.closed = 0

    def write(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if self.stop_after is not None and len(self.deliveries) >= self.stop_after:
            raise StopRun

    def close(self) -> None:
        self.closed += 1

    def summary(self) -> str:
        return f"recorder saw {len(self.deliveries)}"


@pytest.mark.edge
def test_colour_is_decoded_only_when_a_sink_draws(capsys):
    plain, drawing = Recorder(), Recorder(needs_color=True)
    assert run_pipeline(RunOptions(max_frames=3), [plain]) == 0
    assert run_pipeline(RunOptions(max_frames=3), [drawing]) == 0
    # The sample clip is Motion-JPEG: decoded straight to gray unless a sink draws.
    assert [d.frame.image.ndim for d in plain.deliveries] == [2, 2, 2]
    assert [d.frame.image.shape[2] for d in drawing.deliveries] == [3, 3, 3]
    assert [d.frame.index for d in plain.deliveries] == [0, 1, 2]
    # The same numbers (boxes may differ by a pixel between the two JPEG decoders).
    assert [[n.text for n in d.result.numbers] for d in plain.deliveries] == \
        [[n.text for n in d.result.numbers] for d in drawing.deliveries]
    assert drawing.deliveries[0].canvas.shape == drawing.deliveries[0].frame.image.shape
    assert drawing.deliveries[0].canvas is drawing.deliveries[0].canvas  # drawn once, shared by the sinks
    assert plain.closed == drawing.closed == 1
    assert "recorder saw 3" in capsys.readouterr().err


@pytest.mark.edge
def test_every_sink_gets_every_frame_and_one_can_stop_the_run():
    first, second = Recorder(), Recorder(stop_after=4)
    assert run_pipeline(RunOptions(loop=True), [first, second]) == 0
    assert len(first.deliveries) == len(second.deliveries) == 4
    assert first.deliveries == second.deliveries
    assert first.deliveries[0].fps is None and first.deliveries[-1].fps > 0
    assert first.closed == second.closed == 1


@pytest.mark.edge
def test_sinks_are_closed_when_the_run_cannot_start(tmp_path):
    recorder = Recorder()
    with pytest.raises(OSError, match="source not found"):
        run_pipeline(RunOptions(source=str(tmp_path / "missing.avi")), [recorder])
    assert recorder.closed == 1 and recorder.deliveries == []


@pytest.mark.edge
def test_each_sink_module_brings_its_flags_and_its_opener():
    import argparse

    parser = argparse.ArgumentParser()
    sinks_package.add_arguments(parser)
    args = parser.parse_args([])
    assert sinks_package.open_sinks(args).__class__ is list
    assert [type(s).__name__ for s in sinks_package.open_sinks(args)] == ["TextSink"]
    assert [type(s).__name__ for s in sinks_package.open_sinks(parser.parse_args(["--json"]))] == ["JsonLinesSink"]


def test_the_run_loop_has_no_function_above_complexity_15():
    radon = pytest.importorskip("radon.complexity", reason="needs radon (the dev extra)")
    paths = [REPO / "edge_runtime" / "app.py", *sorted((REPO / "edge_runtime" / "sinks").glob("*.py"))]
    too_complex = [(path.name, block.name, block.complexity) for path in paths
                   for block in radon.cc_visit(path.read_text()) if block.complexity > 15]
    assert too_complex == []
