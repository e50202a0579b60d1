"""Small helpers shared by the taxonomy and KLI serving tests: realistic assignment tables."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import pyarrow as pa
from sqlalchemy.orm import Session

from sightline.api.context import AppContext
from sightline.insights.models import PrivateKli
from sightline.insights.private import PRIVATE_CODE_BASE
from sightline.insights.publish import publish_assignments
from sightline.store import db
from sightline.taxonomy import CONSUMER_MORTGAGE_LOAN, code_for, load_taxonomy


def codes_with_prefix(prefix: str, *, leaf: bool = True) -> list[int]:
    tree = load_taxonomy()
    return sorted(
        k.kli_code for k in tree if k.key.startswith(prefix) and (k.kli_is_leaf == "Y") == leaf
    )


@dataclass
class Assignments:
    """An assignment table under construction, plus the truth the tests check answers against."""

    rows: list[tuple[str, int, float | None, str | None]] = field(default_factory=list)

    def add(
        self, ucic: str, code: int, strength: float | None = None, *, rule: str = "test"
    ) -> Assignments:
        evidence = json.dumps({"rule": rule, "window_days": 90, "count": 3, "txn_ids": ["t1"]})
        self.rows.append((ucic, code, strength, evidence))
        return self

    def table(self) -> pa.Table:
        ucics, codes, strengths, evidence = (list(c) for c in zip(*self.rows, strict=True))
        return pa.table(
            {
                "ucic": pa.array(ucics, pa.string()),
                "kli_code": pa.array(codes, pa.int64()),
                "strength": pa.array(strengths, pa.float64()),
                "evidence": pa.array(evidence, pa.string()),
            }
        )

    def holders(self, code: int) -> set[str]:
        return {u for u, c, _, _ in self.rows if c == code}

    def codes_of(self, ucic: str) -> set[int]:
        return {c for u, c, _, _ in self.rows if u == ucic}

    def subtree_holders(self, code: int) -> set[str]:
        tree = load_taxonomy()
        under = {code, *tree.descendants(code)} if code in tree else {code}
        return {u for u, c, _, _ in self.rows if c in under}


def add_private_kli(
    session: Session, partner_id: str, code: int, name: str, parent: int | None = None
) -> None:
    session.add(
        PrivateKli(
            kli_code=code,
            partner_id=partner_id,
            key=f"private:{code}",
            kli_name=name,
            kli_description=f"{name} (partner rule).",
            parent_kli_code=parent,
            kli_is_competitive="N",
            kli_is_leaf="Y",
            definition={"op": "kli", "code": 8616201},
            created_at=dt.datetime(2026, 11, 1),
        )
    )
    session.flush()


AS_OF = dt.date(2026, 11, 20)
MERCHANTS = {m: code_for(f"merchant:{m}") for m in ("starbucks", "target", "amazon", "netflix")}
CHECKING = code_for("fi_product:checking")
COFFEE = load_taxonomy().nodes[MERCHANTS["starbucks"]].parent_kli_code
HELD_AWAY = {
    "a01": [
        "competitive_product:mortgage:wells-fargo",
        "competitive_bank:wells-fargo",
        "competitive_product:auto_loan:ally",
        "competitive_bank:ally",
    ],
    "a02": ["competitive_product:credit_card:chase", "competitive_bank:chase"],
}
VENMO = code_for("competitive_activity:venmo")
VIP = PRIVATE_CODE_BASE + 7


def acme_assignments() -> Assignments:
    a = Assignments()
    for i in range(30):
        u = f"a{i:02d}"
        a.add(u, CHECKING)
        if i % 4 == 0:
            a.add(u, CONSUMER_MORTGAGE_LOAN, 0.9)
        if i % 2 == 0:
            a.add(u, MERCHANTS["starbucks"], 0.5, rule="merchant_activity")
            assert COFFEE is not None
            a.add(u, COFFEE)
        if i % 3 == 0:
            a.add(u, MERCHANTS["target"])
        if i % 5 == 0:
            a.add(u, MERCHANTS["amazon"])
        if i < 4:
            a.add(u, MERCHANTS["netflix"])
        for key in HELD_AWAY.get(u, []):
            a.add(u, code_for(key), rule="competitive_product")
    a.add("a03", VENMO)
    a.add("a05", VIP)
    return a


def publish_demo(context: AppContext) -> Assignments:
    """Publish the demo tables for partners ``acme`` and ``globex`` (both must exist); the
    acme table is returned as the truth to check answers against."""
    a = acme_assignments()
    g = Assignments()
    for i in range(5):
        g.add(f"b{i}", MERCHANTS["target"])
    with db.transaction(context.sessions) as s:
        add_private_kli(s, "acme", VIP, "Acme VIP", parent=None)
        publish_assignments(s, "acme", a.table(), as_of=AS_OF, full=True, refresh_id="t1")
        publish_assignments(s, "globex", g.table(), as_of=AS_OF, full=True, refresh_id="t1")
    return a
