"""A full publish handed its assignments in parts (a refresh computed in ucic ranges, one range
in memory at a time) leaves the serving DB exactly as the same rows in one table: sets, first
dates, counts, history and summaries, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import text

from sightline.api.context import AppContext
from sightline.errors import BadRequest
from sightline.insights import repository as repo
from sightline.insights.publish import publish_assignments
from sightline.store import db
from sightline.taxonomy import code_for
from tests.conftest import PartnerKey

D1, D2, D3, D4 = (dt.date(2026, 10, d) for d in (1, 2, 3, 4))
CODES = [
    code_for("fi_product:checking"),
    code_for("behaviour:bill_pay_user"),
    code_for("behaviour:p2p_user"),
    code_for("fi_product:savings"),
]
# byte order (the assignments' order) is not a locale's order: upper case, accents, punctuation
UCICS = [
    *(f"c{i:02d}" for i in range(30)),
    "Zed",
    "apple",
    "Äpfel",
    "é1",
    "b-1",
    "B_2",
    "0first",
    "~last",
]


def _table(rows: list[tuple[str, int, float | None]]) -> pa.Table:
    rows = sorted(rows, key=lambda r: (r[0].encode(), r[1]))
    return pa.table(
        {
            "ucic": pa.array([r[0] for r in rows], pa.string()),
            "kli_code": pa.array([r[1] for r in rows], pa.int64()),
            "strength": pa.array([r[2] for r in rows], pa.float64()),
            "evidence": pa.array(
                [json.dumps({"rule": "t", "count": i}) for i in range(len(rows))], pa.string()
            ),
        }
    )


def _parts(table: pa.Table, cuts: int) -> list[pa.Table]:
    """``table`` (in ucic order) in ``cuts + 1`` parts of whole customers."""
    ucics = table["ucic"].to_pylist()
    starts = [i for i, u in enumerate(ucics) if i == 0 or u != ucics[i - 1]]
    chosen = sorted(random.Random(cuts).sample(starts[1:], cuts))
    bounds = [0, *chosen, len(ucics)]
    return [table.slice(a, b - a) for a, b in itertools.pairwise(bounds)]


def _sets(rng: random.Random, ucics: list[str]) -> list[tuple[str, int, float | None]]:
    rows = []
    for u in ucics:
        for code in rng.sample(CODES, rng.randint(1, len(CODES))):
            rows.append((u, code, rng.choice([None, 0.25, 0.5])))
    return rows


def _state(context: AppContext, partner: str) -> dict[str, Any]:
    with context.sessions() as s:
        d = repo.Db.of(s)
        sets = {}
        for (ucic,) in d.fetch(
            "SELECT ucic FROM kli_assignment_sets WHERE partner_id = ?", (partner,)
        ):
            held = repo.ucic_assignments(d, partner, ucic)
            sets[ucic] = [
                (
                    code,
                    repo.iso(first),
                    repo.iso(last),
                    strength,
                    repo.evidence(d, partner, ucic, code),
                )
                for code, first, last, strength in held
            ]
        history = sorted(
            (str(r[0]), r[1], str(r[2]), r[3])
            for r in s.execute(
                text("SELECT kli_code, ucic, date, change FROM kli_history WHERE partner_id = :p"),
                {"p": partner},
            )
        )
        pub = repo.publication(d, partner)
        assert pub is not None
        return {
            "sets": sets,
            "counts": repo.counts(d, partner),
            "history": history,
            "totals": (pub.customers, pub.assignments, pub.version),
        }


def _publish(context: AppContext, partner: str, data: Any, day: dt.date, *, full: bool) -> tuple:
    with db.transaction(context.sessions) as s:
        r = publish_assignments(s, partner, data, as_of=day, full=full, refresh_id=f"r-{day}")
    return (r.customers, r.assignments, r.gained, r.lost, r.total_customers, r.total_assignments)


def test_full_publish_in_parts_equals_one_table(
    context: AppContext, acme: PartnerKey, globex: PartnerKey
) -> None:
    with db.transaction(context.sessions) as s:
        if s.get_bind().dialect.name == "postgresql":
            # a locale's order on the key (the test cluster's is C): the publish must still read
            # the current set in byte order
            icu = s.execute(text("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'"))
            if icu.first() is not None:
                s.execute(
                    text(
                        "ALTER TABLE kli_assignment_sets ALTER COLUMN ucic"
                        ' TYPE varchar(64) COLLATE "und-x-icu"'
                    )
                )
    rng = random.Random(7)
    first = _table(_sets(rng, UCICS))
    # the second set: customers gone before the first part, between parts and after the last
    # one ("0first", "c10", "~last"), some new ones, the others' KLIs reshuffled
    kept = [u for u in UCICS if u not in ("0first", "c10", "c11", "~last")]
    second = _table(_sets(rng, [*kept, "c99", "Ω"]))
    third = _table(_sets(rng, ["Äpfel", "zz"]))

    for day, table, full, cuts in (
        (D1, first, True, 3),
        (D2, second, True, 4),
        (D3, third, False, 1),
    ):
        whole = _publish(context, "acme", table, day, full=full)
        parted = _publish(context, "globex", _parts(table, cuts), day, full=full)
        assert parted == whole
        assert _state(context, "globex") == _state(context, "acme")
    state = _state(context, "acme")
    assert {"c10", "0first", "~last"}.isdisjoint(state["sets"])
    assert {("c10", "lost"), ("~last", "lost"), ("c99", "gained")} <= {
        (u, change) for _, u, _, change in state["history"]
    }


def test_a_first_publication_in_parts_may_mark_customers_without_klis(
    context: AppContext, acme: PartnerKey, globex: PartnerKey
) -> None:
    rows = _table(_sets(random.Random(3), UCICS[:12]))
    marker = pa.table(
        {
            "ucic": ["zz"],
            "kli_code": pa.nulls(1, pa.int64()),
            "strength": pa.nulls(1, pa.float64()),
            "evidence": pa.nulls(1, pa.string()),
        }
    )
    table = pa.concat_tables([rows, marker])
    whole = _publish(context, "acme", table, D1, full=False)
    parted = _publish(context, "globex", _parts(table, 2), D1, full=False)
    assert parted == whole
    assert _state(context, "globex") == _state(context, "acme")


@pytest.mark.parametrize("overlap", ["same customer", "descending"])
def test_parts_out_of_order_are_refused_and_nothing_changes(
    context: AppContext, acme: PartnerKey, overlap: str
) -> None:
    table = _table(_sets(random.Random(5), UCICS))
    _publish(context, "acme", table, D1, full=True)
    before = _state(context, "acme")
    ucics = table["ucic"].to_pylist()
    if overlap == "same customer":  # a customer's rows split across two parts
        cut = next(i for i in range(1, len(ucics)) if ucics[i] == ucics[i - 1])
        parts = [table.slice(0, cut), table.slice(cut)]
    else:
        cut = next(i for i in range(1, len(ucics)) if ucics[i] != ucics[i - 1])
        parts = [table.slice(cut), table.slice(0, cut)]
    with pytest.raises(BadRequest, match="ucic order"):
        _publish(context, "acme", parts, D4, full=True)
    assert _state(context, "acme") == before
