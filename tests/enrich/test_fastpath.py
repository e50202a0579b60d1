"""The merchant route's pure-ASGI fast path answers exactly as the FastAPI route does, and leaves
every error to FastAPI (one error shape)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from sightline.api.context import AppContext
from sightline.enrich import service
from sightline.enrich.engine import Enricher
from sightline.partners import service as partners
from sightline.store import db
from tests.api.fastpath_parity import Twins, twins
from tests.conftest import PartnerKey
from tests.enrich.helpers import tiny_directory

URL = "/merchant/v1/partners/{}/merchant"


@pytest.fixture
def apps(
    context: AppContext, acme: PartnerKey, globex: PartnerKey, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Twins]:
    service.use_enricher(Enricher(tiny_directory(), kli_codes={"doordash": 8616777}))
    # transId is random per answer: make it repeatable so the two apps' bodies can be compared
    monkeypatch.setattr(service, "secrets", SimpleNamespace(token_hex=lambda n: "ab" * n))
    with twins(context, monkeypatch) as pair:
        yield pair
    service.use_enricher(None)


def body(description: str, **extra: object) -> dict[str, object]:
    return {"merchant_description": description, "trans_category": "pos", "trans_type": "debit"} | (
        extra
    )


def test_answers_are_byte_identical(apps: Twins, acme: PartnerKey) -> None:
    for payload in (
        body("DOORDASH*ZEEKS PIZZA 855-973-1040 CA"),
        body("  WELLS FARGO HOME MTG AUTO PAY  ", trans_type="credit", trans_category="olb"),
        body("SQ *BLUE BOTTLE COFFEE OAKLAND CA", mcc="5814", amount="12.50"),
        body("X", ignored_field=[1, 2]),
    ):
        (status, _, content), answered = apps.same(
            "POST", URL.format("acme"), json=payload, headers=acme.headers
        )
        assert status == 200 and answered, payload
        assert json.loads(content)["transId"] == "ab" * 12


def test_errors_come_from_fastapi(apps: Twins, acme: PartnerKey, globex: PartnerKey) -> None:
    plain = {"Content-Type": "text/plain", **acme.headers}
    cases: list[tuple[str, dict[str, object], int]] = [
        (URL.format("acme"), {"json": {"trans_category": "pos"}}, 400),
        (URL.format("acme"), {"json": body("X", trans_type="sideways")}, 400),
        (URL.format("acme"), {"json": body("X", mcc="12a")}, 400),
        (URL.format("acme"), {"json": [body("X")]}, 400),
        (URL.format("acme"), {"content": b'{"merchant_description": "X",'}, 400),
        (URL.format("acme"), {"content": b""}, 400),
        (URL.format("acme"), {"content": json.dumps(body("X")), "headers": plain}, 400),
        (URL.format("globex"), {"json": body("X")}, 404),  # another partner: as if missing
        (URL.format("nobody"), {"json": body("X")}, 404),
        (URL.format("acme") + "/", {"json": body("X")}, 307),  # FastAPI redirects
    ]
    for path, kwargs, expected in cases:
        headers = kwargs.pop("headers", acme.headers)
        (status, _, content), answered = apps.same("POST", path, headers=headers, **kwargs)
        assert (status, answered) == (expected, False), (path, kwargs)
        if status != 307:
            assert set(json.loads(content)) == {"error", "code", "request_id"}
    for headers in ({}, {"Authorization": "Bearer sk_nope"}, {"Authorization": "Basic x"}):
        (status, _, _), answered = apps.same(
            "POST", URL.format("acme"), json=body("X"), headers=headers
        )
        assert (status, answered) == (401, False)
    # a JSON media type FastAPI accepts but the fast path does not read itself: still answered
    charset = {"Content-Type": "application/json; charset=utf-8", **acme.headers}
    (status, _, _), answered = apps.same(
        "POST", URL.format("acme"), content=json.dumps(body("X")), headers=charset
    )
    assert (status, answered) == (200, False)


def test_revoked_key_and_tokens(apps: Twins, acme: PartnerKey, context: AppContext) -> None:
    token = apps.slow.post("/auth/v1/token", auth=(acme.client_id, acme.secret)).json()["token"]
    for credential in (acme.secret, token):
        (status, _, _), answered = apps.same(
            "POST",
            URL.format("acme"),
            json=body("X"),
            headers={"Authorization": f"Bearer {credential}"},
        )
        assert (status, answered) == (200, True)
    with db.transaction(context.sessions) as s:
        partners.revoke_key(s, acme.key_id)
    for credential in (acme.secret, token):
        (status, _, _), answered = apps.same(
            "POST",
            URL.format("acme"),
            json=body("X"),
            headers={"Authorization": f"Bearer {credential}"},
        )
        assert (status, answered) == (401, False)


def test_request_id_and_access_log(
    apps: Twins, acme: PartnerKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sightline.access")
    (_, headers, _), answered = apps.same(
        "POST", URL.format("acme"), json=body("X"), headers=acme.headers
    )
    assert answered and (b"x-request-id", b"parity-request-0001") in headers
    fields = [r.fields for r in caplog.records if r.name == "sightline.access"]  # type: ignore[attr-defined]
    assert len(fields) == 2
    for logged in fields:
        assert logged["route"] == "/merchant/v1/partners/{partner_id}/merchant"
        assert (logged["method"], logged["status"]) == ("POST", 200)


def test_dependency_overrides_turn_the_fast_path_off(apps: Twins, acme: PartnerKey) -> None:
    app = apps.fast.app
    app.dependency_overrides[service.enricher] = service.enricher  # type: ignore[attr-defined]
    (status, _, _), answered = apps.same(
        "POST", URL.format("acme"), json=body("X"), headers=acme.headers
    )
    assert (status, answered) == (200, False)
