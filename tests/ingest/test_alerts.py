"""Alerts: a failed run or too much quarantine is logged and POSTed, signed, to a real HTTP
receiver on loopback."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest import service
from sightline.ingest.alerts import add_webhook
from sightline.store import db
from tests.conftest import PartnerKey
from tests.ingest.helpers import make_txn, write_csv


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                received.append(
                    ({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length))
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def test_quarantine_share_and_failed_runs_alert(
    tmp_path: Path,
    context: AppContext,
    settings: Settings,
    customers: service.RunSummary,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with db.transaction(context.sessions) as s:
        hook = add_webhook(s, "acme", receiver.url)
        secret = hook.secret
    fine = write_csv(
        tmp_path / "ok.csv",
        [make_txn(txn_id=f"t{i}") for i in range(40)] + [make_txn(txn_id="x", amount="bad")],
    )
    assert (
        service.ingest_path(context.sessions, settings, "acme", "transactions", fine).quarantined
        == 1
    )
    assert receiver.received == []  # 1/41 < 5 %
    rows = [make_txn(txn_id=f"u{i}") for i in range(5)] + [make_txn(txn_id="y", amount="bad")]
    with caplog.at_level(logging.ERROR, logger="sightline.ingest.alerts"):
        summary = service.ingest_path(
            context.sessions, settings, "acme", "transactions", write_csv(tmp_path / "q.csv", rows)
        )
    assert summary.status == "partial"
    assert any(r.getMessage() == "ingest alert" for r in caplog.records)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x00\x01")
    service.ingest_path(context.sessions, settings, "acme", "transactions", broken)
    assert len(receiver.received) == 2
    for headers, body in receiver.received:
        Webhook(secret).verify(body, headers)  # raises when the signature is wrong
    first = orjson.loads(receiver.received[0][1])
    assert first["type"] == "ingest.run.alert"
    assert first["data"]["run_id"] == summary.run_id and "16.7%" in first["data"]["reason"]
    second = orjson.loads(receiver.received[1][1])
    assert second["data"]["status"] == "failed" and "binary" in second["data"]["reason"]


def test_alert_webhook_validation(context: AppContext, acme: PartnerKey) -> None:
    with db.transaction(context.sessions) as s, pytest.raises(Exception, match="http"):
        add_webhook(s, "acme", "ftp://x")
    with db.transaction(context.sessions) as s, pytest.raises(Exception, match="whsec_"):
        add_webhook(s, "acme", "http://x", "nope")
