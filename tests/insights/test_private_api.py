"""POST/GET/DELETE /kli/v1/partners/{partner_id}/private_klis, then a refresh assigns them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sightline.api.context import AppContext
from sightline.config import Settings
from sightline.insights.refresh import run_refresh
from sightline.insights.repository import Db, ucic_assignments
from sightline.store import db
from sightline.taxonomy import COMPETITIVE_FI_PRODUCTS, CONSUMER_MORTGAGE_LOAN, load_taxonomy
from tests.conftest import PartnerKey
from tests.insights import smallfi

URL = "/kli/v1/partners/{}/private_klis"


def test_create_list_get_delete(client: TestClient, acme: PartnerKey, globex: PartnerKey) -> None:
    body = {
        "name": "Mortgage, high balance",
        "description": "Our mortgage customers with a balance band of 3 or more.",
        "expression": f"kli({CONSUMER_MORTGAGE_LOAN}) and balance_band >= 3",
    }
    created = client.post(URL.format("acme"), json=body, headers=acme.headers)
    assert created.status_code == 201, created.text
    kli = created.json()
    assert kli["kli_code"] >= 1_900_000_000
    assert kli["kli_class"] == "PRIVATE"
    assert kli["expression"] == body["expression"]
    assert kli["definition"]["op"] == "and"

    tree = {"op": "not", "arg": {"op": "kli", "code": CONSUMER_MORTGAGE_LOAN}}
    second = client.post(
        URL.format("acme"), json={"name": "No mortgage", "expression": tree}, headers=acme.headers
    )
    assert second.status_code == 201
    assert second.json()["kli_code"] == kli["kli_code"] + 1

    page = client.get(URL.format("acme") + "?limit=1", headers=acme.headers).json()
    assert [i["kli_code"] for i in page["items"]] == [kli["kli_code"]]
    rest = client.get(
        URL.format("acme") + f"?cursor={page['next_cursor']}", headers=acme.headers
    ).json()
    assert [i["kli_name"] for i in rest["items"]] == ["No mortgage"]
    assert rest["next_cursor"] is None

    one = client.get(URL.format("acme") + f"/{kli['kli_code']}", headers=acme.headers)
    assert one.status_code == 200 and one.json()["kli_name"] == body["name"]
    # another partner sees nothing of acme's
    assert client.get(URL.format("acme"), headers=globex.headers).status_code == 404
    other = client.get(URL.format("globex") + f"/{kli['kli_code']}", headers=globex.headers)
    assert other.status_code == 404
    assert client.get(URL.format("globex"), headers=globex.headers).json()["items"] == []

    dup = client.post(URL.format("acme"), json=body, headers=acme.headers)
    assert dup.status_code == 409
    gone = client.delete(URL.format("acme") + f"/{kli['kli_code']}", headers=acme.headers)
    assert gone.status_code == 204
    again = client.delete(URL.format("acme") + f"/{kli['kli_code']}", headers=acme.headers)
    assert again.status_code == 404


def test_bad_bodies_answer_400(client: TestClient, acme: PartnerKey) -> None:
    cases = [
        ({"name": "x", "expression": "kli(123456789012)"}, "expression"),
        ({"name": "x", "expression": "kli(999)"}, "unknown KLI code 999"),
        ({"name": "x", "expression": "balance_band >="}, "ends too early"),
        ({"name": "x", "expression": {"op": "maybe"}}, "Field expression"),
        ({"name": "x", "expression": "kli(1900000001)"}, "private KLI"),
        ({"expression": "age > 3"}, "Field name is required."),
        ({"name": "!!!", "expression": "age > 3"}, "letters or digits"),
    ]
    for body, message in cases:
        r = client.post(URL.format("acme"), json=body, headers=acme.headers)
        assert r.status_code == 400, (body, r.text)
        assert any(message in m for m in r.json()["error"]), (body, r.json())
    bad_cursor = client.get(URL.format("acme") + "?cursor=abc", headers=acme.headers)
    assert bad_cursor.status_code == 400


def test_refresh_assigns_private_klis(
    client: TestClient, settings: Settings, context: AppContext, acme: PartnerKey
) -> None:
    smallfi.build(settings.lake_dir)
    tax = load_taxonomy()
    wells = tax.code_for("competitive_bank:wells-fargo")
    body = {"name": "Banks elsewhere", "expression": f"kli({wells}) or ucic_type == 'B'"}
    code = client.post(URL.format("acme"), json=body, headers=acme.headers).json()["kli_code"]
    branch = {"name": "Held away", "expression": f"kli({COMPETITIVE_FI_PRODUCTS})"}
    code2 = client.post(URL.format("acme"), json=branch, headers=acme.headers).json()["kli_code"]
    run_refresh(settings, context.sessions, "acme", enrich=None)
    holders: dict[int, set[str]] = {code: set(), code2: set()}
    with db.transaction(context.sessions) as session:
        for ucic in ("c1", "c2", "c3", "c4"):
            codes = {int(r[0]) for r in ucic_assignments(Db.of(session), "acme", ucic)}
            for c in holders:
                if c in codes:
                    holders[c].add(ucic)
    assert holders[code] == {"c1", "c3"}
    assert holders[code2] == {"c1"}  # the branch stands for every held-away product leaf
