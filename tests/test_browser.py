"""End to end in a real headless Chromium: `mnist-edge run --serve` → the page a person would open.

The oracle is the pipeline itself: the numbers the page shows for a frame must be the ones the same
process printed on stdout (`--json`) for that frame.

Needs Debian's Chromium (`apt-get install chromium`) and Playwright from PyPI (`pip install playwright`,
whose wheel carries its own driver; it is pointed at /usr/bin/chromium, so no browser is downloaded).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO

CHROMIUM = Path("/usr/bin/chromium")
# Launch flags that work on a closed network: without the background-networking ones Chromium keeps
# trying to reach Google's services. Playwright adds --headless and a fresh profile directory itself.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 30.0

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(),
                                reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_digit_frames(folder: Path, count: int = 6) -> Path:
    """Frames with printed digits: any frames do, since the oracle is the pipeline's own output."""
    import cv2
    import numpy as np

    folder.mkdir()
    for index in range(count):
        image = np.full((240, 320, 3), 235, np.uint8)
        for line, text in enumerate((f"{472 + 111 * index}", f"{index}{(index * 7) % 10}")):
            for position, character in enumerate(text):  # one by one, so that digits do not touch
                cv2.putText(image, character, (30 + 10 * index + 52 * position, 90 + 100 * line),
                            cv2.FONT_HERSHEY_SIMPLEX, 1.8, (20, 20, 20), 6, cv2.LINE_AA)
        cv2.imwrite(str(folder / f"frame_{index:02d}.png"), image)
    return folder


def write_untrained_model(folder: Path) -> Path:
    """An untrained 28x28 → 10 classifier: it reads nonsense, but the page must show that nonsense."""
    tf = pytest.importorskip("tensorflow", reason="no shipped model, and TensorFlow is needed to make one")
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((28, 28)), tf.keras.layers.Flatten(),
                                 tf.keras.layers.Dense(10)])
    path = folder / "untrained.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def pipeline_inputs(tmp_path: Path) -> list[str]:
    """`run` arguments: the shipped model and clip when present, else fixtures made in tmp_path."""
    from mnist_edge.edge_runtime.pipeline import sample_clip, shipped_model

    arguments = []
    try:
        shipped_model()
    except FileNotFoundError:
        # An untrained model is rarely confident: accept everything so that numbers do appear.
        arguments += ["--model", str(write_untrained_model(tmp_path)), "--min-confidence", "0"]
    if not sample_clip().is_file():
        arguments += ["--source", str(write_digit_frames(tmp_path / "frames"))]
    return arguments


def get_json(url: str, password: str | None = None) -> dict:
    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"viewer:{password}".encode()).decode()
    context = ssl._create_unverified_context() if url.startswith("https:") else None  # self-signed
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2, context=context) as response:
        return json.loads(response.read())


@dataclass
class Served:
    url: str
    stdout_path: Path
    stderr_path: Path
    process: subprocess.Popen
    password: str | None = None

    def wait_ready(self) -> None:
        """Wait for the first published frame; the browser starts meanwhile."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"mnist-edge run exited with {self.process.returncode}:\n"
                            f"{self.stderr_path.read_text()}")
            try:
                if get_json(self.url + "api/latest", self.password)["frame"] >= 0:
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no frame served within {START_TIMEOUT_S:.0f} s:\n{self.stderr_path.read_text()}")
            time.sleep(0.1)


@contextmanager
def serve(tmp_path: Path, *extra: str, password: str | None = None, tls: bool = False):
    """A `mnist-edge run --serve --loop --json` process on a free loopback port, just started."""
    port = free_port()
    stdout_path = tmp_path / "stdout.jsonl"
    stderr_path = tmp_path / "stderr.txt"
    command = [sys.executable, "-m", "mnist_edge", "run", "--serve", f"127.0.0.1:{port}", "--loop", "--json",
               *extra, *pipeline_inputs(tmp_path)]
    env = {**os.environ, "MNIST_EDGE_WEB_PASSWORD": password or ""}
    with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, cwd=REPO, env=env)
    try:
        scheme = "https" if tls else "http"
        yield Served(f"{scheme}://127.0.0.1:{port}/", stdout_path, stderr_path, process, password)
    finally:
        process.send_signal(signal.SIGTERM)  # the CLI treats it as Ctrl+C: a clean stop
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr_path.read_text()


def printed_results(stdout_path: Path) -> dict[int, list[str]]:
    """frame index → the numbers the pipeline printed for it (complete lines only)."""
    results = {}
    for line in stdout_path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the line being written right now
        results[record["frame"]] = [n["text"] for n in record["numbers"]]
    return results


READ_PAGE = """() => {
  const frame = document.getElementById("frame").dataset.frame;
  return {frame: frame === undefined ? null : Number(frame),
          numbers: [...document.querySelectorAll("#numbers .number")].map((e) => e.textContent),
          fps: document.getElementById("fps").textContent,
          latencyRows: document.querySelectorAll("#latency tr").length};
}"""

# A cheap fingerprint of what the <img> shows right now (the MJPEG stream is same-origin).
IMAGE_FINGERPRINT = """() => {
  const img = document.getElementById("video");
  if (!img.naturalWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = 64; canvas.height = 48;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0, 64, 48);
  const pixels = context.getImageData(0, 0, 64, 48).data;
  let hash = 0;
  for (let i = 0; i < pixels.length; i++) hash = (hash * 31 + pixels[i]) >>> 0;
  return {width: img.naturalWidth, height: img.naturalHeight, hash};
}"""


def wait_for(page, expression: str, timeout: float = 10.0) -> None:
    """Poll `expression` with page.evaluate: Playwright's wait_for_function needs eval(), which the page's
    Content-Security-Policy forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => {expression}"):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def check_page(served: Served, tmp_path: Path, **context_options) -> None:
    """Open the page in Chromium and check it shows the live stream and what the pipeline printed."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            served.wait_ready()
            url = served.url
            page = browser.new_context(viewport={"width": 1200, "height": 720}, **context_options).new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            # A Content-Security-Policy violation is a console error, not a page error.
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.goto(url, wait_until="domcontentloaded")
            assert page.title() == "mnist-edge live"

            wait_for(page, "document.getElementById('video').naturalWidth > 0")
            wait_for(page, "document.getElementById('frame').dataset.frame !== undefined")
            first_image = page.evaluate(IMAGE_FINGERPRINT)
            first = page.evaluate(READ_PAGE)
            assert first_image["width"] > 0 and first_image["height"] > 0
            assert first["latencyRows"] == 6  # decode, detect, preprocess, inference, postprocess, total

            # The page keeps up: over a few seconds the frame counter moves and the picture changes,
            # and every reading shows what the pipeline printed for that very frame.
            readings, images = [first], {first_image["hash"]}
            for _ in range(10):
                page.wait_for_timeout(200)
                readings.append(page.evaluate(READ_PAGE))
                images.add(page.evaluate(IMAGE_FINGERPRINT)["hash"])
            page.screenshot(path=str(tmp_path / "page.png"))
            if os.environ.get("MNIST_EDGE_SCREENSHOT"):
                shutil.copy(tmp_path / "page.png", os.environ["MNIST_EDGE_SCREENSHOT"])
            assert not errors, errors
        finally:
            browser.close()

    assert readings[-1]["frame"] > readings[0]["frame"], "the frame counter did not move"
    assert len(images) > 1, "the video did not change"
    assert float(readings[-1]["fps"]) > 0
    printed = printed_results(served.stdout_path)
    for reading in readings:
        assert reading["numbers"] == printed[reading["frame"]], f"frame {reading['frame']}"
    assert any(reading["numbers"] for reading in readings), "no reading showed a number"


def test_page_shows_the_live_stream_and_the_pipelines_numbers(tmp_path):
    with serve(tmp_path) as served:
        check_page(served, tmp_path)


def test_page_over_https_with_a_password(tmp_path):
    """The setup the README recommends on a network: a self-signed certificate and a password."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command (apt-get install openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    password = "browser-test-password"
    with serve(tmp_path, "--serve-cert", str(cert), "--serve-key", str(key), password=password, tls=True) as served:
        check_page(served, tmp_path, ignore_https_errors=True,
                   http_credentials={"username": "viewer", "password": password})
