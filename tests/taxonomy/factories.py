"""Small helpers shared by the taxonomy and KLI serving tests: realistic assignment tables."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import pyarrow as pa
from sqlalchemy.orm import Session

from sightline.insights.models import PrivateKli
from sightline.taxonomy import load_taxonomy


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
