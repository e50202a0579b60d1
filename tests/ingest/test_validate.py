"""The rules compiled to DuckDB and evaluated in Python give the same messages; masking and the
formula-injection helper."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from sightline.ingest import masking
from sightline.ingest.safety import safe_cell, to_csv
from sightline.ingest.schemas import FEEDS, Masking
from sightline.ingest.validate import errors_sql, ok_terms_sql, rules_for, validate_record

BAD_VALUES: dict[str, list[str | None]] = {
    "txn_id": [None, "x" * 65, "t1"],
    "ucic": [None, "c1", "u" * 70],
    "member_id": [None, "m1"],
    "posted_at": ["2026-01-05", "2026-02-30", "05/01/2026", "2026-1-5", None],
    "amount": ["12.50", "12.505", "-1.00", "1e3", "12,50", "abc", None, "+3"],
    "direction": ["debit", "DEBIT", None],
    "channel": ["card", "teleport"],
    "mcc": ["5812", "58", "58121", "ab12", None],
    "description": ["X", None, "é" * 257],
    "card_number": ["4111 1111 1111 1111", None],
    "occurred_at": [
        "2026-01-05T10:00:00Z",
        "2026-01-05 10:00",
        "2026-01-05T25:00:00",
        "yesterday",
        "2026-01-05T10:00:00+05:30",
    ],
    "type": ["first_login", "nope"],
    "attributes": ['{"a":1}', "[1,2]", "{bad", None],
    "logins": ["3", "-1", "2.5", None],
    "open_date": ["2020-01-01"],
    "close_date": ["2019-12-31", "2020-01-02", None],
}


def _cases(feed: str) -> list[dict[str, Any]]:
    schema = FEEDS[feed]
    base: dict[str, Any] = {f.name: None for f in schema.fields}
    rows = []
    for name in schema.names:
        for value in BAD_VALUES.get(name, [None, "v"]):
            rows.append({**base, name: value})
    return rows


@pytest.mark.parametrize("feed", list(FEEDS))
def test_sql_and_python_rules_agree(feed: str) -> None:
    schema = FEEDS[feed]
    rows = _cases(feed)
    table = pa.table({n: pa.array([r[n] for r in rows], pa.string()) for n in schema.names})
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("t", table)
    sql_errors = [r[0] for r in con.execute(f"SELECT {errors_sql(schema)} FROM t").fetchall()]
    ok = " AND ".join(ok_terms_sql(schema))
    sql_ok = [r[0] for r in con.execute(f"SELECT {ok} FROM t").fetchall()]
    for row, sql, passed in zip(rows, sql_errors, sql_ok, strict=True):
        _, problems = validate_record(schema, row)
        assert "; ".join(problems) == sql, row
        assert passed == (sql == ""), row


@pytest.mark.parametrize("feed", list(FEEDS))
def test_arrow_kernels_agree_with_python_rules(feed: str) -> None:
    """The bulk path checks some rules with Arrow kernels: same verdict as the Python rule."""
    schema = FEEDS[feed]
    extra = ["+3", "-3", "3.", ".5", " 12", "12 ", "１２", "", "x\n", "5812\n", "ab"]
    extra += ["0000", "5812", "٤٤٤٤", "12a4", "+123", "１２３４"]  # 4-digit MCC lookalikes
    # lengths: more bytes than the limit but not more characters, and more of both
    extra += ["é" * n for n in (4, 5, 32, 64, 65, 128, 256, 257)] + ["a" * 300]
    checked = 0
    for rule in rules_for(schema):
        if rule.arrow_ok is None:
            continue
        values = [v for v in BAD_VALUES.get(rule.field, []) if v is not None] + extra
        got = rule.arrow_ok(pa.array(values, pa.string())).to_pylist()
        assert got == [rule.py_ok(v) for v in values], (rule.field, rule.message)
        short = ["1", "ab", None]  # every value short: the path that never decodes
        got = rule.arrow_ok(pa.array(short, pa.string())).to_pylist()
        assert got[:2] == [rule.py_ok(v) for v in short[:2]], (rule.field, rule.message)
        checked += 1
    assert checked > 0


def test_messages_never_quote_pii() -> None:
    schema = FEEDS["customers"]
    _, problems = validate_record(schema, {"ucic": "c1", "birth_date": "1971-13-45"})
    assert "birth_date: is not a date (YYYY-MM-DD)" in problems
    assert not any("1971-13-45" in p for p in problems)


def test_tokens_are_keyed_hmac_sha256_per_partner() -> None:
    key = masking.partner_key("s" * 32, "acme")
    assert key == hmac.new(b"s" * 32, b"sightline/pii/v1/acme", hashlib.sha256).digest()
    expected = hmac.new(key, b"ann@example.com", hashlib.sha256).hexdigest()[:32]
    assert masking.token_of(key, "  Ann@Example.com ") == expected
    assert masking.token_of(key, "4111-1111", Masking.LAST4) == masking.token(key, "41111111")
    assert masking.token_of(masking.partner_key("s" * 32, "globex"), "ann@example.com") != expected
    assert masking.tokens(key, ["ann@example.com"]) == [expected]
    long_key = b"L" * 100  # longer than SHA-256's block: hashed first, as RFC 2104 says
    assert masking.tokens(long_key, ["x", ""]) == [
        hmac.new(long_key, v, hashlib.sha256).hexdigest()[:32] for v in (b"x", b"")
    ]


def test_scrub_json_tokenises_pii_keys_and_shapes() -> None:
    key = b"k" * 32
    out = masking.scrub_json(
        key,
        {
            "email": "a@b.co",
            "profile": {"first_name": "Ann", "zip": "62701"},
            "note": "ring 555-123-4567 please",
            "amount": "100.00",
            "when": "2026-01-05T10:00:00Z",
            "ok": True,
        },
    )
    assert out["email"].startswith("tok_") and out["profile"]["first_name"].startswith("tok_")
    assert out["profile"]["zip"] == "62701" and out["amount"] == "100.00" and out["ok"] is True
    assert out["when"] == "2026-01-05T10:00:00Z"
    assert "555" not in out["note"] and out["note"].startswith("ring tok_")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=x", "'\t=x"),
        ("-12.50", "-12.50"),
        ("+33", "+33"),
        ("plain", "plain"),
        (12, 12),
        ("", ""),
    ],
)
def test_formula_injection_is_neutralised(value: Any, expected: Any) -> None:
    assert safe_cell(value) == expected


def test_to_csv_neutralises_every_cell() -> None:
    text = to_csv(["=h"], [["=1+1"], [None]])
    assert text.splitlines() == ["'=h", "'=1+1", '""'] or text.splitlines() == ["'=h", "'=1+1", ""]
