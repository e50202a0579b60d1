"""Files and events full of direct PII go in; the lake (decoded Parquet and raw bytes), every
table of the serving DB and the captured logs are searched for the raw values: none is found."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.ingest import masking, service
from sightline.store.registry import load_metadata
from tests.conftest import PartnerKey
from tests.ingest.helpers import (
    make_account,
    make_consent,
    make_customer,
    make_event,
    make_txn,
    write_csv,
    write_ndjson,
)

FIRST, LAST, BUSINESS = "Zyxwanna", "Qorvath", "Qorvath Widgets LLC"
EMAIL, PHONE = "Zyx.Qorvath@pii-example.test", "555-867-5309"
STREET, SSN, BIRTH = "742 Evergreen Terrace", "987-65-4321", "1971-08-19"
ACCOUNT_NO, CARD = "0009876543210987", "4929 1234 5678 9012"
RAW = [
    FIRST,
    LAST,
    BUSINESS,
    EMAIL,
    EMAIL.lower(),
    PHONE,
    "5558675309",
    STREET,
    SSN,
    "987654321",
    BIRTH,
    ACCOUNT_NO,
    "9876543210987",
    CARD,
    "4929123456789012",
]
PII_CUSTOMER = {
    "first_name": FIRST,
    "last_name": LAST,
    "business_name": BUSINESS,
    "email": EMAIL,
    "phone": PHONE,
    "street_address": STREET,
    "ssn": SSN,
    "birth_date": BIRTH,
}


def _found(text: str) -> list[str]:
    low = text.lower()
    return [v for v in RAW if v.lower() in low]


def test_no_raw_pii_anywhere(
    tmp_path: Path,
    client: TestClient,
    context: AppContext,
    settings: Settings,
    acme: PartnerKey,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    ingest = service.ingest_path
    s, sess = settings, context.sessions
    customers = [
        make_customer(ucic="c1", **PII_CUSTOMER),
        # a bad row: quarantined rows must be masked too
        make_customer(ucic="c2", ucic_type="Z", **{**PII_CUSTOMER, "birth_date": "1971-13-45"}),
    ]
    assert (
        ingest(sess, s, "acme", "customers", write_csv(tmp_path / "c.csv", customers)).stored == 1
    )
    accounts = [
        make_account(account_number=ACCOUNT_NO),
        make_account(account_id="a9", account_number=ACCOUNT_NO, balance="x"),
    ]
    assert ingest(sess, s, "acme", "accounts", write_csv(tmp_path / "a.csv", accounts)).stored == 1
    txns = [make_txn(card_number=CARD), make_txn(txn_id="t2", card_number=CARD, amount="bad")]
    assert ingest(sess, s, "acme", "transactions", write_csv(tmp_path / "t.csv", txns)).stored == 1
    consents = [make_consent(contact=EMAIL), make_consent(channel="sms", contact=PHONE)]
    assert ingest(sess, s, "acme", "consents", write_csv(tmp_path / "k.csv", consents)).stored == 2
    attrs = {
        "email": EMAIL,
        "full_name": f"{FIRST} {LAST}",
        "note": f"call {PHONE}, card {CARD}",
        "ssn": SSN,
        "nested": {"home": {"street": STREET}},
    }
    events = [
        make_event(event_id="f1", attributes=attrs),
        make_event(event_id="f2", type="bad", attributes=attrs),
    ]
    assert (
        ingest(sess, s, "acme", "events", write_ndjson(tmp_path / "e.ndjson", events)).stored == 1
    )
    resp = client.post(
        "/ingest/v1/partners/acme/events",
        json={
            "events": [
                make_event(event_id="w1", attributes=attrs),
                make_event(event_id="w2", type="bad", attributes=attrs),
            ]
        },
        headers=acme.headers,
    )
    assert resp.status_code == 202 and resp.json()["accepted"] == 1
    assert _found(resp.text) == []  # rejections name fields, not PII
    assert service.flush_events(sess, s, "acme") is not None

    # 1. the lake, decoded and raw
    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    parquet = [p for p in files if p.suffix == ".parquet"]
    assert len(parquet) >= 6
    for path in parquet:
        table = pq.ParquetFile(path).read()
        assert _found(str(table.to_pylist())) == [], path
    for path in files:
        if path.suffix in (".db", ".db-wal", ".db-shm") or path.name.startswith("serving.db"):
            continue
        data = path.read_bytes().decode("latin-1")
        assert _found(data) == [], path
    # masked forms are there: tokens match the published keyed HMAC, last four digits kept
    key = masking.partner_key(settings.secret_key, "acme")
    lake_customer = (
        pq.ParquetFile(next(settings.lake_dir.glob("customers/*/*/*.parquet")))
        .read()
        .to_pylist()[0]
    )
    assert lake_customer["email_token"] == masking.token_of(key, EMAIL)
    assert lake_customer["birth_year"] == 1971
    assert not {"first_name", "last_name", "ssn", "street_address", "email"} & set(lake_customer)

    # 2. every table of the serving DB
    with context.engine.connect() as conn:
        for table in load_metadata().sorted_tables:
            rows = conn.execute(select(table)).fetchall()
            assert _found(str(rows)) == [], table.name

    # 3. the logs
    logged = "\n".join(r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records)
    captured = capsys.readouterr()
    assert _found(logged + captured.out + captured.err) == []
