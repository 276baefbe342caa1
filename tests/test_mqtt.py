"""`mnist-edge run --mqtt` against a real broker: Debian's mosquitto on a free loopback port.

The oracle for readings is the run's own `--json` output: what arrives on <base>/reading for a frame
must be what the same process printed for that frame.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, assert_one_line_error, run_cli

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
mqtt = pytest.importorskip("paho.mqtt.client", reason="needs paho-mqtt (pip install 'mnist-edge[edge]')")
pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).is_file(),
                                reason="needs Debian's mosquitto (apt-get install mosquitto)")
READING_KEYS = {"frame", "source", "numbers", "digits", "latency_ms", "fps"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, what: str, process: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"mnist-edge exited with {process.returncode} while waiting for {what}:\n"
                        f"{log.read_text() if log else ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{log.read_text() if log else ''}")
        time.sleep(0.05)


class Broker:
    """A mosquitto process on 127.0.0.1:`port` with its own config, log and persistence folder."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None, tls: tuple[Path, Path] | None = None):
        self.folder, self.port = folder, free_port()
        lines = [f"listener {self.port} 127.0.0.1",
                 *([f"certfile {tls[0]}", f"keyfile {tls[1]}"] if tls else []), "persistence true", f"persistence_location {folder}/",
                 f"log_dest file {folder}/mosquitto.log", "log_type all", "user root" if os.getuid() == 0 else ""]
        if users:
            password_file = folder / "passwords"
            for index, (user, password) in enumerate(users.items()):
                subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if index == 0 else []), str(password_file),
                                user, password], check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines += ["allow_anonymous true"]
        self.config = folder / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        """Start and wait until it accepts TCP connections."""
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not start: {self.process.stderr.read().decode()}")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: mosquitto saves its persistence file
            self.process.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


class Listener:
    """A paho subscriber collecting (topic, payload, retained) from the broker."""

    def __init__(self, broker: Broker, topics: list[str], client_id: str = "", clean: bool = True):
        self.messages: list[tuple[str, str, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda client, *_: [client.subscribe(t, qos=1) for t in topics]
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self.subscribed.wait(5), "the listener could not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        with self.lock:
            self.messages.append((message.topic, message.payload.decode(), bool(message.retain)))

    def on(self, topic: str) -> list[tuple[str, bool]]:
        with self.lock:
            return [(payload, retained) for t, payload, retained in self.messages if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start_run(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, Path, Path]:
    stdout, stderr = tmp_path / "stdout.jsonl", tmp_path / "stderr.txt"
    with open(stdout, "w") as out, open(stderr, "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "mnist_edge", "run", *args], stdout=out, stderr=err,
                                   cwd=REPO, env={**os.environ, **(env or {})})
    return process, stdout, stderr


def printed(stdout: Path) -> dict[int, dict]:
    results = {}
    for line in stdout.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the line being written when the process was killed
        results[record["frame"]] = record
    return results


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.fixture
def broker(tmp_path):
    served = Broker(tmp_path)
    yield served
    served.stop()


def test_readings_discovery_and_last_will(broker, tmp_path):
    base = "test/reader1"
    listener = Listener(broker, [f"{base}/#", "homeassistant/#"])
    process, stdout, stderr = start_run(tmp_path, "--loop", "--json", "--mqtt", f"{broker.url}/{base}",
                                        "--mqtt-interval", "0.2")
    try:
        wait_until(lambda: len(listener.on(f"{base}/reading")) >= 5, 30, "5 readings", process, stderr)
        # Readings: the --json schema plus fps, and what the run printed for that very frame.
        readings = [json.loads(payload) for payload, _ in listener.on(f"{base}/reading")]
        states = [payload for payload, _ in listener.on(f"{base}/state")]
        lines = printed(stdout)
        for reading in readings[:5]:
            assert set(reading) == READING_KEYS
            mine = dict(reading)
            fps = mine.pop("fps")
            assert mine == lines[reading["frame"]]
            assert fps >= 0
        assert readings[-1]["fps"] > 0
        assert [" ".join(n["text"] for n in r["numbers"]) for r in readings[:5]] == states[:5]
        assert any(r["numbers"] for r in readings)
        # Consecutive readings differ (published on change), at most one per interval.
        texts = [[n["text"] for n in r["numbers"]] for r in readings]
        assert all(a != b for a, b in zip(texts, texts[1:]))

        # Discovery: retained, valid JSON, for number / confidence / FPS, one device: a new subscriber gets them.
        late = Listener(broker, ["homeassistant/#", f"{base}/availability"])
        wait_until(lambda: len(late.messages) >= 4, 5, "retained discovery and availability")
        configs = {}
        for topic, payload, retained in late.messages:
            assert retained, topic
            if topic.startswith("homeassistant/"):
                configs[topic] = json.loads(payload)
        assert late.on(f"{base}/availability") == [("online", True)]
        late.close()
        assert sorted(configs) == [f"homeassistant/sensor/test_reader1/{name}/config"
                                   for name in ("confidence", "fps", "number")]
        for topic, config in configs.items():
            name = topic.split("/")[3]
            assert config["unique_id"] == f"test_reader1_{name}"
            assert config["state_topic"] == f"{base}/{'state' if name == 'number' else 'reading'}"
            assert config["availability_topic"] == f"{base}/availability"
            assert config["device"]["identifiers"] == ["test_reader1"]
        jinja2 = _optional_jinja2()
        if jinja2 is not None:  # the templates Home Assistant will run, on a real reading
            reading = readings[-1]
            confidence = jinja2.Environment().from_string(configs[
                "homeassistant/sensor/test_reader1/confidence/config"]["value_template"]).render(value_json=reading)
            lowest = min((d["confidence"] for d in reading["digits"]), default=0)
            assert float(confidence) == pytest.approx(round(lowest * 100, 1))
            fps = jinja2.Environment().from_string(configs[
                "homeassistant/sensor/test_reader1/fps/config"]["value_template"]).render(value_json=reading)
            assert float(fps) == reading["fps"]

        # Home Assistant restarts and says "online": the configs come again.
        before = len([m for m in listener.messages if m[0].startswith("homeassistant/sensor/")])
        listener.client.publish("homeassistant/status", "online", qos=1)
        wait_until(lambda: len([m for m in listener.messages if m[0].startswith("homeassistant/sensor/")])
                   >= before + 3, 5, "discovery re-sent after homeassistant/status online")

        # A power cut: SIGKILL. The broker publishes the last will.
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        wait_until(lambda: listener.on(f"{base}/availability")[-1:] == [("offline", False)], 10,
                   "the last will 'offline'")
    finally:
        if process.poll() is None:
            process.kill()
        listener.close()


def _optional_jinja2():
    try:
        import jinja2
    except ImportError:
        return None
    return jinja2


def test_broker_restart_loses_no_queued_reading(broker, tmp_path, frames_dir):
    base = "test/restart"
    # A persistent session (clean=False, QoS 1): the broker keeps our listener's messages across its restart.
    listener = Listener(broker, [f"{base}/reading"], client_id="restart-listener", clean=False)
    process, stdout, stderr = start_run(tmp_path, "--source", str(frames_dir), "--loop", "--json",
                                        "--mqtt", f"{broker.url}/{base}", "--mqtt-interval", "0.1")
    try:
        wait_until(lambda: len(listener.on(f"{base}/reading")) >= 3, 30, "3 readings", process, stderr)
        broker.stop()
        wait_until(lambda: "lost the broker" in stderr.read_text(), 10, "the run to notice", process, stderr)
        time.sleep(5)
        broker.start()
        wait_until(lambda: "broker back" in stderr.read_text(), 30, "the reconnection", process, stderr)
        assert stop(process) == 0, stderr.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    log = stderr.read_text()
    queued = int(re.search(r"broker back; sending (\d+) queued readings", log).group(1))
    sent, left, dropped = map(int, re.search(r"MQTT (\d+) readings sent, (\d+) queued, (\d+) dropped", log).groups())
    assert queued >= 20, log  # about 10 per second for the 5+ s the broker was away
    assert (left, dropped) == (0, 0), log

    def received() -> set[int]:
        return {json.loads(payload)["frame"] for payload, _ in listener.on(f"{base}/reading")}
    wait_until(lambda: len(received()) >= sent, 10, f"{sent} readings at the listener")
    listener.close()
    assert len(received()) == sent  # unique frames: QoS 1 may deliver one twice after the restart
    lines = printed(stdout)
    assert received() <= set(lines)


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd (apt-get install mosquitto)")
def test_wrong_password_is_one_clear_line(tmp_path):
    broker = Broker(tmp_path, users={"reader": "correct horse"})
    try:
        url = f"{broker.url}/test/auth"
        wrong = run_cli("run", "--mqtt", url.replace("//", "//reader@"), "--max-frames", "1",
                        env={"MNIST_EDGE_MQTT_PASSWORD": "wrong"})
        assert_one_line_error(wrong, "refused the connection", "MNIST_EDGE_MQTT_PASSWORD")
        assert wrong.stdout == ""  # before the first frame
        anonymous = run_cli("run", "--mqtt", url, "--max-frames", "1")
        assert_one_line_error(anonymous, "refused the connection")
        right = run_cli("run", "--mqtt", url.replace("//", "//reader@"), "--max-frames", "3", "--json",
                        env={"MNIST_EDGE_MQTT_PASSWORD": "correct horse"})
        assert right.returncode == 0, right.stderr
        assert "MQTT 1 readings sent, 0 queued, 0 dropped" in right.stderr  # frames 1-2 read what frame 0 did: no change, no reading
        assert "correct horse" not in right.stdout + right.stderr
    finally:
        broker.stop()


@pytest.mark.parametrize("url,message", [
    ("mqtt://127.0.0.1:1", "cannot reach the MQTT broker 127.0.0.1:1"),
    ("mqtt://user:secret@127.0.0.1", "MNIST_EDGE_MQTT_PASSWORD"),
    ("http://127.0.0.1", "expected mqtt://"),
])
def test_bad_broker_urls(url, message):
    result = run_cli("run", "--mqtt", url)
    assert_one_line_error(result, message)
    assert result.stdout == "" and "secret" not in result.stderr


def delivery(index: int, text: str):
    """A processed frame reading `text`, as the run loop hands it to the sinks."""
    import numpy as np

    from mnist_edge.edge_runtime.pipeline import Digit, FrameResult, Number
    from mnist_edge.edge_runtime.sinks import Delivery
    from mnist_edge.edge_runtime.sources import Frame

    digits = tuple(Digit(int(c), 0.9, (10 * i, 0, 8, 12)) for i, c in enumerate(text))
    result = FrameResult(index, "test", (Number(text, (0, 0, 8 * len(text), 12), digits),), digits,
                         {"total": 1.0})
    return Delivery(Frame(index, np.zeros((4, 4), np.uint8), "test", 0.0), result, 10.0, None)


def test_a_full_queue_drops_the_oldest_and_counts_them(broker, caplog):
    from mnist_edge.edge_runtime.sinks.mqtt import MqttSink

    caplog.set_level(logging.INFO, logger="mnist_edge")
    base = "test/queue"
    listener = Listener(broker, [f"{base}/reading"], client_id="queue-listener", clean=False)
    sink = MqttSink(f"{broker.url}/{base}", interval_s=0, queue_size=3)
    try:
        sink.write(delivery(0, "100"))
        wait_until(lambda: sink.sent == 1, 5, "the first reading")
        broker.stop()
        wait_until(lambda: "lost the broker" in caplog.text, 10, "the sink to notice")
        for index in range(1, 11):  # 10 readings while the broker is away; room for 3
            sink.write(delivery(index, str(100 + index)))
        assert (sink.dropped, sink.queued()) == (7, 3)
        broker.start()
        wait_until(lambda: sink.queued() == 0, 20, "the queue to drain")
        assert sink.summary() == "MQTT 4 readings sent, 0 queued, 7 dropped"
        wait_until(lambda: len(listener.on(f"{base}/reading")) >= 4, 10, "4 readings at the listener")
        frames = [json.loads(payload)["frame"] for payload, _ in listener.on(f"{base}/reading")]
        assert frames == [0, 8, 9, 10]  # the newest three survived, in order
    finally:
        sink.close()
        listener.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_mqtts_with_a_private_ca(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    broker = Broker(tmp_path, tls=(cert, key))
    try:
        url = f"mqtts://127.0.0.1:{broker.port}/test/tls"
        trusted = run_cli("run", "--mqtt", url, "--mqtt-ca", str(cert), "--max-frames", "2")
        assert trusted.returncode == 0, trusted.stderr
        assert "MQTT 1 readings sent, 0 queued, 0 dropped" in trusted.stderr
        assert_one_line_error(run_cli("run", "--mqtt", url, "--max-frames", "2"), "TLS failed", "--mqtt-ca")
    finally:
        broker.stop()
