"""`--model auto`: picks an existing shipped twin, says so in one stderr line, caches and reuses the choice;
an explicit --model always wins."""
import json

import pytest

from conftest import REPO, assert_one_line_error, run_cli
from mnist_edge.edge_runtime.model_choice import FLOAT32, INT8, cache_file, choose_model
from mnist_edge.edge_runtime.pipeline import DigitReader, shipped_model

pytestmark = pytest.mark.edge

SHORT = 0.1  # seconds of measurement: the tests check the mechanism, not which twin wins


def _flip_cached_choice(path):
    """Make the cached entry name the other twin, so that a reuse of the cache is visible."""
    data = json.loads(path.read_text())
    (key, entry), = data["entries"].items()
    entry["choice"] = FLOAT32 if entry["choice"] == INT8 else INT8
    path.write_text(json.dumps(data))
    return entry["choice"]


def test_auto_measures_an_existing_twin_then_reuses_the_cache(tmp_path):
    first = choose_model(cache_dir=tmp_path, seconds=SHORT)
    assert first.name in (INT8, FLOAT32) and first.path == shipped_model(first.name) and first.path.is_file()
    assert not first.cached and first.speedup is not None and first.speedup > 0
    assert first.describe().startswith(f"model auto → {first.name} (")
    entry = next(iter(json.loads(cache_file(tmp_path).read_text())["entries"].values()))
    assert entry["choice"] == first.name and entry["us_per_batch"][INT8] > 0 and entry["us_per_batch"][FLOAT32] > 0
    assert entry["backend"] and entry["int8_sha256"] != entry["float32_sha256"]

    second = choose_model(cache_dir=tmp_path, seconds=SHORT)
    assert second.cached and second.name == first.name and "; cached)" in second.describe()
    flipped = _flip_cached_choice(cache_file(tmp_path))
    assert choose_model(cache_dir=tmp_path, seconds=SHORT).name == flipped  # read, not measured again


def test_a_different_thread_count_is_measured_apart(tmp_path):
    choose_model(threads=1, cache_dir=tmp_path, seconds=SHORT)
    assert not choose_model(threads=2, cache_dir=tmp_path, seconds=SHORT).cached
    assert len(json.loads(cache_file(tmp_path).read_text())["entries"]) == 2


def test_unwritable_or_corrupt_cache_just_measures(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    choice = choose_model(cache_dir=blocker / "cache", seconds=SHORT)  # mkdir fails: no error, no cache
    assert choice.name in (INT8, FLOAT32) and not choice.cached
    assert not choose_model(cache_dir=blocker / "cache", seconds=SHORT).cached
    cache_file(tmp_path).write_text("{ not json")
    assert not choose_model(cache_dir=tmp_path, seconds=SHORT).cached
    assert choose_model(cache_dir=tmp_path, seconds=SHORT).cached  # rewritten after the corrupt one


def test_xdg_cache_home_is_respected_and_digit_reader_defaults_to_auto(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_file() == tmp_path / "mnist-edge" / "model-choice.json"
    choose_model(seconds=SHORT)
    flipped = _flip_cached_choice(cache_file())
    assert DigitReader().classifier.model_path == shipped_model(flipped)
    assert DigitReader("auto").classifier.model_path == shipped_model(flipped)


def test_run_says_which_twin_auto_chose_and_caches_it(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    first = run_cli("run", "--max-frames", "2", env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stderr.splitlines() if line.startswith("mnist-edge run: model auto → ")]
    assert len(lines) == 1 and ("cnn_int8 (" in lines[0] or "cnn_float32 (" in lines[0]), first.stderr
    assert "cached" not in lines[0] and cache_file(tmp_path / "mnist-edge").is_file()
    second = run_cli("run", "--max-frames", "2", "--model", "auto", env=env, timeout=120)
    assert second.returncode == 0 and "; cached)" in second.stderr, second.stderr


def test_explicit_model_wins(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    model = REPO / "edge_runtime" / "assets" / "cnn_float32.tflite"
    result = run_cli("run", "--max-frames", "2", "--model", str(model), env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "model auto" not in result.stderr and not (tmp_path / "mnist-edge").exists()
    missing = run_cli("run", "--max-frames", "2", "--model", str(tmp_path / "mine.tflite"), env=env, timeout=120)
    assert_one_line_error(missing, "mine.tflite")
