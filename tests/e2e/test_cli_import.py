"""`media-grpc import` as an operator runs it against a server storing on the strict S3: a CSV of
legacy URLs served by a host on 127.0.0.1, the map, a second run that imports nothing, and a run
killed half-way that the next run finishes."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.e2e.conftest import CLI, ServedProcess, embedded_env, serving_on_strict_s3
from tests.legacy_host import LegacyHost, body, legacy_host
from tests.media_factory import make_jpeg
from tests.video_factory import make_clip
from tests.waiting import eventually


@pytest.fixture
def host() -> Iterator[LegacyHost]:
    with legacy_host() as running:
        yield running


@pytest.fixture
def importing_server(tmp_path: Path, host: LegacyHost) -> Iterator[ServedProcess]:
    """SQLite and the strict S3, the legacy host (127.0.0.1 and its port) on the import
    allowlist (plain http allowed)."""
    env = embedded_env(
        tmp_path,
        MEDIA_IMPORT__ALLOWED_HOSTS=f'["127.0.0.1:{host.port}"]',
        MEDIA_IMPORT__ALLOW_HTTP="true",
    )
    with serving_on_strict_s3(env) as served:
        yield served


def operator_env(server: ServedProcess) -> dict[str, str]:
    token = server.cli("token", "--user", "migration", "--role", "service").strip()
    return {**server.env, "MEDIA_TOKEN": token, "MEDIA_ADDRESS": server.address}


def read_map(path: Path) -> dict[str, dict[str, object]]:
    return {entry["url"]: entry for entry in map(json.loads, path.read_text().splitlines())}


def test_import_writes_a_complete_map_and_a_second_run_imports_nothing(
    importing_server: ServedProcess, host: LegacyHost, tmp_path: Path
) -> None:
    photo = make_jpeg(tmp_path / "photo.jpg", (320, 240)).read_bytes()
    clip = make_clip(tmp_path / "clip.mp4", 160, 120, 0.5).read_bytes()
    paths = {f"/f/photo-{n}.jpg": body(photo, "image/jpeg") for n in range(4)}
    paths["/f/clip.mp4"] = body(clip, "video/mp4")
    paths["/f/page.jpg"] = body(b"<!doctype html><title>not a photo</title>", "image/jpeg")
    host.routes.update(paths)
    rows = tmp_path / "legacy.csv"
    lines = ["url,owner_id,purpose,post_id,position"]
    for n, path in enumerate(paths):
        purpose = "post_video" if path.endswith(".mp4") else "post_image"
        lines.append(f"{host.url(path)},user-{n % 2},{purpose},post-{n % 2},{n}")
    lines.append("not a url,,post_image,,")
    rows.write_text("\n".join(lines) + "\n")
    map_path = tmp_path / "map.jsonl"
    command = [CLI, "import", str(rows), "--map", str(map_path), "--concurrency", "2"]
    env = operator_env(importing_server)

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    first_map = read_map(map_path)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    second_map = read_map(map_path)

    assert first.returncode == 1, first.stderr  # the HTML page and the bad row failed
    assert "5 imported, 2 failed" in first.stdout
    assert len(first_map) == len(paths) + 1
    for path in paths:
        entry = first_map[host.url(path)]
        if path == "/f/page.jpg":
            assert (entry["status"], entry["reason"]) == ("FAILED", "UNSUPPORTED_FORMAT")
        else:
            assert entry["status"] == "READY", entry
            assert entry["urls"], entry
    assert first_map["not a url"]["status"] == "INVALID"
    assert "file" in first.stderr  # the progress bar counts files
    assert {u: e.get("media_id") for u, e in second_map.items()} == {
        u: e.get("media_id") for u, e in first_map.items()
    }
    assert second.returncode == 1
    fetched = {path: host.hits[path] for path in paths}
    assert fetched == {path: 2 if path == "/f/page.jpg" else 1 for path in paths}


def test_an_import_killed_half_way_resumes_without_fetching_twice(
    importing_server: ServedProcess, host: LegacyHost, tmp_path: Path
) -> None:
    photo = make_jpeg(tmp_path / "photo.jpg", (200, 150)).read_bytes()

    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(0.5)  # the legacy host is slow; the test waits on the map, not on this
        body(photo, "image/jpeg")(handler)

    paths = [f"/slow/{uuid.uuid4().hex[:6]}-{n}.jpg" for n in range(6)]
    for path in paths:
        host.routes[path] = slow
    rows = tmp_path / "legacy.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"url": host.url(p), "owner_id": "kim", "purpose": "post_image"}) + "\n"
            for p in paths
        )
    )
    map_path = tmp_path / "map.jsonl"
    command = [CLI, "import", str(rows), "--map", str(map_path), "--concurrency", "1"]
    env = operator_env(importing_server)

    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def two_rows_written() -> bool:
        assert first.poll() is None, first.communicate()
        return map_path.exists() and len(map_path.read_text().splitlines()) >= 2

    eventually(two_rows_written, "the first run's rows", 120)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)

    entries = read_map(map_path)
    assert second.returncode == 0, second.stderr
    assert sorted(entries) == sorted(host.url(p) for p in paths)
    assert {e["status"] for e in entries.values()} == {"READY"}
    assert [host.hits[p] for p in paths] == [1] * len(paths)
