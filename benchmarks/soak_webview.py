"""Soak the web view: does `mnist-edge run --serve --loop` keep flat memory while viewers come and go?

Not a test: it runs for `--minutes` (30 by default) against a real `mnist-edge run` subprocess on
loopback, with viewers that behave like people and browsers do:

- 3 visitors that open /stream.mjpg, watch for a few random seconds, leave, and come back;
- 1 slow viewer that reads a trickle of bytes (a phone on bad Wi-Fi);
- 1 poller that reads /api/latest 4 times a second, like the page does.

The server's RSS and thread count are sampled every few seconds. Writes `soak_webview.json` and
`soak_webview.md` to `--out`, and exits 1 if RSS grew by `--max-growth-mb` or more after warm-up
(median of the last 3 samples minus median of the first 3), or if the server died.

    python -m mnist_edge.benchmarks.soak_webview --minutes 30 --out bench-out/soak
    python -m mnist_edge.benchmarks.soak_webview --minutes 2 --source FOLDER --model MODEL.tflite --out /tmp/soak
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

HOST = "127.0.0.1"  # loopback only, whatever the arguments


@dataclass(frozen=True)
class SoakConfig:
    minutes: float = 30.0
    out: str = "bench-out/soak_webview"
    source: str | None = None        # None: the shipped sample clip (mnist-edge run's default)
    model: str | None = None         # None: the shipped model
    port: int = 0                    # 0: a free port
    sample_seconds: float = 5.0      # RSS sampling period
    warmup_seconds: float = 60.0     # not counted in the growth (capped at a quarter of the run)
    visitors: int = 3
    max_growth_mb: float = 10.0
    seed: int = 0


@dataclass
class Sample:
    t_s: float          # since the server answered /healthz
    rss_mb: float
    threads: int
    frames: int         # frames published so far (/healthz)
    viewers: int        # MJPEG connections open (/healthz)


@dataclass
class Counters:
    """Shared by the viewer threads; a lock because += on a Counter is not atomic."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)

    def add(self, name: str, amount: int = 1) -> None:
        with self.lock:
            self.counts[name] += amount

    def error(self, where: str, exc: BaseException) -> None:
        with self.lock:
            self.errors[f"{where}: {type(exc).__name__}"] += 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def process_memory(pid: int) -> tuple[float, int]:
    """(RSS in MB, thread count) of a process, from /proc (Linux) or psutil elsewhere."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])
    import psutil

    process = psutil.Process(pid)
    return process.memory_info().rss / 2**20, process.num_threads()


def get_json(url: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def read_mjpeg(stream, seconds: float, stop: threading.Event) -> int:
    """Read MJPEG parts for `seconds`; the number of JPEGs received."""
    deadline = time.monotonic() + seconds
    parts = 0
    length = None
    while time.monotonic() < deadline and not stop.is_set():
        line = stream.readline()
        if not line:
            break  # the server ended the stream
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
        elif line == b"\r\n" and length is not None:
            jpeg = stream.read(length)
            if not jpeg.startswith(b"\xff\xd8"):
                raise ValueError("an MJPEG part that is not a JPEG")
            parts += 1
            length = None
    return parts


def visitor(base: str, stop: threading.Event, counters: Counters, rng: random.Random) -> None:
    while not stop.is_set():
        try:
            with urllib.request.urlopen(base + "stream.mjpg", timeout=10) as stream:
                counters.add("visits")
                counters.add("frames_served", read_mjpeg(stream, rng.uniform(1.0, 6.0), stop))
        except urllib.error.HTTPError as exc:
            counters.error("visitor", exc)
        except (OSError, ValueError) as exc:
            if not stop.is_set():
                counters.error("visitor", exc)
        stop.wait(rng.uniform(0.0, 1.0))


def slow_viewer(port: int, stop: threading.Event, counters: Counters) -> None:
    """Reads 4 KB five times a second from a small receive buffer; reconnects when dropped."""
    while not stop.is_set():
        try:
            with socket.socket() as client:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
                client.settimeout(30)
                client.connect((HOST, port))
                client.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: localhost\r\n\r\n")
                counters.add("slow_connections")
                while not stop.is_set():
                    data = client.recv(4096)
                    if not data:
                        counters.add("slow_dropped_by_server")
                        break
                    counters.add("slow_bytes", len(data))
                    stop.wait(0.2)
        except OSError as exc:
            if not stop.is_set():
                counters.error("slow viewer", exc)
                stop.wait(1.0)


def poller(base: str, stop: threading.Event, counters: Counters) -> None:
    last_frame = -1
    while not stop.is_set():
        try:
            latest = get_json(base + "api/latest", timeout=5)
            counters.add("polls")
            if "fps" not in latest or latest["frame"] < last_frame:
                counters.add("polls_inconsistent")
            last_frame = latest["frame"]
        except (OSError, ValueError, KeyError) as exc:
            if not stop.is_set():
                counters.error("poller", exc)
        stop.wait(0.25)


def start_server(config: SoakConfig, port: int, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "mnist_edge", "run", "--serve", f"{HOST}:{port}", "--loop"]
    if config.source:
        command += ["--source", config.source]
    if config.model:
        command += ["--model", config.model]
    with open(log_path, "w") as log:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)


def wait_until_serving(base: str, process: subprocess.Popen, log_path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mnist-edge run exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if get_json(base + "healthz", timeout=2)["frames"] > 0:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"mnist-edge run served no frame within {timeout:.0f} s; see {log_path}")


def stop_server(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # handled like Ctrl+C: summary, clean exit
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def summarize(samples: list[Sample], warmup_s: float) -> dict:
    steady = [s for s in samples if s.t_s >= warmup_s] or samples[-1:]
    head = statistics.median(s.rss_mb for s in steady[:3])
    tail = statistics.median(s.rss_mb for s in steady[-3:])
    return {"start_rss_mb": round(head, 2), "end_rss_mb": round(tail, 2),
            "max_rss_mb": round(max(s.rss_mb for s in samples), 2), "growth_mb": round(tail - head, 2),
            "start_threads": steady[0].threads, "end_threads": steady[-1].threads,
            "max_threads": max(s.threads for s in samples), "steady_samples": len(steady)}


def soak(config: SoakConfig) -> dict:
    """Run the soak; the report as a dict (also what goes into the JSON file)."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    port = config.port or free_port()
    base = f"http://{HOST}:{port}/"
    duration = config.minutes * 60
    warmup = min(config.warmup_seconds, duration / 4)
    log_path = out / "server.log"
    process = start_server(config, port, log_path)
    samples: list[Sample] = []
    counters = Counters()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    died = None
    try:
        wait_until_serving(base, process, log_path)
        rng = random.Random(config.seed)
        threads = [threading.Thread(target=visitor, args=(base, stop, counters, random.Random(rng.random())),
                                    name=f"visitor{i}", daemon=True) for i in range(config.visitors)]
        threads += [threading.Thread(target=slow_viewer, args=(port, stop, counters), daemon=True),
                    threading.Thread(target=poller, args=(base, stop, counters), daemon=True)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < duration:
            if process.poll() is not None:
                died = f"mnist-edge run exited with {process.returncode} after {elapsed:.0f} s"
                break
            rss_mb, thread_count = process_memory(process.pid)
            try:
                health = get_json(base + "healthz", timeout=5)
            except (OSError, ValueError) as exc:
                counters.error("healthz", exc)
                health = {"frames": -1, "viewers": -1}
            samples.append(Sample(round(elapsed, 1), round(rss_mb, 2), thread_count, health["frames"],
                                  health["viewers"]))
            print(f"soak: {elapsed:6.0f} s  rss {rss_mb:7.1f} MB  threads {thread_count:3d}  "
                  f"frames {health['frames']}  viewers {health['viewers']}", file=sys.stderr, flush=True)
            time.sleep(min(config.sample_seconds, max(0.0, duration - elapsed)))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=35)
        exit_code = stop_server(process)
    if not samples:
        raise RuntimeError(died or "no sample taken")
    summary = summarize(samples, warmup)
    failures = []
    if summary["growth_mb"] >= config.max_growth_mb:
        failures.append(f"RSS grew {summary['growth_mb']:.1f} MB (limit {config.max_growth_mb:.0f} MB)")
    if died:
        failures.append(died)
    return {
        "config": asdict(config), "port": port, "warmup_s": warmup,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        **summary,
        "frames_published": samples[-1].frames,
        "counts": dict(counters.counts), "errors": dict(counters.errors),
        "server_exit_code": exit_code, "failures": failures, "passed": not failures,
        "samples": [asdict(s) for s in samples],
    }


def markdown(report: dict) -> str:
    counts = report["counts"]
    rows = [
        ("duration", f"{report['config']['minutes']:g} min (warm-up {report['warmup_s']:.0f} s)"),
        ("RSS start / end / max", f"{report['start_rss_mb']:.1f} / {report['end_rss_mb']:.1f} / "
                                  f"{report['max_rss_mb']:.1f} MB"),
        ("RSS growth", f"{report['growth_mb']:+.1f} MB (limit {report['config']['max_growth_mb']:g} MB)"),
        ("threads start / end / max", f"{report['start_threads']} / {report['end_threads']} / "
                                      f"{report['max_threads']}"),
        ("frames published", str(report["frames_published"])),
        ("frames served to visitors", f"{counts.get('frames_served', 0)} in {counts.get('visits', 0)} visits"),
        ("slow viewer", f"{counts.get('slow_bytes', 0) / 2**20:.1f} MB read, "
                        f"{counts.get('slow_connections', 0)} connections, "
                        f"{counts.get('slow_dropped_by_server', 0)} dropped by the server"),
        ("/api/latest polls", f"{counts.get('polls', 0)} ({counts.get('polls_inconsistent', 0)} inconsistent)"),
        ("errors", ", ".join(f"{k} ×{v}" for k, v in report["errors"].items()) or "none"),
        ("server exit code", str(report["server_exit_code"])),
        ("result", "PASS" if report["passed"] else "FAIL: " + "; ".join(report["failures"])),
    ]
    lines = ["# Web view soak", "", "| what | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Soak `mnist-edge run --serve` with coming and going viewers "
                                     "on loopback, and check that its memory stays flat.")
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to run (default: 30)")
    parser.add_argument("--out", default="bench-out/soak_webview", help="folder for the JSON and markdown report")
    parser.add_argument("--source", default=None, help="frames to loop over (default: the shipped sample clip)")
    parser.add_argument("--model", default=None, help="a .tflite model (default: the shipped one)")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="RSS sampling period (default: 5)")
    parser.add_argument("--warmup-seconds", type=float, default=60.0,
                        help="not counted in the growth; capped at a quarter of the run (default: 60)")
    parser.add_argument("--visitors", type=int, default=3, help="viewers that come and go (default: 3)")
    parser.add_argument("--max-growth-mb", type=float, default=10.0, help="fail at this RSS growth (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the visitors' random watch times")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.sample_seconds <= 0:
        parser.error("--minutes and --sample-seconds must be > 0")
    config = SoakConfig(args.minutes, args.out, args.source, args.model, args.port, args.sample_seconds,
                        args.warmup_seconds, args.visitors, args.max_growth_mb, args.seed)
    try:
        report = soak(config)
    except RuntimeError as exc:
        print(f"soak_webview: error: {exc}", file=sys.stderr)
        return 1
    out = Path(config.out)
    (out / "soak_webview.json").write_text(json.dumps(report, indent=2))
    text = markdown(report)
    (out / "soak_webview.md").write_text(text)
    print(text)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
