"""Bad input across the API answers a 4xx in the one error shape naming the field, never a 500
(SQLite and PostgreSQL); and a 500 that does happen carries its request id."""

from __future__ import annotations

import base64
import time

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from httpx import Response

from sightline.api.context import AppContext
from sightline.store import db
from sightline.store.models import Partner
from tests.conftest import PartnerKey
from tests.ingest.helpers import make_event
from tests.taxonomy.factories import Assignments, publish_demo

KLI = "/kli/v1/partners/acme"
INGEST = "/ingest/v1/partners/acme"
PRIVATE = KLI + "/private_klis"
TOO_BIG = str(2**63)

router = APIRouter()


@router.get("/boom/v1/fail")
def fail() -> None:
    raise RuntimeError("a bug")


@pytest.fixture
def truth(context: AppContext, acme: PartnerKey, globex: PartnerKey) -> Assignments:
    return publish_demo(context)


def assert_error(resp: Response, status: int, *words: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "code", "request_id"}
    for word in words:
        assert word in body["error"][0], body


def test_unexpected_error_carries_the_request_id(
    context: AppContext, acme: PartnerKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sightline.api import app as app_module

    monkeypatch.setattr(app_module, "ROUTER_MODULES", [*app_module.ROUTER_MODULES, __name__])
    client = TestClient(app_module.create_app(context=context), raise_server_exceptions=False)
    resp = client.get("/boom/v1/fail", headers={**acme.headers, "x-request-id": "req-0123456789"})
    assert resp.status_code == 500
    assert resp.json()["request_id"] == "req-0123456789"
    assert resp.headers["x-request-id"] == "req-0123456789"
    assert "a bug" not in resp.text


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        (KLI + "/ucics/%00/kli_assignments", {}, "ucic"),
        (KLI + "/ucics/a%00/kli_assignments/8616194/children", {}, "ucic"),
        (KLI + "/ucics/a%00/kli_assignments/8616194/evidence", {}, "ucic"),
        (KLI + "/kli_assignments/8616194/ucics", {"cursor": "a\x00"}, "cursor"),
        (INGEST + "/runs/%00", {}, "run_id"),
        (INGEST + "/runs", {"status": "\x00"}, "status"),
        (INGEST + "/ucics/%00/consents", {}, "ucic"),
    ],
)
def test_nul_in_a_path_or_query_value_is_400_naming_it(
    client: TestClient, acme: PartnerKey, truth: Assignments, path: str, params: dict, field: str
) -> None:
    assert_error(client.get(path, params=params, headers=acme.headers), 400, f"Field {field} ")


def test_nul_check_comes_after_the_partner_check(
    client: TestClient, acme: PartnerKey, globex: PartnerKey
) -> None:
    resp = client.get("/kli/v1/partners/globex/ucics/%00/kli_assignments", headers=acme.headers)
    assert_error(resp, 404, "Partner globex")


def test_private_kli_code_beyond_the_range_is_404(client: TestClient, acme: PartnerKey) -> None:
    assert_error(client.get(f"{PRIVATE}/{TOO_BIG}", headers=acme.headers), 404, TOO_BIG)
    assert_error(client.delete(f"{PRIVATE}/{TOO_BIG}", headers=acme.headers), 404, TOO_BIG)


@pytest.mark.parametrize("cursor", ["9" * 20, "²", "٣"])
def test_private_kli_cursor_that_is_not_a_code_is_400(
    client: TestClient, acme: PartnerKey, cursor: str
) -> None:
    resp = client.get(PRIVATE, params={"cursor": cursor}, headers=acme.headers)
    assert_error(resp, 400, "Field cursor")


@pytest.mark.parametrize("field", ["name", "description"])
def test_private_kli_text_with_nul_is_400(client: TestClient, acme: PartnerKey, field: str) -> None:
    body = {"name": "Mortgage", "description": "", "expression": "kli(8616201)", field: "a\x00b"}
    resp = client.post(PRIVATE, json=body, headers=acme.headers)
    assert_error(resp, 400, f"Field {field}", "NUL")
    assert client.get(PRIVATE, headers=acme.headers).json()["items"] == []


@pytest.mark.parametrize("cursor", ["9" * 30, "²"])
def test_quarantine_cursor_that_is_not_a_row_id_is_400(
    client: TestClient, acme: PartnerKey, cursor: str
) -> None:
    client.post(f"{INGEST}/files/transactions", content=b"", headers=acme.headers)
    run_id = client.get(f"{INGEST}/runs", headers=acme.headers).json()["items"][0]["run_id"]
    resp = client.get(
        f"{INGEST}/runs/{run_id}/quarantine", params={"cursor": cursor}, headers=acme.headers
    )
    assert_error(resp, 400, "Field cursor")


SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.mark.parametrize("signature", ["v1,abcde", "garbage", "v1,a,b"])
def test_malformed_webhook_signature_is_401(
    client: TestClient, context: AppContext, acme: PartnerKey, signature: str
) -> None:
    with db.transaction(context.sessions) as s:
        partner = s.get(Partner, "acme")
        assert partner is not None
        partner.webhook_secret = SECRET
    headers = {
        **acme.headers,
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": signature,
    }
    resp = client.post(f"{INGEST}/events", json=make_event(), headers=headers)
    assert_error(resp, 401, "webhook-signature")
    binary = client.post(f"{INGEST}/events", content=b"\xff\xfe", headers=headers)
    assert_error(binary, 400, "JSON")


@pytest.mark.parametrize("name", [".", "..", "/", "a/..", "x" * 300])
def test_upload_file_name_that_names_no_file_is_400(
    client: TestClient, acme: PartnerKey, name: str
) -> None:
    raw = client.post(
        f"{INGEST}/files/transactions",
        params={"filename": name},
        content=b"a,b\n",
        headers=acme.headers,
    )
    assert_error(raw, 400, "Field filename")
    multipart = client.post(
        f"{INGEST}/files/transactions", files={"file": (name, b"a,b\n")}, headers=acme.headers
    )
    assert_error(multipart, 400, "Field file.filename")
    assert client.get(f"{INGEST}/runs", headers=acme.headers).json()["items"] == []


def test_openapi_documents_400_never_fastapis_422(client: TestClient) -> None:
    """Bad input is answered 400 with the one error shape: the spec says so, and a request
    FastAPI refuses (a non-integer path code) gets exactly that."""
    spec = client.get("/openapi.json").json()
    operations = [op for ops in spec["paths"].values() for op in ops.values()]
    assert not [op["operationId"] for op in operations if "422" in op.get("responses", {})]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    with_params = [op for op in operations if op.get("parameters") or op.get("requestBody")]
    assert with_params and all("400" in op["responses"] for op in with_params)
    error = spec["paths"]["/kli/v1/partners/{partner_id}/kli_details/{kli_code}"]["get"]
    assert error["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
