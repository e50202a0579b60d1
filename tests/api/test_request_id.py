"""Request ids: the caller's if it is a safe token, else a new UUID4 (hex)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient


def test_generated_request_ids_are_uuid4_hex(client: TestClient) -> None:
    seen = set()
    for _ in range(50):
        request_id = client.get("/healthz").headers["x-request-id"]
        parsed = uuid.UUID(hex=request_id)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, request_id)
        seen.add(request_id)
    assert len(seen) == 50


def test_a_safe_incoming_id_is_kept_and_an_unsafe_one_replaced(client: TestClient) -> None:
    kept = client.get("/healthz", headers={"X-Request-Id": "abc-123_DEF.9"})
    assert kept.headers["x-request-id"] == "abc-123_DEF.9"
    replaced = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert uuid.UUID(hex=replaced.headers["x-request-id"]).version == 4
