"""``/merchant/v1``: response shape, 400s, partner scoping, batch limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from sightline.enrich import service
from sightline.enrich.engine import Enricher
from tests.conftest import PartnerKey
from tests.enrich.helpers import tiny_directory

URL = "/merchant/v1/partners/{}/merchant"
BATCH = "/merchant/v1/partners/{}/merchants"


@pytest.fixture(autouse=True)
def tiny_enricher() -> Iterator[Enricher]:
    engine = Enricher(tiny_directory(), kli_codes={"doordash": 8616777})
    service.use_enricher(engine)
    yield engine
    service.use_enricher(None)


def body(description: str, **extra: object) -> dict[str, object]:
    return {
        "merchant_description": description,
        "trans_category": "pos",
        "trans_type": "debit",
        **extra,
    }


def test_one_descriptor_established_shape_and_sightline_fields(
    client: TestClient, acme: PartnerKey
) -> None:
    resp = client.post(
        URL.format("acme"),
        json=body("DOORDASH*ZEEKS PIZZA 855-973-1040 CA", mcc="5812", amount="23.10"),
        headers=acme.headers,
    )
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["matchType"] == "EXACT" and got["matchScore"] == 1.0
    assert got["transType"] == "debit" and got["network"] == "CARD"
    assert isinstance(got["transId"], str) and len(got["transId"]) >= 16
    detail = got["matchDetail"]
    assert detail["cleansed"] == "DoorDash - Zeeks Pizza"
    assert detail["merchant"]["classification"] == "DoorDash"
    assert detail["merchant"]["logoUrl"] == "https://logo.example/doordash.png"
    assert detail["merchant"]["location"] == {
        "city": None,
        "state": "CA",
        "zip": None,
        "country": "US",
    }
    assert detail["category1"] == {"classification": "Food & Dining"}
    assert detail["category2"] == {"classification": "Food Delivery"}
    assert detail["mcc"] == {"classification": "Eating Places, Restaurants"}
    assert got["merchant_name"] == "DoorDash" and got["sub_merchant"] == "Zeeks Pizza"
    assert got["merchant_kli_code"] == 8616777
    assert got["transaction_kind"] == "card_purchase"
    assert got["match_type"] == "EXACT" and got["match_score"] == 1.0
    for name in ("pfc_primary", "pfc_detailed", "competitive_fi", "fi_product", "merchant_id"):
        assert name in got
    second = client.post(
        URL.format("acme"), json=body("DOORDASH*ZEEKS PIZZA"), headers=acme.headers
    ).json()
    assert second["transId"] != got["transId"]


def test_competing_institution_in_the_answer(client: TestClient, acme: PartnerKey) -> None:
    resp = client.post(
        URL.format("acme"),
        json=body("WELLS FARGO HOME MTG AUTO PAY", trans_category="olb"),
        headers=acme.headers,
    )
    got = resp.json()
    assert (got["competitive_fi"], got["competitive_fi_id"], got["fi_product"]) == (
        "Wells Fargo",
        "wells-fargo",
        "mortgage",
    )
    assert got["network"] == "ACH"
    assert got["matchDetail"]["category2"]["classification"] == "Mortgage Payment"


@pytest.mark.parametrize(
    ("payload", "messages"),
    [
        (
            {"trans_category": "pos", "trans_type": "debit"},
            ["Field merchant_description is required."],
        ),
        ({}, None),
        (
            {"merchant_description": "X", "trans_category": "atm", "trans_type": "debit"},
            None,
        ),
        (
            {
                "merchant_description": "X",
                "trans_category": "pos",
                "trans_type": "debit",
                "mcc": "12ab",
            },
            None,
        ),
        (
            {"merchant_description": "", "trans_category": "pos", "trans_type": "debit"},
            None,
        ),
    ],
)
def test_bad_input_is_400_with_error_list(
    client: TestClient, acme: PartnerKey, payload: dict[str, object], messages: list[str] | None
) -> None:
    resp = client.post(URL.format("acme"), json=payload, headers=acme.headers)
    assert resp.status_code == 400
    errors = resp.json()["error"]
    assert isinstance(errors, list) and errors
    if messages is not None:
        assert errors == messages
    assert all(e.startswith(("Field ", "Request body")) for e in errors)


def test_all_missing_fields_are_listed(client: TestClient, acme: PartnerKey) -> None:
    resp = client.post(URL.format("acme"), json={}, headers=acme.headers)
    assert resp.status_code == 400
    assert resp.json()["error"] == [
        "Field merchant_description is required.",
        "Field trans_category is required.",
        "Field trans_type is required.",
    ]
    bad_enum = client.post(
        URL.format("acme"), json=body("X", trans_type="both"), headers=acme.headers
    )
    assert bad_enum.json()["error"][0].startswith("Field trans_type:")
    not_json = client.post(
        URL.format("acme"),
        content=b"{nope",
        headers={**acme.headers, "content-type": "application/json"},
    )
    assert not_json.status_code == 400


def test_other_partner_is_404_and_no_credentials_401(
    client: TestClient, acme: PartnerKey, globex: PartnerKey
) -> None:
    assert (
        client.post(URL.format("globex"), json=body("X"), headers=acme.headers).status_code == 404
    )
    assert (
        client.post(URL.format("nobody"), json=body("X"), headers=acme.headers).status_code == 404
    )
    assert (
        client.post(
            BATCH.format("globex"), json={"items": [body("X")]}, headers=acme.headers
        ).status_code
        == 404
    )
    assert client.post(URL.format("acme"), json=body("X")).status_code == 401
    assert (
        client.post(URL.format("globex"), json=body("X"), headers=globex.headers).status_code == 200
    )


def test_batch_in_order_and_limit(client: TestClient, acme: PartnerKey) -> None:
    items = [
        body("STARBUCKS STORE 1234 SEATTLE WA"),
        body("CHECK 1043"),
        body("ZELLE TO MCDONALD ROSS"),
    ]
    resp = client.post(BATCH.format("acme"), json={"items": items}, headers=acme.headers)
    assert resp.status_code == 200
    got = resp.json()["items"]
    assert [g["merchant_name"] for g in got] == ["Starbucks", None, "Zelle"]
    assert [g["transaction_kind"] for g in got] == ["card_purchase", "check", "p2p"]
    full = client.post(
        BATCH.format("acme"),
        json={"items": [body(f"SHOP {i}") for i in range(1000)]},
        headers=acme.headers,
    )
    assert full.status_code == 200 and len(full.json()["items"]) == 1000
    over = client.post(
        BATCH.format("acme"), json={"items": [body("X")] * 1001}, headers=acme.headers
    )
    assert over.status_code == 400
    assert over.json()["error"][0].startswith("Field items:")
    empty = client.post(BATCH.format("acme"), json={"items": []}, headers=acme.headers)
    assert empty.status_code == 400
    bad_item = client.post(
        BATCH.format("acme"),
        json={"items": [body("X"), {"trans_category": "pos", "trans_type": "debit"}]},
        headers=acme.headers,
    )
    assert bad_item.json()["error"] == ["Field items.1.merchant_description is required."]


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/merchant/v1/partners/{partner_id}/merchant" in spec["paths"]
    assert "/merchant/v1/partners/{partner_id}/merchants" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert "matchDetail" in schemas["MerchantResponse"]["properties"]
