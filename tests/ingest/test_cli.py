"""`sightline ingest`, `runs`, `watch --once`, `flush-events`, `alerts add`, `sftp add-key`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import asyncssh
import orjson
import pytest
from typer.testing import CliRunner

from sightline import cli_support
from sightline.api.context import AppContext
from sightline.cli import app
from sightline.config import Settings
from tests.conftest import PartnerKey
from tests.ingest.helpers import make_customer, make_txn, write_csv

runner = CliRunner()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SIGHTLINE_ENV", "test")
    monkeypatch.setenv("SIGHTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SIGHTLINE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("SIGHTLINE_SECRET_KEY", settings.secret_key)
    cli_support.settings.cache_clear()
    yield
    cli_support.settings.cache_clear()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ingest_prints_a_summary_and_exits_non_zero_when_nothing_stored(
    tmp_path: Path, context: AppContext, acme: PartnerKey, cli_env: None
) -> None:
    folder = tmp_path / "drop"
    write_csv(folder / "a_customers.csv", [make_customer()])
    result = runner.invoke(app, ["ingest", "customers", str(folder), "--partner", "acme"])
    assert result.exit_code == 0, result.output
    for word in ("read", "stored", "quarantined", "duplicate", "succeeded"):
        assert word in result.output
    txns = write_csv(tmp_path / "t.csv", [make_txn(), make_txn(txn_id="t2", amount="x")])
    ok = runner.invoke(app, ["ingest", "transactions", str(txns), "--partner", "acme", "--json"])
    assert ok.exit_code == 0
    assert orjson.loads(ok.output)[0]["stored"] == 1
    bad = write_csv(tmp_path / "bad.csv", [make_txn(txn_id="t9", amount="x")])
    failed = runner.invoke(app, ["ingest", "transactions", str(bad), "--partner", "acme"])
    assert failed.exit_code == 1 and "failed" in failed.output
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x00\x00")
    out = runner.invoke(app, ["ingest", "transactions", str(broken), "--partner", "acme"])
    assert out.exit_code == 1 and "binary" in out.output and "Traceback" not in out.output
    wrong_feed = runner.invoke(app, ["ingest", "nope", str(bad), "--partner", "acme"])
    assert wrong_feed.exit_code == 2
    no_partner = runner.invoke(app, ["ingest", "transactions", str(bad), "--partner", "ghost"])
    assert no_partner.exit_code == 1 and "not found" in no_partner.output
    runs = runner.invoke(app, ["runs", "--partner", "acme", "--json"])
    assert runs.exit_code == 0
    assert [r["status"] for r in orjson.loads(runs.output)] == [
        "failed",
        "failed",
        "partial",
        "succeeded",
    ]
    table = runner.invoke(app, ["runs", "--partner", "acme"])
    assert "partial" in table.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_watch_once_alerts_and_sftp_keys(
    tmp_path: Path, context: AppContext, settings: Settings, acme: PartnerKey, cli_env: None
) -> None:
    write_csv(settings.resolved_landing_dir / "acme" / "customers" / "c.csv", [make_customer()])
    monkey_stable = {"SIGHTLINE_WATCH_STABLE_SECONDS": "0"}
    result = runner.invoke(app, ["watch", "--once"], env=monkey_stable)
    cli_support.settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "c.csv: succeeded" in result.output and "archive/" in result.output
    assert runner.invoke(app, ["flush-events"]).output.strip() == "no events to flush"
    added = runner.invoke(app, ["alerts", "add", "http://127.0.0.1:9/x", "--partner", "acme"])
    assert added.exit_code == 0 and "whsec_" in added.output
    assert "127.0.0.1:9" in runner.invoke(app, ["alerts", "list", "--partner", "acme"]).output
    key = asyncssh.generate_private_key("ssh-ed25519")
    pub = tmp_path / "id.pub"
    pub.write_bytes(key.export_public_key("openssh"))
    ok = runner.invoke(app, ["sftp", "add-key", str(pub), "--partner", "acme"])
    assert ok.exit_code == 0 and "SHA256:" in ok.output
    again = runner.invoke(app, ["sftp", "add-key", str(pub), "--partner", "acme"])
    assert again.exit_code == 1 and "already" in again.output
