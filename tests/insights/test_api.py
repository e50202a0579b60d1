"""The /kli/v1 API against a published, realistic assignment table (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.taxonomy import (
    COMPETITIVE_BANKS,
    COMPETITIVE_FI_PRODUCTS,
    CONSUMER_MORTGAGE_LOAN,
    CONSUMER_SPEND,
    code_for,
    load_taxonomy,
)
from tests.conftest import PartnerKey
from tests.taxonomy.factories import (
    CHECKING,
    COFFEE,
    HELD_AWAY,
    MERCHANTS,
    VIP,
    Assignments,
    publish_demo,
)

P = "/kli/v1/partners/acme"


@pytest.fixture
def truth(context: AppContext, acme: PartnerKey, globex: PartnerKey) -> Assignments:
    return publish_demo(context)


def get(client: TestClient, key: PartnerKey, path: str, **params: object) -> dict:
    resp = client.get(path, headers=key.headers, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def all_pages(client: TestClient, key: PartnerKey, path: str, **params: object) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(1000):
        body = get(client, key, path, **params, **({"cursor": cursor} if cursor else {}))
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def test_one_customer_all_assignments(
    client: TestClient, acme: PartnerKey, truth: Assignments
) -> None:
    body = get(client, acme, f"{P}/ucics/a00/kli_assignments")
    assert body["next_cursor"] is None
    codes = [i["kli_code"] for i in body["items"]]
    assert codes == sorted(truth.codes_of("a00"))
    mortgage = next(i for i in body["items"] if i["kli_code"] == CONSUMER_MORTGAGE_LOAN)
    assert mortgage == {
        "kli_code": CONSUMER_MORTGAGE_LOAN,
        "kli_name": "Consumer Mortgage Loan",
        "parent_kli_code": code_for("branch:fi_products"),
        "kli_class": "PUBLIC",
        "kli_is_competitive": "N",
        "kli_is_leaf": "Y",
        "first_assigned": "2026-11-20",
        "last_assigned": "2026-11-20",
        "strength": 0.9,
    }
    paged = all_pages(client, acme, f"{P}/ucics/a00/kli_assignments", limit=2)
    assert [i["kli_code"] for i in paged] == codes
    private = get(client, acme, f"{P}/ucics/a05/kli_assignments")["items"]
    assert {"kli_code": VIP, "kli_class": "PRIVATE"}.items() <= private[-1].items()


def test_errors_and_partner_isolation(
    client: TestClient, acme: PartnerKey, globex: PartnerKey, truth: Assignments
) -> None:
    missing = client.get(f"{P}/ucics/nobody/kli_assignments", headers=acme.headers)
    assert missing.status_code == 404
    assert set(missing.json()) == {"error", "code", "request_id"}
    # globex's key cannot see acme, and acme's customers are not globex's
    assert client.get(f"{P}/ucics/a00/kli_assignments", headers=globex.headers).status_code == 404
    other = "/kli/v1/partners/globex/ucics/a00/kli_assignments"
    assert client.get(other, headers=globex.headers).status_code == 404
    assert client.get(f"{P}/kli_details/{VIP}", headers=acme.headers).status_code == 200
    assert (
        client.get(f"/kli/v1/partners/globex/kli_details/{VIP}", headers=globex.headers).status_code
        == 404
    )
    assert client.get(f"{P}/kli_details/424242", headers=acme.headers).status_code == 404
    bad = client.get(
        f"{P}/kli_assignments/{CONSUMER_SPEND}/children",
        headers=acme.headers,
        params={"kli_is_leaf": "maybe"},
    )
    assert bad.status_code == 400
    assert "kli_is_leaf" in bad.json()["error"][0]
    for params in ({"kli_class": "SECRET"}, {"kli_is_competitive": "X"}):
        resp = client.get(
            f"{P}/ucics/a00/kli_assignments/{CONSUMER_SPEND}/children",
            headers=acme.headers,
            params=params,
        )
        assert resp.status_code == 400 and next(iter(params)) in resp.json()["error"][0]
    assert (
        client.get(f"{P}/ucics/a00/kli_assignments", headers=acme.headers, params={"cursor": "x"})
    ).status_code == 400
    assert (
        (client.get(f"{P}/ucics/a00/kli_assignments", headers=acme.headers, params={"limit": 0}))
        .json()["error"][0]
        .startswith("Field limit")
    )
    assert client.get(f"{P}/kli_details").status_code == 401


def test_consumer_spend_merchant_leaves_with_counts(
    client: TestClient, acme: PartnerKey, truth: Assignments
) -> None:
    items = all_pages(
        client,
        acme,
        f"{P}/kli_assignments/{CONSUMER_SPEND}/children",
        kli_class="PUBLIC",
        kli_is_competitive="N",
        kli_is_leaf="Y",
        limit=3,
    )
    got = {i["kli_code"]: i["ucic_count"] for i in items}
    assert got == {code: len(truth.holders(code)) for code in MERCHANTS.values()}
    assert all(i["kli_is_leaf"] == "Y" and i["kli_class"] == "PUBLIC" for i in items)
    # without filters: the direct children (category groups) in use, counting distinct holders
    groups = get(client, acme, f"{P}/kli_assignments/{CONSUMER_SPEND}/children")["items"]
    tree = load_taxonomy()
    for g in groups:
        assert g["parent_kli_code"] == CONSUMER_SPEND
        assert g["ucic_count"] == len(truth.subtree_holders(g["kli_code"]))
    assert sum(1 for g in groups if g["kli_code"] == tree.nodes[COFFEE].parent_kli_code) == 1
    for code in MERCHANTS.values():
        detail = get(client, acme, f"{P}/kli_details/{code}")
        assert detail["ucic_count"] == detail["direct_ucic_count"] == len(truth.holders(code))
        assert [p["kli_code"] for p in detail["parents"]] == list(tree.ancestors(code))
        assert detail["parents"][-1]["kli_code"] == CONSUMER_SPEND
    spend = get(client, acme, f"{P}/kli_details/{CONSUMER_SPEND}")
    assert spend["ucic_count"] == len(truth.subtree_holders(CONSUMER_SPEND))
    assert spend["direct_ucic_count"] == 0 and spend["parents"] == []
    unused = code_for("merchant:costco")
    assert get(client, acme, f"{P}/kli_details/{unused}")["ucic_count"] == 0


def test_held_away_products_and_banks_of_one_customer(
    client: TestClient, acme: PartnerKey, truth: Assignments
) -> None:
    flt = {"kli_is_competitive": "Y", "kli_is_leaf": "Y"}
    products = get(
        client, acme, f"{P}/ucics/a01/kli_assignments/{COMPETITIVE_FI_PRODUCTS}/children", **flt
    )["items"]
    banks = get(client, acme, f"{P}/ucics/a01/kli_assignments/{COMPETITIVE_BANKS}/children", **flt)[
        "items"
    ]
    assert {i["kli_code"] for i in products} == {
        code_for(k) for k in HELD_AWAY["a01"] if k.startswith("competitive_product")
    }
    assert {i["kli_name"] for i in banks} == {"Wells Fargo", "Ally Bank"}
    assert all(i["kli_is_competitive"] == "Y" for i in products + banks)
    # no filter: direct children the customer holds through a descendant, with dates
    kinds = get(client, acme, f"{P}/ucics/a01/kli_assignments/{COMPETITIVE_FI_PRODUCTS}/children")
    assert {i["kli_code"] for i in kinds["items"]} == {
        code_for("competitive_product:mortgage"),
        code_for("competitive_product:auto_loan"),
    }
    assert all(i["first_assigned"] == "2026-11-20" for i in kinds["items"])
    none = get(client, acme, f"{P}/ucics/a04/kli_assignments/{COMPETITIVE_BANKS}/children", **flt)
    assert none == {"items": [], "next_cursor": None}


def test_kli_details_ucics_and_evidence(
    client: TestClient, acme: PartnerKey, truth: Assignments
) -> None:
    details = all_pages(client, acme, f"{P}/kli_details", limit=7)
    by_code = {d["kli_code"]: d for d in details}
    assert [d["kli_code"] for d in details] == sorted(by_code)
    assert by_code[CHECKING]["ucic_count"] == 30
    assert by_code[VIP]["kli_class"] == "PRIVATE"
    private = get(client, acme, f"{P}/kli_details", kli_class="PRIVATE")["items"]
    assert [d["kli_code"] for d in private] == [VIP]

    holders = all_pages(
        client, acme, f"{P}/kli_assignments/{MERCHANTS['starbucks']}/ucics", limit=4
    )
    assert [h["ucic"] for h in holders] == sorted(truth.holders(MERCHANTS["starbucks"]))
    assert holders[0]["strength"] == 0.5
    spenders = all_pages(client, acme, f"{P}/kli_assignments/{CONSUMER_SPEND}/ucics", limit=5)
    assert [h["ucic"] for h in spenders] == sorted(truth.subtree_holders(CONSUMER_SPEND))

    ev = get(client, acme, f"{P}/ucics/a00/kli_assignments/{MERCHANTS['starbucks']}/evidence")
    assert ev["evidence"]["rule"] == "merchant_activity"
    assert ev["evidence"]["txn_ids"] == ["t1"]
    assert ev["first_assigned"] == "2026-11-20" and ev["strength"] == 0.5
    not_held = client.get(
        f"{P}/ucics/a01/kli_assignments/{MERCHANTS['starbucks']}/evidence", headers=acme.headers
    )
    assert not_held.status_code == 404


@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson"])
def test_export_streams_every_assignment(
    client: TestClient, acme: PartnerKey, truth: Assignments, fmt: str
) -> None:
    resp = client.get(f"{P}/kli_assignments/export", headers=acme.headers, params={"format": fmt})
    assert resp.status_code == 200, resp.text
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(resp.content))
        rows = list(zip(table["ucic"].to_pylist(), table["kli_code"].to_pylist(), strict=True))
        assert str(table["first_assigned"][0].as_py()) == "2026-11-20"
    elif fmt == "csv":
        table = pacsv.read_csv(io.BytesIO(resp.content))
        rows = list(zip(table["ucic"].to_pylist(), table["kli_code"].to_pylist(), strict=True))
    else:
        lines = [json.loads(line) for line in resp.text.splitlines()]
        rows = [(r["ucic"], r["kli_code"]) for r in lines]
        assert lines[0]["last_assigned"] == "2026-11-20"
    assert rows == sorted((u, c) for u, c, _, _ in truth.rows)
    bad = client.get(f"{P}/kli_assignments/export", headers=acme.headers, params={"format": "xls"})
    assert bad.status_code == 400 and "format" in bad.json()["error"][0]


def test_openapi_lists_the_kli_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/kli/v1/partners/{partner_id}/kli_assignments/{kli_code}/children",
        "/kli/v1/partners/{partner_id}/ucics/{ucic}/kli_assignments/{kli_code}/children",
        "/kli/v1/partners/{partner_id}/ucics/{ucic}/kli_assignments",
        "/kli/v1/partners/{partner_id}/kli_details",
        "/kli/v1/partners/{partner_id}/kli_details/{kli_code}",
        "/kli/v1/partners/{partner_id}/kli_assignments/{kli_code}/ucics",
        "/kli/v1/partners/{partner_id}/ucics/{ucic}/kli_assignments/{kli_code}/evidence",
        "/kli/v1/partners/{partner_id}/kli_assignments/export",
    ):
        assert path in paths


def test_reads_inline_answer_the_same(
    context: AppContext, client: TestClient, acme: PartnerKey, truth: Assignments
) -> None:
    from sightline.insights.repository import KliReader

    app = client.app
    url = context.settings.resolved_database_url
    answers = []
    for inline in (False, True):
        get(client, acme, f"{P}/kli_details")  # the app's reader exists
        app.state.kli_reader.close()  # type: ignore[attr-defined]
        app.state.kli_reader = KliReader(url, inline=inline)  # type: ignore[attr-defined]
        answers.append(get(client, acme, f"{P}/ucics/a02/kli_assignments"))
    assert answers[0] == answers[1]
    assert len(answers[0]["items"]) == len(truth.codes_of("a02"))
