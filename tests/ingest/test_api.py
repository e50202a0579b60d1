"""The ingestion API over real HTTP handling (TestClient): event webhooks with Standard Webhooks
signatures, file uploads, runs and quarantine pages, consents, error shapes."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest import service
from sightline.store import db
from sightline.store.models import Partner
from tests.conftest import PartnerKey
from tests.ingest.helpers import lake_rows, make_consent, make_event, make_txn, write_csv

EVENTS = "/ingest/v1/partners/acme/events"
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def signed(body: str, *, secret: str = SECRET, at: datetime | None = None) -> dict[str, str]:
    at = at or datetime.now(UTC)
    msg_id = "msg_" + secrets.token_hex(8)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
        "content-type": "application/json",
    }


def set_secret(context: AppContext, secret: str | None) -> None:
    with db.transaction(context.sessions) as s:
        partner = s.get(Partner, "acme")
        assert partner is not None
        partner.webhook_secret = secret


def test_single_and_batch_events_with_duplicates_and_rejections(
    client: TestClient, context: AppContext, settings: Settings, acme: PartnerKey
) -> None:
    one = client.post(EVENTS, json=make_event(), headers=acme.headers)
    assert one.status_code == 202
    assert one.json() == {"accepted": 1, "duplicate": 0, "rejected": []}
    batch = {
        "events": [
            make_event(),  # seen before
            make_event(event_id="e2", type="first_login"),
            make_event(event_id="e2", type="first_login"),  # twice in the batch
            make_event(event_id="e3", type="teleported"),
            make_event(event_id="e4", ucic=None),
            "not an object",
        ]
    }
    resp = client.post(EVENTS, json=batch, headers=acme.headers)
    assert resp.status_code == 202
    body = resp.json()
    assert (body["accepted"], body["duplicate"]) == (1, 2)
    rejected = {r["index"]: r for r in body["rejected"]}
    assert set(rejected) == {3, 4, 5}
    assert rejected[3]["event_id"] == "e3" and "type" in rejected[3]["errors"][0]
    assert rejected[4]["errors"] == ["ucic or member_id: one of them is required"]
    # durably stored before the 202, then flushed to the lake once
    summary = service.flush_events(context.sessions, settings, "acme")
    assert summary is not None and (summary.stored, summary.source) == (2, "webhook")
    assert service.flush_events(context.sessions, settings, "acme") is None
    assert sorted(r["event_id"] for r in lake_rows(settings.lake_dir, "events")) == ["e1", "e2"]
    # re-posting after the flush is still a duplicate
    again = client.post(EVENTS, json=make_event(), headers=acme.headers)
    assert again.json()["duplicate"] == 1


def test_limits_are_413_with_the_error_shape(client: TestClient, acme: PartnerKey) -> None:
    too_many = {"events": [make_event(event_id=f"e{i}") for i in range(1001)]}
    resp = client.post(EVENTS, json=too_many, headers=acme.headers)
    assert resp.status_code == 413
    assert resp.json()["code"] == "payload_too_large" and "1000" in resp.json()["error"][0]
    big = {"events": [make_event(attributes={"x": "y" * 1_100_000})]}
    resp = client.post(EVENTS, content=json.dumps(big), headers=acme.headers)
    assert resp.status_code == 413
    assert set(resp.json()) >= {"error", "code", "request_id"}
    bad = client.post(EVENTS, content=b"{nope", headers=acme.headers)
    assert bad.status_code == 400 and bad.json()["error"] == ["Request body is not valid JSON."]


def test_signature_required_when_partner_has_a_secret(
    client: TestClient, context: AppContext, acme: PartnerKey
) -> None:
    set_secret(context, SECRET)
    body = json.dumps(make_event())
    ok = client.post(EVENTS, content=body, headers={**acme.headers, **signed(body)})
    assert ok.status_code == 202, ok.text
    unsigned = client.post(EVENTS, content=body, headers=acme.headers)
    assert unsigned.status_code == 401
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    wrong = client.post(
        EVENTS, content=body, headers={**acme.headers, **signed(body, secret=other)}
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"
    stale_at = datetime.now(UTC) - timedelta(minutes=6)
    stale = client.post(EVENTS, content=body, headers={**acme.headers, **signed(body, at=stale_at)})
    assert stale.status_code == 401
    tampered_headers = {**acme.headers, **signed(body)}
    tampered = client.post(EVENTS, content=body.replace("e1", "e9"), headers=tampered_headers)
    assert tampered.status_code == 401
    # and the bearer key is still required
    assert client.post(EVENTS, content=body, headers=signed(body)).status_code == 401


def test_other_partner_is_404(client: TestClient, acme: PartnerKey, globex: PartnerKey) -> None:
    resp = client.post(EVENTS, json=make_event(), headers=globex.headers)
    assert resp.status_code == 404
    assert client.get("/ingest/v1/partners/acme/runs", headers=globex.headers).status_code == 404


def test_upload_runs_pages_and_quarantine_csv(
    tmp_path: Path,
    client: TestClient,
    context: AppContext,
    settings: Settings,
    customers: service.RunSummary,
    acme: PartnerKey,
) -> None:
    rows = [make_txn(), make_txn(txn_id="t2", description="=HYPERLINK(1)", channel="nope")]
    data = write_csv(tmp_path / "t.csv", rows).read_bytes()
    up = client.post(
        "/ingest/v1/partners/acme/files/transactions",
        files={"file": ("t.csv", data, "text/csv")},
        headers=acme.headers,
    )
    assert up.status_code == 200, up.text
    run = up.json()
    assert (run["status"], run["rows_stored"], run["rows_quarantined"]) == ("partial", 1, 1)
    assert run["source"] == "upload:t.csv"
    raw = client.post(
        "/ingest/v1/partners/acme/files/transactions?filename=t.csv",
        content=data,
        headers=acme.headers,
    )
    assert raw.json()["status"] == "skipped"
    broken = client.post(
        "/ingest/v1/partners/acme/files/transactions?filename=x.csv",
        content=b"a;b;c\n1;2;3\n",
        headers=acme.headers,
    )
    assert broken.status_code == 400 and "delimiter" in broken.json()["error"][0]
    bad_feed = client.post(
        "/ingest/v1/partners/acme/files/nope", content=data, headers=acme.headers
    )
    assert bad_feed.status_code == 400
    page1 = client.get("/ingest/v1/partners/acme/runs?limit=2", headers=acme.headers).json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = client.get(
        f"/ingest/v1/partners/acme/runs?limit=2&cursor={page1['next_cursor']}",
        headers=acme.headers,
    ).json()
    ids = [r["run_id"] for r in page1["items"] + page2["items"]]
    assert len(ids) == len(set(ids)) == 4 and ids == sorted(ids, reverse=True)
    assert page2["next_cursor"] is None
    q = client.get(
        f"/ingest/v1/partners/acme/runs/{run['run_id']}/quarantine", headers=acme.headers
    ).json()
    assert [(i["line"], i["field"]) for i in q["items"]] == [(3, "channel")]
    csv_resp = client.get(
        f"/ingest/v1/partners/acme/runs/{run['run_id']}/quarantine?format=csv",
        headers=acme.headers,
    )
    assert csv_resp.headers["content-type"].startswith("text/csv")
    lines = csv_resp.text.splitlines()
    assert lines[0].startswith("line,field,reason,txn_id,ucic")
    assert ",'=HYPERLINK(1)," in lines[1]
    one = client.get(f"/ingest/v1/partners/acme/runs/{run['run_id']}", headers=acme.headers)
    assert one.json()["run_id"] == run["run_id"]
    missing = client.get("/ingest/v1/partners/acme/runs/run_nope", headers=acme.headers)
    assert missing.status_code == 404


def test_consents_endpoint(
    tmp_path: Path,
    client: TestClient,
    context: AppContext,
    settings: Settings,
    customers: service.RunSummary,
    acme: PartnerKey,
) -> None:
    path = write_csv(
        tmp_path / "c.csv",
        [make_consent(), make_consent(status="revoked", changed_at="2026-01-08T00:00:00Z")],
    )
    service.ingest_path(context.sessions, settings, "acme", "consents", path)
    body = client.get("/ingest/v1/partners/acme/ucics/c1/consents", headers=acme.headers).json()
    assert [c["status"] for c in body["current"]] == ["revoked"]
    assert [c["status"] for c in body["history"]] == ["granted", "revoked"]


@pytest.mark.parametrize("flag", [True, False])
def test_serve_runs_the_watcher_only_when_enabled(
    context: AppContext, settings: Settings, flag: bool
) -> None:
    from sightline.api.app import create_app

    ctx = AppContext(
        settings=settings.model_copy(update={"watch_landing": flag}),
        engine=context.engine,
        sessions=context.sessions,
    )
    app = create_app(context=ctx)
    with TestClient(app):
        assert (getattr(app.state, "ingest_watch_task", None) is not None) is flag
    assert Settings(env="test").watch_landing_enabled is False
    assert Settings(env="development").watch_landing_enabled is True


@pytest.mark.parametrize("occurred_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_event_time_outside_utc_range_is_rejected_and_the_rest_flush(
    client: TestClient, context: AppContext, settings: Settings, acme: PartnerKey, occurred_at: str
) -> None:
    """A timestamp whose UTC value falls outside years 1-9999 is refused with the event (it
    used to be accepted, then failed every flush of the partner, good events included)."""
    batch = {"events": [make_event(event_id="bad", occurred_at=occurred_at), make_event()]}
    resp = client.post(EVENTS, json=batch, headers=acme.headers)
    assert resp.status_code == 202
    body = resp.json()
    assert body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [0]
    assert "occurred_at" in body["rejected"][0]["errors"][0]
    assert service.flush_events(context.sessions, settings, "acme") is not None


def test_event_text_with_nul_is_rejected_alone(
    client: TestClient, context: AppContext, settings: Settings, acme: PartnerKey
) -> None:
    """NUL in a text field rejects that event only (PostgreSQL cannot store it: the whole
    batch used to fail with a 500 there)."""
    # inside a JSON object a NUL stays an escape (\u0000) in the stored text: accepted
    nested = make_event(event_id="e9", attributes={"note": "a\x00b"})
    batch = {"events": [make_event(event_id="a\x00b"), make_event(), nested]}
    resp = client.post(EVENTS, json=batch, headers=acme.headers)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [0]
    assert "event_id" in body["rejected"][0]["errors"][0]
    assert service.flush_events(context.sessions, settings, "acme") is not None


def test_unreadable_parquet_upload_does_not_show_server_paths(
    client: TestClient, settings: Settings, acme: PartnerKey
) -> None:
    resp = client.post(
        "/ingest/v1/partners/acme/files/transactions",
        params={"filename": "broken.parquet"},
        content=b"PAR1" + b"\x00" * 64 + b"PAR1",
        headers=acme.headers,
    )
    assert resp.status_code == 400, resp.text
    text = resp.text
    assert "Parquet" in text and "broken.parquet" in text
    assert str(settings.data_dir) not in text and "/tmp" not in text


@pytest.mark.parametrize("secret", ["whsec_", "whsec_!!!not-base64"])
def test_an_unusable_stored_webhook_secret_is_a_clear_401(
    client: TestClient, context: AppContext, acme: PartnerKey, secret: str
) -> None:
    set_secret(context, secret)
    body = json.dumps(make_event())
    resp = client.post(EVENTS, content=body, headers={**acme.headers, **signed(body)})
    assert resp.status_code == 401, resp.text
    assert "webhook secret" in resp.json()["error"][0]
