"""``sightline partners …`` / ``keys …`` and ``sightline serve`` as a user runs them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sightline import cli_support
from sightline.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    env = {
        "SIGHTLINE_ENV": "test",
        "SIGHTLINE_DATA_DIR": str(tmp_path / "data"),
        "SIGHTLINE_SECRET_KEY": "cli-test-secret-0123456789",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cli_support.settings.cache_clear()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield env
    cli_support.settings.cache_clear()


def test_partners_and_keys(cli_env: dict[str, str]) -> None:
    created = runner.invoke(app, ["partners", "create", "acme", "--name", "Acme CU"])
    assert created.exit_code == 0, created.output
    again = runner.invoke(app, ["partners", "create", "acme", "--name", "Acme CU"])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(app, ["partners", "create", "Not Valid", "--name", "x"])
    assert bad.exit_code == 2 and "partner_id" in bad.output and "Traceback" not in bad.output
    listed = json.loads(runner.invoke(app, ["partners", "list", "--json"]).output)
    assert [p["partner_id"] for p in listed] == ["acme"]

    made = runner.invoke(app, ["keys", "create", "--partner", "acme", "--json"])
    assert made.exit_code == 0, made.output
    key = json.loads(made.output)
    assert set(key) == {"key_id", "client_id", "secret"}
    shown = runner.invoke(app, ["keys", "list", "--partner", "acme"]).output
    assert key["key_id"][:8] in shown and key["secret"] not in shown
    assert runner.invoke(app, ["keys", "create", "--partner", "ghost"]).exit_code == 1
    assert runner.invoke(app, ["keys", "revoke", key["key_id"]]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "key_missing"]).exit_code == 1


def test_invalid_setting_stops_the_cli_naming_it(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGHTLINE_ENGINE", "oracle")
    cli_support.settings.cache_clear()
    result = runner.invoke(app, ["partners", "list"])
    assert result.exit_code == 2
    assert "SIGHTLINE_ENGINE" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_with_auth(cli_env: dict[str, str]) -> None:
    runner.invoke(app, ["partners", "create", "acme", "--name", "Acme CU"])
    key = json.loads(runner.invoke(app, ["keys", "create", "--partner", "acme", "--json"]).output)
    port = _free_port()
    env = {**os.environ, **cli_env, "SIGHTLINE_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sightline.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "sightline serve did not answer in 60 s"
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.2)
        token = httpx.post(f"{base}/auth/v1/token", auth=(key["client_id"], key["secret"]))
        assert token.status_code == 200
        assert httpx.get(f"{base}/kli/v1/partners/acme/kli_details").status_code == 401
        other = httpx.get(
            f"{base}/kli/v1/partners/globex/kli_details",
            headers={"Authorization": f"Bearer {token.json()['token']}"},
        )
        assert other.status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=30)
