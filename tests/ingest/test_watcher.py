"""The landing-folder watcher: only complete files, customers first, archive/failed with a
reason file, events flushed on each scan."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest.watcher import WatchState, ensure_layout, ready_files, scan_once
from tests.conftest import PartnerKey
from tests.ingest.helpers import lake_count, make_customer, make_event, make_txn, write_csv


def age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_scan_ingests_complete_files_and_moves_them(
    context: AppContext, settings: Settings, acme: PartnerKey
) -> None:
    root = ensure_layout(settings, "acme")
    txns = write_csv(root / "transactions" / "t.csv", [make_txn(), make_txn(txn_id="t2")])
    custs = write_csv(root / "customers" / "c.csv", [make_customer()])
    bad = root / "accounts" / "broken.csv"
    bad.write_text("a;b\n1;2\n")
    partial = write_csv(root / "transactions" / "big.csv.part", [make_txn(txn_id="t9")])
    hidden = write_csv(root / "transactions" / ".uploading.csv", [make_txn(txn_id="t8")])
    fresh = write_csv(root / "transactions" / "fresh.csv", [make_txn(txn_id="t7")])
    for p in (txns, custs, bad, partial, hidden):
        age(p, 60)
    landed = scan_once(context.sessions, settings, stable_seconds=30)
    by_name = {x.path.name: x for x in landed}
    assert set(by_name) == {"c.csv", "t.csv", "broken.csv"}
    assert landed[0].path.name == "c.csv"  # customers before the feeds using them
    assert by_name["t.csv"].summary.stored == 2  # ucic c1 known: customers went first
    assert by_name["t.csv"].moved_to == root / "transactions" / "archive" / "t.csv"
    reason = (root / "transactions" / "archive" / "t.csv.reason.txt").read_text()
    assert "status: succeeded" in reason and "stored: 2" in reason
    assert by_name["broken.csv"].moved_to == root / "accounts" / "failed" / "broken.csv"
    failed_reason = (root / "accounts" / "failed" / "broken.csv.reason.txt").read_text()
    assert "delimiter" in failed_reason
    # untouched: still being written, temporary names
    assert partial.exists() and hidden.exists() and fresh.exists()
    assert lake_count(settings.lake_dir, "transactions") == 2
    # the same content dropped again is archived as already ingested
    again = write_csv(root / "transactions" / "t.csv", [make_txn(), make_txn(txn_id="t2")])
    age(again, 60)
    second = scan_once(context.sessions, settings, stable_seconds=30)
    assert [x.summary.status for x in second] == ["skipped"]
    assert second[0].moved_to.name.endswith("-t.csv")  # no clobbering in archive/


def test_a_growing_file_waits_for_a_stable_size(
    context: AppContext, settings: Settings, acme: PartnerKey
) -> None:
    root = ensure_layout(settings, "acme")
    path = write_csv(root / "customers" / "c.csv", [make_customer()])
    age(path, 60)
    state = WatchState()
    # first sighting: remembered, not ingested
    assert ready_files(settings.resolved_landing_dir, {"acme"}, state=state, stable_seconds=1) == []
    with path.open("a") as fh:
        fh.write("c2,m2,I,,,,,,,,,,,,2020-01-01,,2026-01-31\n")
    age(path, 60)
    assert ready_files(settings.resolved_landing_dir, {"acme"}, state=state, stable_seconds=1) == []
    ready = ready_files(settings.resolved_landing_dir, {"acme"}, state=state, stable_seconds=1)
    assert [p.name for _, _, p in ready] == ["c.csv"]
    # unknown partner folders are left alone
    other = write_csv(
        settings.resolved_landing_dir / "ghost" / "customers" / "c.csv", [make_customer()]
    )
    age(other, 60)
    assert scan_once(context.sessions, settings, stable_seconds=0) != []
    assert other.exists()


def test_scan_flushes_webhook_events(
    client: TestClient, context: AppContext, settings: Settings, acme: PartnerKey
) -> None:
    resp = client.post(
        "/ingest/v1/partners/acme/events",
        json={"events": [make_event(), make_event(event_id="e2")]},
        headers=acme.headers,
    )
    assert resp.json()["accepted"] == 2
    assert lake_count(settings.lake_dir, "events") == 0
    scan_once(context.sessions, settings, stable_seconds=0)
    assert lake_count(settings.lake_dir, "events") == 2
