"""Every route needs credentials; a key sees only its own partner."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.api.deps import PartnerId
from sightline.partners import service
from sightline.store import db
from tests.conftest import PartnerKey

probe = APIRouter()


@probe.get("/probe/v1/partners/{partner_id}/things")
def things(partner_id: PartnerId) -> dict[str, str]:
    return {"partner_id": partner_id}


@pytest.fixture
def app_client(context: AppContext, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    from sightline.api import app as app_module

    monkeypatch.setattr(app_module, "ROUTER_MODULES", [*app_module.ROUTER_MODULES, __name__])
    return TestClient(app_module.create_app(context=context))


router = probe


def test_token_flow(app_client: TestClient, acme: PartnerKey) -> None:
    resp = app_client.post("/auth/v1/token", auth=(acme.client_id, acme.secret))
    assert resp.status_code == 200
    body = resp.json()
    assert body["expires_in"] > 0
    ok = app_client.get(
        "/probe/v1/partners/acme/things", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert ok.status_code == 200
    assert ok.json() == {"partner_id": "acme"}


def test_bad_basic_credentials(app_client: TestClient, acme: PartnerKey) -> None:
    assert app_client.post("/auth/v1/token").status_code == 401
    assert app_client.post("/auth/v1/token", auth=(acme.client_id, "wrong")).status_code == 401


def test_no_credentials_is_401(app_client: TestClient, acme: PartnerKey) -> None:
    resp = app_client.get("/probe/v1/partners/acme/things")
    assert resp.status_code == 401
    assert resp.json()["code"] == "unauthorized"
    bad = app_client.get(
        "/probe/v1/partners/acme/things", headers={"Authorization": "Bearer sk_nope"}
    )
    assert bad.status_code == 401


def test_revoked_key_is_401(app_client: TestClient, acme: PartnerKey, context: AppContext) -> None:
    token = app_client.post("/auth/v1/token", auth=(acme.client_id, acme.secret)).json()["token"]
    with db.transaction(context.sessions) as s:
        service.revoke_key(s, acme.key_id)
    for credential in (acme.secret, token):
        resp = app_client.get(
            "/probe/v1/partners/acme/things", headers={"Authorization": f"Bearer {credential}"}
        )
        assert resp.status_code == 401


def test_other_partner_is_404_like_a_missing_one(
    app_client: TestClient, acme: PartnerKey, globex: PartnerKey
) -> None:
    foreign = app_client.get("/probe/v1/partners/globex/things", headers=acme.headers)
    missing = app_client.get("/probe/v1/partners/nobody/things", headers=acme.headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["error"] == ["Partner globex not found."]
    own = app_client.get("/probe/v1/partners/globex/things", headers=globex.headers)
    assert own.status_code == 200


def test_error_shape_request_id_and_no_secret_in_logs(
    app_client: TestClient, acme: PartnerKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    resp = app_client.get("/no/such/route", headers=acme.headers)
    assert resp.status_code == 404
    body = resp.json()
    assert set(body) == {"error", "code", "request_id"}
    assert resp.headers["x-request-id"] == body["request_id"]
    app_client.get("/probe/v1/partners/acme/things", headers=acme.headers)
    app_client.post("/auth/v1/token", auth=(acme.client_id, acme.secret))
    logged = "\n".join(r.getMessage() + str(getattr(r, "fields", "")) for r in caplog.records)
    assert "request" in logged
    assert acme.secret not in logged


def test_public_routes(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json()["status"] == "ok"
    spec = app_client.get("/openapi.json").json()
    assert "/auth/v1/token" in spec["paths"]
    assert app_client.get("/docs").status_code == 200
    echoed = app_client.get("/healthz", headers={"x-request-id": "abc12345-req"})
    assert echoed.headers["x-request-id"] == "abc12345-req"


def test_verified_credentials_are_cached_briefly(context: AppContext, acme: PartnerKey) -> None:
    """A verified key is trusted for auth_cache_seconds; after that a revocation is seen."""
    from sightline.api import app as app_module
    from sightline.api.context import CredentialCache

    context.credentials = CredentialCache(ttl=0.5)
    app = app_module.create_app(context=context)
    app.include_router(probe)  # authenticated through its PartnerId dependency
    client = TestClient(app)
    url = "/probe/v1/partners/acme/things"
    assert client.get(url, headers=acme.headers).status_code == 200
    with db.transaction(context.sessions) as s:
        service.revoke_key(s, acme.key_id)
    assert client.get(url, headers=acme.headers).status_code == 200  # still within the TTL
    time.sleep(0.6)
    assert client.get(url, headers=acme.headers).status_code == 401
    assert client.get(url, headers={"Authorization": "Bearer sk_wrong"}).status_code == 401


PUBLIC = {"/healthz", "/auth/v1/token", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_every_route_needs_credentials(context: AppContext) -> None:
    """Walks every route of the real app: without credentials each answers 401, except the
    deliberately public ones."""
    import re

    from fastapi.routing import iter_route_contexts

    from sightline.api import app as app_module

    client = TestClient(app_module.create_app(context=context))
    seen = 0
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        if route.path in PUBLIC:
            continue
        path = re.sub(r"\{partner_id\}", "acme", route.path or "")
        path = re.sub(r"\{[^}]+\}", "1", path)
        for method in route.methods or ():
            if method == "HEAD":
                continue
            resp = client.request(method, path)
            assert resp.status_code == 401, (method, route.path, resp.status_code)
            assert resp.headers["x-request-id"]
            seen += 1
    assert seen >= 20
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        if path not in PUBLIC:
            for operation in operations.values():
                assert operation["security"] == [{"HTTPBearer": []}], path
