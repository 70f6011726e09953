"""`tuner serve`: the token, the address, and a real server on 127.0.0.1."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import TOKEN, record_experiment
from tests.background import wait_until
from tuner.api.security import is_loopback
from tuner.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeUvicorn:
    """Stands in for uvicorn.run and records what it was given."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def run(self, app: Any, **options: Any) -> None:
        self.calls.append({"app": app, **options})


@pytest.fixture
def fake_uvicorn(monkeypatch: pytest.MonkeyPatch) -> FakeUvicorn:
    import uvicorn

    fake = FakeUvicorn()
    monkeypatch.setattr(uvicorn, "run", fake.run)
    return fake


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.org", False),
    ],
)
def test_loopback_addresses(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_serve_generates_token_and_opens_reads_on_loopback(
    fake_uvicorn: FakeUvicorn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--storage", str(tmp_path), "--port", "8123"]) == 0

    [call] = fake_uvicorn.calls
    settings = call["app"].state.settings
    output = capsys.readouterr().out
    assert call["host"] == "127.0.0.1"
    assert call["port"] == 8123
    assert settings.reads_need_token is False
    assert len(settings.token) >= 40
    assert f"serving {tmp_path} at http://127.0.0.1:8123/ (API documentation at /docs)" in output
    assert output.count(settings.token) == 1
    assert "does not exist yet" not in output


def test_serve_notes_missing_storage_folder(
    fake_uvicorn: FakeUvicorn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "not-yet"

    assert main(["serve", "--storage", str(missing), "--port", "8123"]) == 0

    assert f"note: {missing} does not exist yet; experiments appear once a run records them there" in (
        capsys.readouterr().out
    )


def test_serve_token_file_off_loopback(
    fake_uvicorn: FakeUvicorn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}\n", encoding="utf-8")

    assert main(["serve", "--storage", str(tmp_path), "--host", "0.0.0.0", "--token-file", str(token_file)]) == 0

    settings = fake_uvicorn.calls[0]["app"].state.settings
    output = capsys.readouterr().out
    assert settings.token == TOKEN
    assert settings.reads_need_token is True
    assert "0.0.0.0 is not a loopback address, so reads need the token too" in output
    assert TOKEN not in output


def test_serve_rejects_short_token(fake_uvicorn: FakeUvicorn, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("short", encoding="utf-8")

    status = main(["serve", "--storage", str(tmp_path), "--token-file", str(token_file)])

    assert status == 2
    assert capsys.readouterr().err == f"error: --token-file {token_file}: the token must be at least 16 characters, got 5\n"
    assert fake_uvicorn.calls == []


def test_serve_rejects_missing_token_file(
    fake_uvicorn: FakeUvicorn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["serve", "--token-file", str(tmp_path / "missing")])

    assert status == 2
    assert capsys.readouterr().err.startswith(f"error: --token-file {tmp_path / 'missing'}: cannot read the token: ")
    assert fake_uvicorn.calls == []


@pytest.mark.parametrize("port", ["0", "65536"])
def test_serve_rejects_port_out_of_range(fake_uvicorn: FakeUvicorn, port: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["serve", "--port", port])

    assert status == 2
    assert capsys.readouterr().err == f"error: --port must be from 1 to 65535, got {port}\n"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, raw_path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Send a GET with ``raw_path`` exactly as written; http.client does not normalise '..'."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", raw_path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _answers(port: int) -> bool:
    try:
        return _get(port, "/api/experiments")[0] == 200
    except OSError:
        return False


def test_served_command_answers_and_rejects_raw_dot_segments(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    storage.mkdir()
    record_experiment(storage)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN, encoding="utf-8")
    port = _free_port()
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    environment = {**os.environ, "PYTHONPATH": pythonpath}
    command = [sys.executable, "-m", "tuner", "serve", "--storage", str(storage), "--port", str(port)]
    command += ["--token-file", str(token_file)]
    server = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: _answers(port), 60, "tuner serve to answer")

        listing = _get(port, "/api/experiments")
        raw_paths = [
            "/api/experiments/../../etc/passwd",
            "/api/experiments/cnn/trials/a0000001/files/../../spec.yaml",
            "/api/experiments/cnn/trials/a0000001/files/../../../../etc/passwd",
            "/api/experiments/cnn/trials/a0000001/files/%2e%2e/%2e%2e/spec.yaml",
            "/api/experiments/cnn/trials/../archive.zip",
            "/api/experiments/..%2F..%2Fetc/leaderboard",
        ]
        statuses = {raw_path: _get(port, raw_path)[0] for raw_path in raw_paths}
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode("utf-8", errors="replace")

    assert listing[0] == 200
    assert b'"name":"cnn"' in listing[1]
    assert statuses == {raw_path: 404 for raw_path in raw_paths}
    assert f"serving {storage} at http://127.0.0.1:{port}/" in output
    assert TOKEN not in output
