"""The one-customer KLI lookup's pure-ASGI fast path answers exactly as the FastAPI route does,
never crosses partners, and leaves every error to FastAPI (one error shape)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from sightline.api.context import AppContext
from sightline.partners import service as partners
from sightline.store import db
from tests.api.fastpath_parity import Twins, twins
from tests.conftest import PartnerKey
from tests.taxonomy.factories import MERCHANTS, VIP, Assignments, publish_demo

P = "/kli/v1/partners/{}/ucics/{}/kli_assignments"


@pytest.fixture
def truth(context: AppContext, acme: PartnerKey, globex: PartnerKey) -> Assignments:
    return publish_demo(context)


@pytest.fixture
def apps(
    context: AppContext, truth: Assignments, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Twins]:
    with twins(context, monkeypatch) as pair:
        yield pair


def test_answers_are_byte_identical(
    apps: Twins, acme: PartnerKey, globex: PartnerKey, truth: Assignments
) -> None:
    for ucic in ("a00", "a01", "a03", "a05", "a29"):
        (status, _, content), answered = apps.same(
            "GET", P.format("acme", ucic), headers=acme.headers
        )
        assert status == 200 and answered, ucic
        codes = [item["kli_code"] for item in json.loads(content)["items"]]
        assert codes == sorted(truth.codes_of(ucic))
    private = json.loads(apps.same("GET", P.format("acme", "a05"), headers=acme.headers)[0][2])
    assert any(
        item["kli_code"] == VIP and item["kli_class"] == "PRIVATE" for item in private["items"]
    )
    (status, _, content), answered = apps.same(
        "GET", P.format("globex", "b0"), headers=globex.headers
    )
    assert status == 200 and answered
    assert [i["kli_code"] for i in json.loads(content)["items"]] == [MERCHANTS["target"]]


def test_a_key_never_sees_another_partners_customers(
    apps: Twins, acme: PartnerKey, globex: PartnerKey
) -> None:
    for path, key in (
        (P.format("acme", "b0"), acme),  # globex's customer under acme's own path
        (P.format("globex", "b0"), acme),  # globex's path with acme's key
        (P.format("globex", "a00"), acme),
        (P.format("acme", "a00"), globex),
        (P.format("globex", "a00"), globex),  # acme's customer under globex's own path
        (P.format("nobody", "a00"), acme),
        (P.format("acme", "nobody"), acme),
    ):
        (status, _, content), answered = apps.same("GET", path, headers=key.headers)
        assert (status, answered) == (404, False), (path, key.partner_id)
        assert set(json.loads(content)) == {"error", "code", "request_id"}


def test_other_requests_come_from_fastapi(
    apps: Twins, acme: PartnerKey, context: AppContext
) -> None:
    path = P.format("acme", "a00")
    for params, expected in (
        ({"limit": 2}, 200),
        ({"limit": 0}, 400),
        ({"cursor": "x"}, 400),
        ({"limit": 2, "cursor": "1"}, 200),
    ):
        (status, _, _), answered = apps.same("GET", path, params=params, headers=acme.headers)
        assert (status, answered) == (expected, False), params
    for method in ("HEAD", "POST", "DELETE"):
        (status, _, _), answered = apps.same(method, path, headers=acme.headers)
        assert not answered and status in (200, 405), method
    (status, _, _), answered = apps.same("GET", path + "/", headers=acme.headers)
    assert not answered and status == 307
    for headers in ({}, {"Authorization": "Bearer sk_nope"}, {"Authorization": "Token x"}):
        (status, _, _), answered = apps.same("GET", path, headers=headers)
        assert (status, answered) == (401, False)
    token = apps.slow.post("/auth/v1/token", auth=(acme.client_id, acme.secret)).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert apps.same("GET", path, headers=bearer)[1] is True
    with db.transaction(context.sessions) as s:
        partners.revoke_key(s, acme.key_id)
    for headers in (bearer, acme.headers):
        (status, _, _), answered = apps.same("GET", path, headers=headers)
        assert (status, answered) == (401, False)


def test_request_id_and_access_log(
    apps: Twins, acme: PartnerKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sightline.access")
    (_, headers, _), answered = apps.same("GET", P.format("acme", "a00"), headers=acme.headers)
    assert answered and (b"x-request-id", b"parity-request-0001") in headers
    fields = [r.fields for r in caplog.records if r.name == "sightline.access"]  # type: ignore[attr-defined]
    assert len(fields) == 2
    for logged in fields:
        assert logged["route"] == "/kli/v1/partners/{partner_id}/ucics/{ucic}/kli_assignments"
        assert (logged["method"], logged["status"]) == ("GET", 200)
