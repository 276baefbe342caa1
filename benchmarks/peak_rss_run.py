"""`mnist-edge ARGS` exactly as the console script runs it, writing the process's own peak RSS (VmHWM, kB)
to REPORT at exit. Run by pipeline_bench for the cold start and the whole-clip run:

    python -m mnist_edge.benchmarks.peak_rss_run REPORT run --source CLIP ...

The parent's wait4 ru_maxrss cannot be used: Linux charges the pre-exec image of the fork (the benchmark
process, with matplotlib and every model) to the child.
"""
from __future__ import annotations

import atexit
import sys


def main(argv: list[str]) -> int:
    from mnist_edge.benchmarks.common import proc_status
    from mnist_edge.cli import main as mnist_edge

    report = argv[0]

    def write_peak() -> None:
        peak = proc_status(keys=("VmHWM",)).get("VmHWM")
        if peak is not None:
            with open(report, "w") as out:
                out.write(str(round(peak * 1024)))

    atexit.register(write_peak)
    sys.argv = ["mnist-edge", *argv[1:]]
    return mnist_edge(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
